/**
 * Observes any Agenda topology for operators — whatever a {@link ClusterDescription} names:
 * every DB member's Raft status, each Redis instance's role, the supervisor and VIP leases and
 * the recorded Redis primary (from the DB registry), the VIP agents' own status, and the
 * gossip membership (by joining as an `observer`). It talks to the processes directly with
 * the operator certificate (mutual TLS), so it needs no user account and keeps working while
 * gateways or services are down.
 *
 * A round never waits on one target for longer than the description's `timeoutMs`: a crashed
 * host drops packets rather than refusing them, and one silent member must not freeze the
 * view. Anything that does not answer in time is shown as down, never as an error of the
 * whole round. The first round alone waits longer ({@link FIRST_ROUND_TIMEOUT_MS}): it opens
 * every connection (a TLS handshake each, on a machine that may be loaded), and members shown
 * down only because the observer had just started made the dashboard open on an outage, and
 * log their "return" as failovers a round later. Connections are given as long in every round
 * (a round stops waiting at its bound; a slow connect goes on and serves the next round).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { NodeStatus } from '../raft/runtime/raft-node.js';
import { PRIMARY_REGISTRY_KEY } from '../server/bus/primary-source.js';
import { isAccessRefusal, loginOptions, readRedisCredentials } from '../server/bus/redis-auth.js';
import { DbClient } from '../server/db/client.js';
import type { LeaseView, QueryBody, RegistryEntry } from '../server/store/protocol.js';
import { parseRole } from '../supervisor/redis-control.js';
import { SUPERVISOR_LEASE } from '../supervisor/supervisor.js';
import type { DashboardFeed, FeedItem } from './feed.js';
import { parsePrometheusText } from '../server/metrics/prometheus-text.js';
import type { PrometheusSample } from '../server/metrics/prometheus-text.js';
import type { RegistryHistoryEntry } from '../server/store/protocol.js';
import type {
  ClusterSnapshot,
  DbMember,
  FailoverEvent,
  MemberMetrics,
  Membership,
  RedisInstance,
  VipLease,
} from './model.js';
import { recordedFailovers } from './history.js';
import type { ClusterDescription } from './description.js';
import { serverWithRole } from '../server/net/client-certificate.js';
import { GossipWatcher } from './gossip.js';
import { askVipAgent, vipStatus } from './vip.js';
import type { AgentAnswer } from './vip.js';

/** How long the first observation waits for the gossip join to be answered. */
const GOSSIP_JOIN_WAIT_MS = 1_500;

/** How long a DB member that stopped answering is still shown as it last answered. */
export const MISSED_ROUND_GRACE_MS = 1_200;

/** How long the first round waits for each target (see the module comment). */
export const FIRST_ROUND_TIMEOUT_MS = 2_000;
/**
 * How often the DB members' `/metrics` are scraped (memory, fsync and apply latency): a
 * scrape is a few kilobytes of text per member, so not at every round.
 */
const METRICS_EVERY_MS = 5_000;

/** One member's last scrape: the histograms' totals, to take the next window's mean. */
interface Scrape {
  readonly metrics: MemberMetrics;
  readonly fsync: { sum: number; count: number } | null;
  readonly apply: { sum: number; count: number } | null;
}

interface DbTarget {
  readonly id: number;
  readonly name: string;
  readonly address: string;
  /** A client bound to this member alone, so a query goes where this round found life. */
  readonly client: DbClient;
}

/** What the DB registry said this round; a field is undefined when it could not be read. */
interface RegistryView {
  supervisor?: LeaseView | null;
  vip?: LeaseView | null;
  primary?: { address: string; epoch: number } | null;
}

/** A live view of one topology; a {@link DashboardFeed} for the operator dashboard. */
export class ClusterObserver implements DashboardFeed {
  private readonly dispatcher: Agent;
  private readonly db: DbTarget[];
  private readonly redis: { name: string; address: string; client: Redis }[];
  private readonly gossip: GossipWatcher | null;
  private closing: Promise<void> | null = null;
  /** The registry's history, once read (it is read until a round succeeds). */
  private history: FailoverEvent[] | undefined;
  /** Each DB member's last `/metrics` scrape, by API address. */
  private readonly scrapes = new Map<string, Scrape>();
  /** Each DB member's last answer, and when its round began (see `shownStatuses`). */
  private readonly lastAnswers = new Map<number, { status: NodeStatus; at: number }>();
  /** How long this round waits for each target: longer for the first (see the module comment). */
  private roundTimeoutMs: number;
  private lastScrapeAt = -Infinity;
  private scraping: Promise<void> | null = null;

  /**
   * Reads the TLS files and Redis's password file now, so a wrong path fails here with a
   * clear message rather than as every member "down" on screen. Binds nothing until the
   * first snapshot; gossip trouble (a bad key file, an address it cannot bind) is reported
   * in each snapshot's `problems`.
   */
  constructor(private readonly description: ClusterDescription) {
    const tls = readTls(description.tls);
    const timeoutMs = description.timeoutMs;
    this.roundTimeoutMs = Math.max(timeoutMs, FIRST_ROUND_TIMEOUT_MS);
    const connectMs = this.roundTimeoutMs;
    this.dispatcher = new Agent({
      connect: { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: connectMs },
      keepAliveTimeout: 10_000,
    });
    this.db = (description.db?.members ?? []).map((m) => ({
      id: m.id,
      name: m.name ?? `db-${m.id}`,
      address: m.api,
      client: new DbClient({
        members: new Map([[m.id, splitHostPort(m.api)]]),
        tls,
        // Each query passes the round's signal and bound; this only caps a call's retries.
        deadlineMs: connectMs,
      }),
    }));
    const redisLogin = loginOptions(
      description.redisAuth === undefined ? undefined : readRedisCredentials(description.redisAuth),
    );
    this.redis = (description.redis ?? []).map((r) => {
      const { host, port } = splitHostPort(r.address);
      const client = new Redis({
        host,
        port,
        // The operator's password goes only to a Redis of the cluster.
        tls: { ...tls, checkServerIdentity: serverWithRole('redis') },
        ...redisLogin,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: connectMs,
        commandTimeout: timeoutMs,
        retryStrategy: () => description.pollMs,
      });
      // A Redis that is down shows as down in the snapshot; its client's errors are expected.
      client.on('error', () => {});
      return { name: r.name, address: r.address, client };
    });
    this.gossip = description.gossip ? new GossipWatcher(description.gossip, tls) : null;
  }

  /** One observation of the cluster, now. The first one also joins gossip. */
  async snapshot(): Promise<ClusterSnapshot> {
    if (this.closing) throw new Error('the observer is closed');
    const at = Date.now();
    const timeoutMs = this.roundTimeoutMs;
    const problems: string[] = [];
    const joining = this.gossip?.start(GOSSIP_JOIN_WAIT_MS).catch((err: unknown) => {
      problems.push(`gossip: ${(err as Error).message}`);
    });
    const vip = this.description.vip;
    const [statuses, redisHealth, agentAnswers] = await Promise.all([
      Promise.all(this.db.map((m) => within(timeoutMs, this.memberStatus(m.address), null))),
      Promise.all(
        this.redis.map((r) =>
          within(timeoutMs, this.redisRole(r.name, r.client, problems), { up: false as const }),
        ),
      ),
      Promise.all(
        (vip?.agents ?? []).map((a) =>
          within<AgentAnswer, AgentAnswer>(timeoutMs, askVipAgent(this.dispatcher, a, timeoutMs), {
            ok: false,
            error: `no answer within ${timeoutMs} ms`,
          }),
        ),
      ),
    ]);
    const [registry] = await Promise.all([
      this.readRegistry(statuses),
      this.history === undefined ? this.readHistory(statuses) : undefined,
    ]);
    if (at - this.lastScrapeAt >= METRICS_EVERY_MS && this.scraping === null) {
      this.lastScrapeAt = at;
      // In the background: the round does not wait for it, the next rounds show it.
      this.scraping = this.scrapeMetrics(statuses).finally(() => {
        this.scraping = null;
      });
    }
    await joining;
    this.roundTimeoutMs = this.description.timeoutMs;

    const snapshot: ClusterSnapshot = { at };
    if (this.description.db) snapshot.dbMembers = this.dbMembers(this.shownStatuses(statuses, at));
    if (this.description.redis) {
      snapshot.redis = this.redis.map((r, i) => {
        const health = redisHealth[i];
        if (!health?.up) return { name: r.name, address: r.address, up: false };
        const recorded = registry.primary;
        return {
          name: r.name,
          address: r.address,
          up: true,
          role: health.role,
          offset: health.offset,
          linkUp: health.role === 'primary' ? true : health.linkUp,
          ...(recorded?.address === r.address ? { epoch: recorded.epoch } : {}),
        } satisfies RedisInstance;
      });
    }
    if (registry.supervisor !== undefined) {
      const lease = registry.supervisor;
      snapshot.supervisor = lease
        ? {
            holder: lease.holder,
            epoch: lease.epoch,
            leaseExpiresInMs: lease.holder ? lease.expiresAt - at : null,
          }
        : { holder: null, epoch: 0, leaseExpiresInMs: null };
    }
    if (vip) {
      snapshot.vip = vipStatus(vip.address, vip.agents, agentAnswers, vipLease(registry.vip, at));
    }
    if (this.gossip && problems.length === 0) snapshot.gossip = this.gossip.members();
    if (this.history !== undefined) snapshot.history = this.history;
    if (problems.length > 0) snapshot.problems = problems;
    return snapshot;
  }

  /** Snapshots every `pollMs` (a slow round is followed at once by the next) until aborted. */
  async *snapshots(signal: AbortSignal): AsyncIterable<FeedItem> {
    while (!signal.aborted && !this.closing) {
      const started = Date.now();
      try {
        yield await this.snapshot();
      } catch (err) {
        yield { error: (err as Error).message };
      }
      const wait = this.description.pollMs - (Date.now() - started);
      await sleep(Math.max(0, wait), undefined, { signal }).catch(() => undefined);
    }
  }

  /** Leaves gossip and closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const r of this.redis) r.client.disconnect();
      await Promise.allSettled([
        this.scraping,
        this.gossip?.close(),
        ...this.db.map((m) => m.client.close()),
        this.dispatcher.close(),
      ]);
    })();
    return this.closing;
  }

  private async memberStatus(address: string): Promise<NodeStatus | null> {
    try {
      const res = await request(`https://${address}/v1/status`, {
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.roundTimeoutMs),
      });
      const body = (await res.body.json()) as { member?: NodeStatus } | null;
      return res.statusCode === 200 && typeof body?.member?.term === 'number' ? body.member : null;
    } catch {
      return null;
    }
  }

  private async redisRole(name: string, client: Redis, problems: string[]) {
    try {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      return parseRole(await client.call('ROLE'));
    } catch (err) {
      // Up, but it will not tell us: a wrong password file or a missing grant, not an outage.
      const message = err instanceof Error ? err.message : String(err);
      if (isAccessRefusal(message)) problems.push(`${name}: ${message}`);
      return { up: false as const };
    }
  }

  /**
   * The DB members' statuses to show: this round's, or for a member that missed this round
   * but answered within {@link MISSED_ROUND_GRACE_MS}, the one it last gave. One round missed
   * (400 ms) is what a loaded machine does to a live member now and then; shown down at once,
   * it made the dashboard log an outage and a recovery that never were. A member gone stays
   * shown as it was for that long, then down.
   */
  private shownStatuses(
    statuses: readonly (NodeStatus | null)[],
    at: number,
  ): (NodeStatus | null)[] {
    return statuses.map((status, i) => {
      if (status !== null) {
        this.lastAnswers.set(i, { status, at });
        return status;
      }
      const last = this.lastAnswers.get(i);
      return last !== undefined && at - last.at <= MISSED_ROUND_GRACE_MS ? last.status : null;
    });
  }

  /**
   * Reads the registry from the member this round found leading (else any that answered):
   * asking one that does not answer would cost the whole timeout. A local read is enough for
   * a view that refreshes twice a second.
   */
  private async readRegistry(statuses: readonly (NodeStatus | null)[]): Promise<RegistryView> {
    const leader = leaderIndex(statuses);
    const index = leader ?? statuses.findIndex((s) => s !== null);
    const member = index === -1 ? undefined : this.db[index];
    if (!member) return {};
    const timeoutMs = this.roundTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    const ask = async (body: QueryBody): Promise<unknown> => {
      const query = member.client.query(null, body, { consistency: 'local', signal });
      const answer = await within(timeoutMs, query, null).catch(() => null);
      return answer?.ok ? answer.result : undefined;
    };
    const vipLeaseName = this.description.vip?.leaseName;
    const [supervisor, vip, primary] = await Promise.all([
      ask({ type: 'lease.get', name: SUPERVISOR_LEASE }),
      vipLeaseName === undefined ? undefined : ask({ type: 'lease.get', name: vipLeaseName }),
      this.description.redis ? ask({ type: 'registry.get', key: PRIMARY_REGISTRY_KEY }) : undefined,
    ]);
    const view: RegistryView = {};
    if (supervisor !== undefined)
      view.supervisor = (supervisor as { lease: LeaseView | null }).lease;
    if (vip !== undefined) view.vip = (vip as { lease: LeaseView | null }).lease;
    if (primary !== undefined) view.primary = recordedPrimary(primary);
    return view;
  }

  /**
   * The registry's history of the leases and the Redis primary (ops/history.ts), kept once a
   * read of all three succeeded; until then each round tries again (the DB may be down).
   */
  private async readHistory(statuses: readonly (NodeStatus | null)[]): Promise<void> {
    const leader = leaderIndex(statuses);
    const index = leader ?? statuses.findIndex((s) => s !== null);
    const member = index === -1 ? undefined : this.db[index];
    if (!member) return;
    const timeoutMs = this.roundTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    const read = async (name: string): Promise<RegistryHistoryEntry[] | undefined> => {
      const query = member.client.query(
        null,
        { type: 'registry.history', name },
        { consistency: 'local', signal },
      );
      const answer = await within(timeoutMs, query, null).catch(() => null);
      if (!answer?.ok) return undefined;
      return [...(answer.result as { entries: readonly RegistryHistoryEntry[] }).entries];
    };
    const vipLeaseName = this.description.vip?.leaseName;
    const [supervisor, vip, primary] = await Promise.all([
      read(SUPERVISOR_LEASE),
      vipLeaseName === undefined ? [] : read(vipLeaseName),
      this.description.redis ? read(PRIMARY_REGISTRY_KEY) : [],
    ]);
    // A member of an older version refuses the query: tried again next round, harmlessly.
    if (supervisor === undefined || vip === undefined || primary === undefined) return;
    const names = new Map(this.redis.map((r) => [r.address, r.name]));
    this.history = recordedFailovers({ supervisor, vip, primary }, (address) => names.get(address));
  }

  /** Scrapes the `/metrics` of every member that answered this round; a failure keeps the last. */
  private async scrapeMetrics(statuses: readonly (NodeStatus | null)[]): Promise<void> {
    await Promise.all(
      this.db.map(async (m, i) => {
        if (statuses[i] === null) return;
        const text = await within(this.roundTimeoutMs, this.fetchMetrics(m.address), null);
        if (text === null) return;
        try {
          const scrape = readScrape(
            parsePrometheusText(text).samples,
            Date.now(),
            this.scrapes.get(m.address),
          );
          this.scrapes.set(m.address, scrape);
        } catch {
          // Not Prometheus text: keep what the last scrape said.
        }
      }),
    );
  }

  private async fetchMetrics(address: string): Promise<string | null> {
    try {
      const res = await request(`https://${address}/metrics`, {
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.roundTimeoutMs),
      });
      const text = await res.body.text();
      return res.statusCode === 200 ? text : null;
    } catch {
      return null;
    }
  }

  private dbMembers(statuses: readonly (NodeStatus | null)[]): DbMember[] {
    const tickMs = this.description.db?.tickMs ?? 50;
    const leaderAt = leaderIndex(statuses);
    const leader = leaderAt === undefined ? undefined : (statuses[leaderAt] ?? undefined);
    const nameOf = (id: number) => this.db.find((m) => m.id === id)?.name ?? `db-${id}`;
    const members = this.db.map((m, i): DbMember => {
      const seenByLeader = leader?.peers.find((p) => p.id === m.id);
      const isLeader = leader?.id === m.id;
      const lastContactMs = isLeader
        ? 0
        : seenByLeader
          ? seenByLeader.ticksSinceContact * tickMs
          : null;
      const membership: Membership | null = !leader
        ? null
        : leader.conf.voters.includes(m.id)
          ? 'voter'
          : leader.conf.learners.includes(m.id)
            ? 'learner'
            : 'removed';
      const s = statuses[i];
      // Known only with a leader: without one, the member is shown as it was before.
      const placed = membership === null ? {} : { membership };
      if (!s) return { id: m.name, address: m.address, up: false, lastContactMs, ...placed };
      const scraped = this.scrapes.get(m.address)?.metrics;
      return {
        id: m.name,
        address: m.address,
        up: true,
        role: s.role,
        term: s.term,
        leader: s.leader ? nameOf(s.leader) : null,
        commit: s.commit,
        applied: s.applied,
        snapshotIndex: s.snapshotIndex,
        lagEntries: leader
          ? Math.max(
              0,
              leader.lastIndex - (isLeader ? leader.lastIndex : (seenByLeader?.match ?? 0)),
            )
          : null,
        lastContactMs,
        ...placed,
        ...(membership === 'learner' && leader
          ? {
              catchUpPercent:
                leader.lastIndex === 0
                  ? 100
                  : Math.min(
                      100,
                      Math.floor(((seenByLeader?.match ?? 0) / leader.lastIndex) * 100),
                    ),
            }
          : {}),
        raft: {
          lastIndex: s.lastIndex,
          applyBacklog: s.metrics.applyBacklog,
          fsyncs: s.metrics.fsyncs,
          snapshots: s.snapshots,
          lastSnapshotAt: s.lastSnapshotAt,
        },
        ...(scraped === undefined ? {} : { metrics: scraped }),
      };
    });
    // Members the DB's configuration holds that nobody described: the DB says they exist.
    if (leader) {
      const described = new Set(this.db.map((m) => m.id));
      for (const id of [...leader.conf.voters, ...leader.conf.learners]) {
        if (described.has(id)) continue;
        const seen = leader.peers.find((p) => p.id === id);
        members.push({
          id: nameOf(id),
          address: '?',
          up: false,
          lastContactMs: seen ? seen.ticksSinceContact * tickMs : null,
          membership: leader.conf.voters.includes(id) ? 'voter' : 'learner',
          undescribed: true,
        });
      }
    }
    return members;
  }
}

/**
 * `promise`'s value, or `fallback` once `ms` have passed. undici neither aborts a connection
 * attempt on its signal nor times one out to better than a second, and a crashed host's
 * packets are dropped, not refused: without this one silent member would stall the round.
 * The abandoned attempt ends on its own (its connect timeout) and its outcome is ignored.
 */
function within<T, F>(ms: number, promise: Promise<T>, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The member calling itself leader with the highest term (a deposed one may not know yet). */
function leaderIndex(statuses: readonly (NodeStatus | null)[]): number | undefined {
  let best: number | undefined;
  statuses.forEach((s, i) => {
    if (s?.role !== 'leader') return;
    const current = best === undefined ? undefined : statuses[best];
    if (!current || s.term > current.term) best = i;
  });
  return best;
}

/**
 * What a scrape says, given the one before: memory now, and the mean fsync and apply times of
 * the samples taken between the two (null when none were; since start-up at the first).
 */
export function readScrape(
  samples: readonly PrometheusSample[],
  at: number,
  previous: Scrape | undefined,
): Scrape {
  const value = (name: string): number | null =>
    samples.find((sample) => sample.name === name)?.value ?? null;
  const totals = (family: string) => {
    const sum = value(`${family}_sum`);
    const count = value(`${family}_count`);
    return sum === null || count === null ? null : { sum, count };
  };
  const meanMs = (
    now: { sum: number; count: number } | null,
    before: { sum: number; count: number } | null | undefined,
  ): number | null => {
    if (now === null) return null;
    // A restarted member's counters start again from zero.
    const base = before && before.count <= now.count ? before : { sum: 0, count: 0 };
    const count = now.count - base.count;
    return count > 0 ? ((now.sum - base.sum) / count) * 1000 : null;
  };
  const fsync = totals('agenda_raft_fsync_seconds');
  const apply = totals('agenda_raft_apply_seconds');
  return {
    fsync,
    apply,
    metrics: {
      at,
      rssBytes: value('process_resident_memory_bytes'),
      heapUsedBytes: value('nodejs_heap_size_used_bytes'),
      fsyncMeanMs: meanMs(fsync, previous?.fsync),
      applyMeanMs: meanMs(apply, previous?.apply),
    },
  };
}

function vipLease(lease: LeaseView | null | undefined, now: number): VipLease | undefined {
  if (lease === undefined) return undefined;
  if (lease === null) return { holder: null, epoch: 0, remainingMs: null };
  return {
    holder: lease.holder,
    epoch: lease.epoch,
    remainingMs: lease.holder === null ? null : lease.expiresAt - now,
  };
}

/** The supervisor's record of the Redis primary; null when absent or unreadable. */
function recordedPrimary(result: unknown): { address: string; epoch: number } | null {
  const entry = (result as { entry: RegistryEntry | null } | null)?.entry;
  if (!entry) return null;
  try {
    const { host, port } = JSON.parse(entry.value) as { host?: unknown; port?: unknown };
    if (typeof host !== 'string' || typeof port !== 'number') return null;
    return { address: `${host}:${port}`, epoch: entry.epoch };
  } catch {
    return null;
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

function readTls(files: ClusterDescription['tls']): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the operator's TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return {
    ca: read('CA', files.ca),
    cert: read('certificate', files.cert),
    key: read('key', files.key),
  };
}
