/**
 * Where a running system keeps its files under one data directory — `./.agenda` for
 * `npm start`, `./.agenda-lab` for the three-host lab — so every tool (the runners, the
 * operator's observer, the lab driver) finds the CA, the certificates, the keys, the config
 * files and the logs the same way.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RedisUser } from '../server/bus/redis-auth.js';

/** Paths of one process's TLS material. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export class DataLayout {
  constructor(readonly dataDir: string) {}

  /**
   * Creates the data directory, or tightens the one there, to its owner only (0700), and
   * its log directory likewise. Everything a system keeps lies below it (Raft logs and
   * snapshots holding password hashes, keys, logs), so with it closed no other local user
   * reaches any of it, whatever modes older versions gave the files inside.
   */
  createPrivately(): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory as it was.
    chmodSync(this.dataDir, 0o700);
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
  }

  /** The lab CA, every certificate, the token-signing and shared keys. */
  get pkiDir(): string {
    return join(this.dataDir, 'pki');
  }

  get logDir(): string {
    return join(this.dataDir, 'logs');
  }

  /** A process's own directory (Raft data, Redis working directory). */
  dir(name: string): string {
    return join(this.dataDir, name);
  }

  /** The config file a process is started with. */
  configFile(name: string): string {
    return join(this.dataDir, `${name}.json`);
  }

  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  tls(name: string): TlsFiles {
    return {
      ca: join(this.pkiDir, 'ca.pem'),
      cert: join(this.pkiDir, `${name}.pem`),
      key: join(this.pkiDir, `${name}-key.pem`),
    };
  }

  /** The key every gossip member shares (authenticates its datagrams). */
  get gossipKey(): string {
    return join(this.pkiDir, 'gossip.key');
  }

  /** The key the two VIP agents share (authenticates their heartbeats). */
  get vipHeartbeatKey(): string {
    return join(this.pkiDir, 'vip-heartbeat.key');
  }

  /** The password of Redis's ACL user `user` (server/bus/acl.ts), read by that role's daemons. */
  redisPassword(user: RedisUser): string {
    return join(this.pkiDir, `redis-${user}.password`);
  }

  /** The ACL file every Redis loads; absolute, as Redis runs in its own directory. */
  get redisAclFile(): string {
    return resolve(this.pkiDir, 'redis-users.acl');
  }

  /**
   * The redis.conf every Redis reads first (base/redis-server.ts `redisAuthConfig`): the
   * ACL file and the replicas' login to their primary. Absolute, like the ACL file.
   */
  get redisAuthConfig(): string {
    return resolve(this.pkiDir, 'redis-auth.conf');
  }
}
