/**
 * Redis servers for the lab, `npm start` and the message bus's tests: TLS only (no plain
 * port), clients and the replica must present a certificate from the cluster CA. Redis
 * carries messages, not data of record (that is the DB service's job), so nothing is saved
 * to disk.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ManagedProcess } from './process.js';

export interface RedisSpec {
  readonly name: string;
  readonly host: string;
  readonly tlsPort: number;
  readonly dir: string;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Start as a replica of this primary. */
  readonly replicaOf?: { readonly host: string; readonly port: number };
  /** Path of redis-server; default from PATH. */
  readonly binary?: string;
}

/** The redis-server command line for `spec`. */
export function redisArgs(spec: RedisSpec): string[] {
  return [
    '--bind',
    spec.host,
    '--port',
    '0',
    '--tls-port',
    String(spec.tlsPort),
    '--tls-cert-file',
    spec.tls.cert,
    '--tls-key-file',
    spec.tls.key,
    '--tls-ca-cert-file',
    spec.tls.ca,
    '--tls-auth-clients',
    'yes',
    '--tls-replication',
    'yes',
    '--tls-protocols',
    'TLSv1.3',
    // Access control is the client certificate; protected mode would refuse every client not
    // on loopback (the lab's hosts), having no password to go by.
    '--protected-mode',
    'no',
    '--dir',
    spec.dir,
    '--save',
    '',
    '--appendonly',
    'no',
    // A replica (re)joining syncs at once instead of waiting for others to join it.
    '--repl-diskless-sync-delay',
    '0',
    ...(spec.replicaOf ? ['--replicaof', spec.replicaOf.host, String(spec.replicaOf.port)] : []),
  ];
}

export function redisProcess(spec: RedisSpec): ManagedProcess {
  return new ManagedProcess({
    name: spec.name,
    command: spec.binary ?? 'redis-server',
    args: redisArgs(spec),
    cwd: spec.dir,
    logPath: join(spec.dir, `${spec.name}.log`),
    readyWhen: /Ready to accept connections/,
  });
}

/** Whether redis-server is installed, and with TLS support. */
export function redisAvailable(binary = 'redis-server'): { ok: boolean; reason?: string } {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, reason: `${binary} is not installed` };
  return { ok: true };
}
