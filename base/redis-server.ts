/**
 * Redis servers for the lab, `npm start` and the message bus's tests: TLS only (no plain
 * port), clients and the replica must present a certificate from the cluster CA. Redis
 * carries messages, not data of record (that is the DB service's job), so nothing is saved
 * to disk. With a config file ({@link redisAuthConfig}) clients must also log in as one of
 * the ACL users of its ACL file, and a replica logs in to its primary.
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
  /**
   * A config file read before the command line's options: {@link redisAuthConfig}'s, which
   * holds a secret and so stays off the command line (and out of `ps`).
   */
  readonly configFile?: string;
}

/** What {@link redisAuthConfig} writes. */
export interface RedisAuthConfig {
  /** The ACL file (absolute path): every user's rules and password hash; `default` off. */
  readonly aclFile: string;
  /** The ACL user and password a replica logs in to its primary with. */
  readonly replication: { readonly user: string; readonly password: string };
}

/**
 * A redis.conf for {@link RedisSpec.configFile}: the ACL file, and the replicas' login to
 * their primary (`masteruser`, `masterauth`). Every instance reads the same one, primary or
 * replica, so one turned into the other by `REPLICAOF` (the supervisor's failover) logs in
 * and grants exactly as before. Mode 0600: it holds a password.
 */
export function redisAuthConfig(config: RedisAuthConfig): string {
  // Nothing Redis's config parser would read as a quote, an escape or a comment.
  const plain = /^[A-Za-z0-9._-]+$/;
  if (!config.aclFile.startsWith('/') || /["\\\p{Cc}]/u.test(config.aclFile)) {
    throw new Error(`the ACL file must be an absolute path without quotes: ${config.aclFile}`);
  }
  if (!plain.test(config.replication.user) || !plain.test(config.replication.password)) {
    throw new Error('the replication user and password use letters, digits, ".", "_" and "-" only');
  }
  return [
    "# Agenda's Redis logins (base/redis-server.ts); read before the command line's options.",
    `aclfile "${config.aclFile}"`,
    `masteruser ${config.replication.user}`,
    `masterauth ${config.replication.password}`,
    '',
  ].join('\n');
}

/** The redis-server command line for `spec`. */
export function redisArgs(spec: RedisSpec): string[] {
  return [
    // Redis reads a config file only as its first argument.
    ...(spec.configFile === undefined ? [] : [spec.configFile]),
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
    // Access control is the client certificate and, with a config file, the ACL users;
    // protected mode would refuse every client not on loopback (the lab's hosts) whenever
    // the default user has no password, as when there is no ACL file (the bus's tests).
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
    // ...and loads what it is sent straight from the socket. By default a replica writes it
    // to dump.rdb first (mode 0644, whatever the directory's): a copy on disk of every
    // request in the streams, a registering user's password among them. `swapdb` keeps the
    // old data set in memory until the new one loaded, so a failed sync loses nothing.
    '--repl-diskless-load',
    'swapdb',
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
