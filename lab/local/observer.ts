/**
 * Observes the `npm start` topology for operators: every DB member's Raft status, each
 * Redis instance's role, the supervisor lease and the recorded Redis primary. It talks to
 * the processes directly with the lab's operator certificate (mutual TLS), so it needs no
 * user account and keeps working while gateways or services are down.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { DbClient } from '../../server/db/client.js';
import { PRIMARY_REGISTRY_KEY } from '../../server/bus/primary-source.js';
import type { LeaseView, RegistryEntry } from '../../server/store/protocol.js';
import { parseRole } from '../../supervisor/redis-control.js';
import { SUPERVISOR_LEASE } from '../../supervisor/supervisor.js';
import type { DashboardFeed, FeedItem } from '../../tui/feed.js';
import type { ClusterSnapshot, DbMember, RedisInstance } from '../../tui/model.js';
import { DB_MEMBERS, HOST, REDIS, type LocalLayout } from './topology.js';

/** Milliseconds per Raft tick in the local topology (see system.ts). */
const TICK_MS = 50;

export class LocalClusterObserver implements DashboardFeed {
  private readonly db: DbClient;
  private readonly redis: { name: string; address: string; client: Redis }[];

  constructor(layout: LocalLayout) {
    const files = layout.tls('operator');
    const tls = {
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
    };
    this.db = new DbClient({
      members: new Map(DB_MEMBERS.map((m) => [m.id, m.api])),
      tls,
      deadlineMs: 1_000,
    });
    this.redis = [REDIS.primary, REDIS.replica].map((r) => ({
      name: r.name,
      address: `${HOST}:${r.port}`,
      client: new Redis({
        host: HOST,
        port: r.port,
        tls,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: 500,
        commandTimeout: 500,
        retryStrategy: () => 500,
      }),
    }));
    // A Redis that is down shows as down in the snapshot; its client's errors are expected.
    for (const r of this.redis) r.client.on('error', () => {});
  }

  /** One observation of the cluster, now. */
  async snapshot(): Promise<ClusterSnapshot> {
    const at = Date.now();
    const [dbMembers, redis, supervisor] = await Promise.all([
      this.dbMembers(),
      this.redisInstances(),
      this.supervisorLease(at),
    ]);
    return { at, dbMembers, redis, ...(supervisor ? { supervisor } : {}) };
  }

  async *snapshots(signal: AbortSignal): AsyncIterable<FeedItem> {
    while (!signal.aborted) {
      try {
        yield await this.snapshot();
      } catch (err) {
        yield { error: (err as Error).message };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async close(): Promise<void> {
    for (const r of this.redis) r.client.disconnect();
    await this.db.close();
  }

  private async dbMembers(): Promise<DbMember[]> {
    const statuses = await Promise.all(
      DB_MEMBERS.map((m) => this.db.status(m.api, 800).catch(() => null)),
    );
    const leader = statuses.find((s) => s?.member.role === 'leader')?.member;
    return DB_MEMBERS.map((m, i) => {
      const address = `${m.api.host}:${m.api.port}`;
      const seenByLeader = leader?.peers.find((p) => p.id === m.id);
      const lastContactMs =
        leader?.id === m.id ? 0 : seenByLeader ? seenByLeader.ticksSinceContact * TICK_MS : null;
      const s = statuses[i]?.member;
      if (!s) return { id: `db-${m.id}`, address, up: false, lastContactMs };
      return {
        id: `db-${m.id}`,
        address,
        up: true,
        role: s.role,
        term: s.term,
        leader: s.leader ? `db-${s.leader}` : null,
        commit: s.commit,
        applied: s.applied,
        snapshotIndex: s.snapshotIndex,
        lagEntries: leader
          ? Math.max(
              0,
              leader.lastIndex -
                (seenByLeader?.match ?? (leader.id === m.id ? leader.lastIndex : 0)),
            )
          : null,
        lastContactMs,
      };
    });
  }

  private async redisInstances(): Promise<RedisInstance[]> {
    const recorded = await this.recordedPrimary();
    return Promise.all(
      this.redis.map(async (r): Promise<RedisInstance> => {
        try {
          if (r.client.status === 'wait' || r.client.status === 'end') await r.client.connect();
          const health = parseRole(await r.client.call('ROLE'));
          if (!health.up) return { name: r.name, address: r.address, up: false };
          const isRecorded = recorded?.address === r.address;
          return {
            name: r.name,
            address: r.address,
            up: true,
            role: health.role,
            offset: health.offset,
            linkUp: health.role === 'primary' ? true : health.linkUp,
            ...(isRecorded && recorded ? { epoch: recorded.epoch } : {}),
          };
        } catch {
          return { name: r.name, address: r.address, up: false };
        }
      }),
    );
  }

  private async recordedPrimary(): Promise<{ address: string; epoch: number } | null> {
    const r = await this.db
      .query(null, { type: 'registry.get', key: PRIMARY_REGISTRY_KEY }, { consistency: 'local' })
      .catch(() => null);
    const entry = r?.ok ? (r.result as { entry: RegistryEntry | null }).entry : null;
    if (!entry) return null;
    const { host, port } = JSON.parse(entry.value) as { host: string; port: number };
    return { address: `${host}:${port}`, epoch: entry.epoch };
  }

  private async supervisorLease(now: number): Promise<ClusterSnapshot['supervisor']> {
    const r = await this.db
      .query(null, { type: 'lease.get', name: SUPERVISOR_LEASE }, { consistency: 'local' })
      .catch(() => null);
    if (!r?.ok) return undefined;
    const lease = (r.result as { lease: LeaseView | null }).lease;
    if (!lease) return { holder: null, epoch: 0, leaseExpiresInMs: null };
    return {
      holder: lease.holder,
      epoch: lease.epoch,
      leaseExpiresInMs: lease.holder ? lease.expiresAt - now : null,
    };
  }
}
