/**
 * The single-machine topology `npm start` runs on loopback: five DB members, a Redis primary
 * and replica, two users and two groups service replicas, two gateways. Every port is fixed
 * and below 32768, so restarts find each other again and no port collides with the
 * ephemeral range.
 */
import { join } from 'node:path';
import {
  ensureCertificate,
  ensureCertificateAuthority,
  type CertificateAuthority,
} from '../pki.js';

export const HOST = '127.0.0.1';

export const DB_MEMBERS = [1, 2, 3, 4, 5].map((id) => ({
  id,
  raft: { host: HOST, port: 7100 + id },
  api: { host: HOST, port: 7200 + id },
}));

export const REDIS = {
  primary: { name: 'redis-1', host: HOST, port: 6380 },
  replica: { name: 'redis-2', host: HOST, port: 6381 },
} as const;

export const SUPERVISORS = [1, 2];
export const USERS_REPLICAS = [1, 2];
export const GROUPS_REPLICAS = [1, 2];
export const GATEWAYS = [
  { id: 1, host: HOST, port: 8443 },
  { id: 2, host: HOST, port: 8444 },
];

/** Paths of one process's TLS material. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Where everything lives under the data directory. */
export class LocalLayout {
  constructor(readonly dataDir: string) {}

  get pkiDir(): string {
    return join(this.dataDir, 'pki');
  }

  get logDir(): string {
    return join(this.dataDir, 'logs');
  }

  dir(name: string): string {
    return join(this.dataDir, name);
  }

  tls(name: string): TlsFiles {
    return {
      ca: join(this.pkiDir, 'ca.pem'),
      cert: join(this.pkiDir, `${name}.pem`),
      key: join(this.pkiDir, `${name}-key.pem`),
    };
  }

  /** The users service's token-signing key pair (private key mode 0600). */
  get signingKey(): { readonly privateKey: string; readonly publicKey: string } {
    return {
      privateKey: join(this.pkiDir, 'token-signing-key.pem'),
      publicKey: join(this.pkiDir, 'token-signing-public.pem'),
    };
  }
}

/**
 * Creates (first run) or reuses the lab CA and every process's certificate. Servers get
 * 127.0.0.1 and `localhost` so clients can dial either; all get client usage too, since
 * every process is also a mutual-TLS client of another.
 */
export async function ensureLocalCertificates(layout: LocalLayout): Promise<CertificateAuthority> {
  const ca = await ensureCertificateAuthority(layout.pkiDir);
  const names = [
    ...DB_MEMBERS.map((m) => `db-${m.id}`),
    REDIS.primary.name,
    REDIS.replica.name,
    ...USERS_REPLICAS.map((i) => `users-${i}`),
    ...GROUPS_REPLICAS.map((i) => `groups-${i}`),
    ...GATEWAYS.map((g) => `gateway-${g.id}`),
    ...SUPERVISORS.map((i) => `supervisor-${i}`),
    'operator',
  ];
  for (const name of names) {
    await ensureCertificate(layout.pkiDir, name, {
      ca,
      usages: 'both',
      ipAddresses: [HOST],
      dnsNames: ['localhost'],
      days: 365,
    });
  }
  return ca;
}
