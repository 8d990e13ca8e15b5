/**
 * Real redis-server processes for the bus's tests: mutual TLS only (no plain port), no
 * persistence, primary or replica, and with {@link createRedisAuth} the cluster's ACL users
 * (server/bus/acl.ts) with `default` off. Each process is stopped when its test ends, failed
 * or not, and every process still running is killed if the test worker exits.
 */
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { ClusterRole } from '../../base/pki.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { BusConnection } from './connection.js';
import type { BusConnectionOptions, BusLogger } from './connection.js';
import type { PrimaryAddress, PrimarySource } from './primary-source.js';
import { redisArgs, redisAuthConfig } from '../../base/redis-server.js';
import { redisAclFile } from './acl.js';
import { loginOptions, REDIS_USERS } from './redis-auth.js';
import type { RedisCredentials, RedisUser } from './redis-auth.js';

export const REDIS_HOST = '127.0.0.1';

/** The certificates of one test file: a CA, the servers' certificate, a client's. */
export interface RedisTlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** For bus connections: signed by the same CA as the servers. */
  readonly client: MutualTlsMaterial;
  /** The operator's certificate: the only one a daemon's `/metrics` answers. */
  readonly operator: MutualTlsMaterial;
  /**
   * A daemon's own certificate, as the lab issues it: common name `name`, `role`, good for
   * both ends of TLS on loopback; also written as `<name>.pem` and `<name>-key.pem` in `dir`
   * for daemons a test spawns. Gossip accepts a member's news only under such a certificate.
   */
  member(name: string, role: ClusterRole): Promise<MutualTlsMaterial & MemberTlsFiles>;
  remove(): Promise<void>;
}

/** Where {@link RedisTlsFiles.member} wrote a daemon's certificate and key. */
export interface MemberTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Creates a CA, a server certificate (also used by replicas to authenticate to their primary) and a client certificate. */
export async function createRedisTls(): Promise<RedisTlsFiles> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agenda-bus-'));
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'redis',
    dnsNames: ['localhost'],
    ipAddresses: [REDIS_HOST],
    usages: 'both',
    role: 'redis',
  });
  const client = await issueCertificate(ca, { name: 'bus-client', usages: 'client' });
  const operator = await issueCertificate(ca, {
    name: 'operator',
    usages: 'client',
    role: 'operator',
  });
  const caFile = path.join(dir, 'ca.pem');
  const certFile = path.join(dir, 'redis.pem');
  const keyFile = path.join(dir, 'redis-key.pem');
  await writeFile(caFile, ca.certPem);
  await writeFile(certFile, server.certPem);
  await writeFile(keyFile, server.keyPem, { mode: 0o600 });
  return {
    dir,
    caFile,
    certFile,
    keyFile,
    client: { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
    operator: { ca: ca.certPem, cert: operator.certPem, key: operator.keyPem },
    member: async (name, role) => {
      const issued = await issueCertificate(ca, {
        name,
        dnsNames: ['localhost'],
        ipAddresses: [REDIS_HOST],
        usages: 'both',
        role,
      });
      const memberCert = path.join(dir, `${name}.pem`);
      const memberKey = path.join(dir, `${name}-key.pem`);
      await writeFile(memberCert, issued.certPem);
      await writeFile(memberKey, issued.keyPem, { mode: 0o600 });
      return {
        ca: ca.certPem,
        cert: issued.certPem,
        key: issued.keyPem,
        certFile: memberCert,
        keyFile: memberKey,
      };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The ACL users of a test's Redis servers, as the lab sets them up (lab/runner.ts). */
export interface RedisTestAuth {
  /** The redis.conf every server of the test reads first: the ACL file, the replicas' login. */
  readonly configFile: string;
  /** How `user` logs in. */
  credentials(user: RedisUser): RedisCredentials;
}

/** Fresh passwords for every ACL user, and the ACL file and redis.conf with them, in `tls.dir`. */
export async function createRedisAuth(tls: RedisTlsFiles): Promise<RedisTestAuth> {
  const passwords = Object.fromEntries(
    REDIS_USERS.map((user) => [user, randomBytes(24).toString('hex')]),
  ) as Record<RedisUser, string>;
  const aclFile = path.join(tls.dir, 'redis-users.acl');
  const configFile = path.join(tls.dir, 'redis-auth.conf');
  await writeFile(aclFile, redisAclFile(passwords, { replicationHosts: [REDIS_HOST] }), {
    mode: 0o600,
  });
  await writeFile(
    configFile,
    redisAuthConfig({
      aclFile,
      replication: { user: 'replication', password: passwords.replication },
    }),
    { mode: 0o600 },
  );
  return { configFile, credentials: (user) => ({ user, password: passwords[user] }) };
}

/**
 * Hands out a test file's ports, in order; each file owns a disjoint range inside its
 * folder's block (the bus's is 28000–28999). A port given back with {@link reuse} comes out
 * next, so a crashed server can be restarted at the address its clients know.
 */
export class PortRange {
  private next: number;
  private readonly reused: number[] = [];

  constructor(
    first: number,
    private readonly last: number,
    allowed: { readonly min: number; readonly max: number } = { min: 28_000, max: 28_999 },
  ) {
    if (first < allowed.min || last > allowed.max || first > last) {
      throw new RangeError(`these tests use ports ${allowed.min}-${allowed.max} only`);
    }
    this.next = first;
  }

  /** The next {@link take} answers `port` again. */
  reuse(port: number): void {
    this.reused.push(port);
  }

  take(): number {
    const again = this.reused.shift();
    if (again !== undefined) return again;
    if (this.next > this.last) throw new RangeError('this test file ran out of ports');
    return this.next++;
  }
}

/** A running redis-server. */
export interface RedisProcess {
  readonly host: string;
  readonly port: number;
  /** This server as a primary of the given fencing epoch. */
  address(epoch: number): PrimaryAddress;
  /**
   * An administrative client (mutual TLS), opened on first use and closed with the server.
   * With ACL users it logs in as `operator`: ROLE and INFO, nothing else.
   */
  admin(): Redis;
  /** SIGKILL: the process dies without a goodbye, as in a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers, as with a host cut off. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops the server (kills it) and closes the admin client. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface StartRedisOptions {
  readonly ports: PortRange;
  readonly tls: RedisTlsFiles;
  /** Starts as a replica of this server. */
  readonly replicaOf?: RedisProcess;
  /** With the cluster's ACL users, `default` off; without, any certificate is `default`. */
  readonly auth?: RedisTestAuth;
  /** Registered as the test's teardown. */
  readonly teardown: (stop: () => Promise<void>) => void;
}

/** Starts redis-server on the next free port of the range and waits until it accepts connections. */
export async function startRedis(options: StartRedisOptions): Promise<RedisProcess> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = options.ports.take();
    const started = await tryStart(port, options);
    if (started !== null) return started;
  }
  throw new Error('redis-server did not start on any of 10 ports');
}

async function tryStart(port: number, options: StartRedisOptions): Promise<RedisProcess | null> {
  const { tls } = options;
  const args = redisArgs({
    name: `redis-${port}`,
    host: REDIS_HOST,
    tlsPort: port,
    dir: tls.dir,
    tls: { ca: tls.caFile, cert: tls.certFile, key: tls.keyFile },
    ...(options.auth === undefined ? {} : { configFile: options.auth.configFile }),
    ...(options.replicaOf === undefined
      ? {}
      : { replicaOf: { host: options.replicaOf.host, port: options.replicaOf.port } }),
  });
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const ready = new Promise<boolean>((resolve) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) resolve(true);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => resolve(false));
    child.once('error', () => resolve(false));
  });
  const exited = once(child, 'exit').then(() => running.delete(child));
  if (!(await ready)) {
    running.delete(child);
    if (output.includes('Address already in use')) return null;
    throw new Error(`redis-server failed to start:\n${output}`);
  }
  let admin: Redis | null = null;
  let stopped: Promise<void> | null = null;
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const server: RedisProcess = {
    host: REDIS_HOST,
    port,
    address: (epoch) => ({ host: REDIS_HOST, port, epoch }),
    admin() {
      if (admin === null) {
        admin = new Redis({
          host: REDIS_HOST,
          port,
          tls: { ca: tls.client.ca, cert: tls.client.cert, key: tls.client.key },
          ...loginOptions(options.auth?.credentials('operator')),
          maxRetriesPerRequest: 1,
          retryStrategy: (attempt: number) => Math.min(attempt * 50, 200),
        });
        // Errors surface on the commands; the event would only crash the test worker.
        admin.on('error', () => undefined);
      }
      return admin;
    },
    kill,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop() {
      stopped ??= (async () => {
        admin?.disconnect();
        child.kill('SIGCONT');
        await kill();
      })();
      return stopped;
    },
  };
  options.teardown(() => server.stop());
  return server;
}

/** A bus connection for a test, closed when the test ends. */
export function openBus(
  t: { teardown(fn: () => Promise<void>): void },
  tls: RedisTlsFiles,
  primary: PrimarySource,
  name: string,
  options: Partial<BusConnectionOptions> = {},
): BusConnection {
  const connection = new BusConnection({
    primary,
    tls: tls.client,
    name,
    checkIntervalMs: 100,
    ...options,
  });
  t.teardown(() => connection.close());
  return connection;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // Not yet: the server may still be coming up.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Waits until `replica` is in sync with its primary. */
export function waitForReplication(replica: RedisProcess): Promise<void> {
  return waitFor('the replica to sync', async () => {
    const info = await replica.admin().info('replication');
    return info.includes('master_link_status:up');
  });
}

/** A logger that remembers every line, for tests that assert what was logged. */
export class RecordingLogger implements BusLogger {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  count(message: string): number {
    return this.lines.filter((line) => line.message === message).length;
  }
}
