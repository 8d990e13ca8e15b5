/**
 * What the operator dashboard shows: one observation of the whole cluster at an instant, and
 * the failovers read off two consecutive observations.
 *
 * A snapshot is what the feed could see, not what is true: a section the feed could not
 * observe at all is left out (`undefined`), and a member it could not reach is `up: false`
 * with only what others said about it.
 */
import type { Role } from '../raft/core/types.js';

/** A DB (Raft) member that answered its status request. */
export interface DbMemberUp {
  id: string;
  address: string;
  up: true;
  role: Role;
  term: number;
  /** The leader this member believes in, if any. */
  leader: string | null;
  commit: number;
  applied: number;
  snapshotIndex: number;
  /** Entries behind the leader's last index, as the leader sees it; null without a leader. */
  lagEntries: number | null;
  /** Milliseconds since the leader last heard from this member; null without a leader. */
  lastContactMs: number | null;
  /** Its place in the leader's configuration; absent or null without a leader. */
  membership?: Membership | null;
  /**
   * For a learner, how much of the leader's log it holds, 0–100 (the leader's match index
   * over its last index): its catch-up progress towards promotion. Absent or null otherwise.
   */
  catchUpPercent?: number | null;
  /** Its own Raft counters, from its status; absent from feeds that do not read them. */
  raft?: RaftDetail;
  /** What its `/metrics` said at the last scrape (scraped less often than the status). */
  metrics?: MemberMetrics;
}

/** A DB member's Raft counters, as its status API reports them. */
export interface RaftDetail {
  /** The last index in its log. */
  lastIndex: number;
  /** Committed entries its store has not finished applying. */
  applyBacklog: number;
  /** fsyncs since the member started. */
  fsyncs: number;
  /** Snapshots taken or installed since it started. */
  snapshots: number;
  /** When (ISO time) it last took or installed a snapshot; null if never. */
  lastSnapshotAt: string | null;
}

/**
 * What a daemon's `/metrics` (prom-client) said: memory, and for a DB member its fsync and
 * apply latency — the mean over the samples taken since the previous scrape, null when there
 * were none (an idle member), with `at` when the scrape was taken.
 */
export interface MemberMetrics {
  at: number;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  fsyncMeanMs: number | null;
  applyMeanMs: number | null;
}

/** Voter, learner, or out of the configuration (removed, or never added). */
export type Membership = 'voter' | 'learner' | 'removed';

/** A DB member the feed could not reach. */
export interface DbMemberDown {
  id: string;
  address: string;
  up: false;
  /** What the leader last reported, when there is a leader. */
  lastContactMs: number | null;
  /** Its place in the leader's configuration; absent or null without a leader. */
  membership?: Membership | null;
  /** In the leader's configuration but not in the description the feed was given. */
  undescribed?: boolean;
}

export type DbMember = DbMemberUp | DbMemberDown;

/** A Redis instance that answered `INFO replication`. */
export interface RedisUp {
  name: string;
  address: string;
  up: true;
  role: 'primary' | 'replica';
  /** Replication offset (`master_repl_offset` / `slave_repl_offset`). */
  offset: number;
  /** For a replica, whether its link to the primary is up; always true for a primary. */
  linkUp: boolean;
  /** The fencing epoch the supervisor recorded when it made this instance primary. */
  epoch?: number;
}

/** A Redis instance the feed could not reach. */
export interface RedisDown {
  name: string;
  address: string;
  up: false;
}

export type RedisInstance = RedisUp | RedisDown;

/** One VIP agent, as its status endpoint and its peer describe it. */
export interface VipAgent {
  /** The agent's id: its name on the VIP lease (e.g. `vip-1`). */
  id: string;
  /** The host it runs on (e.g. `vm1`): VIP owners are named by host. */
  host: string;
  /** `down` when its status endpoint did not answer (or answered nonsense). */
  state: 'active' | 'passive' | 'down';
  /** Milliseconds since the peer agent last heard this agent's heartbeat; null if unknown. */
  lastHeartbeatMs: number | null;
  /** Whether the agent says the VIP is configured on its host; null when it did not say. */
  vipConfigured: boolean | null;
  /** Consecutive failed health checks of the gateway beside it; null when it did not say. */
  gatewayFailures: number | null;
  /** Its last action in words (`claim: lease held`); null when none or unknown. */
  lastAction: string | null;
  /** When (ms since the epoch, the agent's clock) that action finished; null when unknown. */
  lastActionAt: number | null;
  /** Why the agent counts as down. */
  error?: string;
}

/** The VIP lease as the DB registry holds it. */
export interface VipLease {
  holder: string | null;
  epoch: number;
  /** Milliseconds left; negative once expired; null without a holder. */
  remainingMs: number | null;
}

export interface VipStatus {
  address: string;
  /**
   * The host holding the virtual IP, or null when nobody does: the host whose agent says the
   * VIP is configured, else (its agent unreachable) the host whose agent holds the lease.
   */
  owner: string | null;
  /** Whether `owner` was only inferred from the lease (its agent did not answer). */
  ownerFromLease: boolean;
  /** Hosts whose agent says the VIP is configured there: two or more is a split brain. */
  claimants: string[];
  /** The VIP lease; absent when the DB could not be read. */
  lease?: VipLease;
  agents: VipAgent[];
}

/** The Redis supervisor lease in the DB registry. */
export interface SupervisorLease {
  holder: string | null;
  /** The fencing epoch; grows with each new holder. */
  epoch: number;
  /** Negative once expired; null when there is no holder. */
  leaseExpiresInMs: number | null;
}

/** One member of the gossip cluster as the observer's own membership view holds it. */
export interface GossipMember {
  id: string;
  /** The kind of process: gateway, users, groups, supervisor, vip, observer. */
  role: string;
  /** `host:port` of its gossip socket. */
  address: string;
  /**
   * `left` is a graceful leave; `dead` a failure the cluster detected; `absent`: the
   * description names this gossip address (a seed) and no member holds it — a process that
   * is not running, whose leave the view has forgotten or which never joined.
   */
  state: 'alive' | 'suspect' | 'dead' | 'left' | 'absent';
  /** Raised by the member itself to refute suspicion: a restart or a flap shows here. */
  incarnation: number;
  /** When (ms since the epoch) the observer's view last changed this member's state. */
  since: number;
}

/**
 * Whether a gossip member is an operator's observer (a dashboard, `cluster status`): not part
 * of the system, so neither counted nor shown — a departed one is only noise.
 */
export function isObserver(member: Pick<GossipMember, 'id' | 'role'>): boolean {
  return member.role === 'observer' || member.id.startsWith('observer-');
}

/** The system's own gossip members: observers left out. */
export function withoutObservers(members: readonly GossipMember[]): GossipMember[] {
  return members.filter((member) => !isObserver(member));
}

/** Roles in the order the dashboard lists them: the request path first, watchers last. */
const ROLE_ORDER = ['gateway', 'users', 'groups', 'supervisor', 'vip', 'observer'];

/** Gossip members by role (request path first, unknown roles after, by name), then by id. */
export function sortGossipMembers(members: readonly GossipMember[]): GossipMember[] {
  const rank = (role: string): number => {
    const index = ROLE_ORDER.indexOf(role);
    return index === -1 ? ROLE_ORDER.length : index;
  };
  return [...members].sort(
    (a, b) =>
      rank(a.role) - rank(b.role) ||
      a.role.localeCompare(b.role) ||
      a.id.localeCompare(b.id, undefined, { numeric: true }),
  );
}

/** One observation of the cluster; `at` is when the feed took it (ms since the epoch). */
export interface ClusterSnapshot {
  at: number;
  dbMembers?: DbMember[];
  redis?: RedisInstance[];
  vip?: VipStatus;
  supervisor?: SupervisorLease;
  gossip?: GossipMember[];
  /**
   * Failovers recorded in the cluster before this snapshot (the registry's history of the
   * leases and the Redis primary), oldest first; absent until the feed could read it.
   */
  history?: FailoverEvent[];
  /** What the feed tried to observe and could not, in words (e.g. it could not join gossip). */
  problems?: string[];
}

export type FailoverKind =
  'db-leader' | 'redis-primary' | 'vip' | 'supervisor' | 'member-down' | 'member-up';

/** A change an operator must notice, stamped with the `at` of the snapshot that showed it. */
export interface FailoverEvent {
  at: number;
  kind: FailoverKind;
  message: string;
  /** Read from the cluster's records rather than seen live by this dashboard. */
  recorded?: boolean;
}

/** What is alive, counted by each layer's own word: DB members by their status API. */
export interface AliveSummary {
  db: { up: number; total: number } | undefined;
  redis: { up: number; total: number } | undefined;
  vipAgents: { up: number; total: number } | undefined;
  /** The system's gossip members (observers left out) alive or suspect. */
  gossip: { up: number; total: number } | undefined;
  /** The sum over the layers observed. */
  up: number;
  total: number;
}

/**
 * Counts what is up, layer by layer. DB members are not in gossip, so gossip alone would say
 * "8/8 alive" while the DB is down: here each DB member counts as its status API answered.
 */
export function aliveSummary(snapshot: ClusterSnapshot): AliveSummary {
  const count = <T>(items: readonly T[] | undefined, up: (item: T) => boolean) =>
    items === undefined ? undefined : { up: items.filter(up).length, total: items.length };
  const db = count(snapshot.dbMembers, (m) => m.up);
  const redis = count(snapshot.redis, (r) => r.up);
  const vipAgents = count(snapshot.vip?.agents, (a) => a.state !== 'down');
  const gossip = count(
    snapshot.gossip === undefined ? undefined : withoutObservers(snapshot.gossip),
    (m) => m.state === 'alive' || m.state === 'suspect',
  );
  const layers = [db, redis, vipAgents, gossip].filter((l) => l !== undefined);
  return {
    db,
    redis,
    vipAgents,
    gossip,
    up: layers.reduce((sum, l) => sum + l.up, 0),
    total: layers.reduce((sum, l) => sum + l.total, 0),
  };
}

/**
 * The DB leader: among reachable members calling themselves leader, the one with the highest
 * term (a deposed leader may not know it yet). Null when no reachable member leads.
 */
export function dbLeader(members: readonly DbMember[]): DbMemberUp | null {
  let leader: DbMemberUp | null = null;
  for (const member of members) {
    if (member.up && member.role === 'leader' && (leader === null || member.term > leader.term)) {
      leader = member;
    }
  }
  return leader;
}

/**
 * The Redis primary: among reachable instances calling themselves primary, the one with the
 * highest epoch (an old primary coming back still says primary until it is demoted).
 */
export function redisPrimary(instances: readonly RedisInstance[]): RedisUp | null {
  let primary: RedisUp | null = null;
  for (const instance of instances) {
    if (
      instance.up &&
      instance.role === 'primary' &&
      (primary === null || (instance.epoch ?? -1) > (primary.epoch ?? -1))
    ) {
      primary = instance;
    }
  }
  return primary;
}

/**
 * The failovers between two consecutive snapshots, in a fixed order: DB leader, Redis
 * primary, VIP owner, supervisor, then members going down or up (DB, Redis, VIP agents,
 * gossip). A section missing from either
 * snapshot yields nothing (not observing is not a change), and the first snapshot
 * (`previous` undefined) is the baseline, so it yields nothing either.
 */
export function detectFailovers(
  previous: ClusterSnapshot | undefined,
  next: ClusterSnapshot,
): FailoverEvent[] {
  if (previous === undefined) return [];
  const events: FailoverEvent[] = [];
  const report = (kind: FailoverKind, message: string): void => {
    events.push({ at: next.at, kind, message });
  };

  if (previous.dbMembers !== undefined && next.dbMembers !== undefined) {
    const before = dbLeader(previous.dbMembers);
    const after = dbLeader(next.dbMembers);
    if (before?.id !== after?.id) {
      report(
        'db-leader',
        after === null
          ? `DB leader ${before?.id ?? 'none'} lost; no leader`
          : `DB leader ${before?.id ?? 'none'} → ${after.id} (term ${after.term})`,
      );
    }
  }

  if (previous.redis !== undefined && next.redis !== undefined) {
    const before = redisPrimary(previous.redis);
    const after = redisPrimary(next.redis);
    if (before?.name !== after?.name) {
      const epoch = after?.epoch === undefined ? '' : ` (epoch ${after.epoch})`;
      report(
        'redis-primary',
        after === null
          ? `Redis primary ${before?.name ?? 'none'} lost; no primary`
          : `Redis primary ${before?.name ?? 'none'} → ${after.name}${epoch}`,
      );
    }
  }

  if (previous.vip !== undefined && next.vip !== undefined) {
    const before = previous.vip.owner;
    const after = next.vip.owner;
    if (before !== after) {
      report('vip', `VIP ${next.vip.address} ${before ?? 'unowned'} → ${after ?? 'unowned'}`);
    }
    // Two hosts answering ARP for one address is what the lease exists to prevent: say so.
    const split = next.vip.claimants.length > 1;
    if (split && previous.vip.claimants.length <= 1) {
      report('vip', `VIP ${next.vip.address} configured on ${next.vip.claimants.join(' and ')}`);
    }
  }

  if (previous.supervisor !== undefined && next.supervisor !== undefined) {
    const before = previous.supervisor;
    const after = next.supervisor;
    // A holder re-acquiring its own expired lease gets a new epoch: that is a failover too.
    if (before.holder !== after.holder || before.epoch !== after.epoch) {
      report(
        'supervisor',
        before.holder === after.holder && after.holder !== null
          ? `supervisor lease re-acquired by ${after.holder} after it lapsed (epoch ${after.epoch})`
          : `supervisor lease ${before.holder ?? 'free'} → ${after.holder ?? 'free'} (epoch ${after.epoch})`,
      );
    }
  }

  if (previous.dbMembers !== undefined && next.dbMembers !== undefined) {
    reportUpDown(
      'DB member',
      previous.dbMembers.map((m) => [m.id, m.up]),
      next.dbMembers.map((m) => [m.id, m.up]),
      report,
    );
  }
  if (previous.redis !== undefined && next.redis !== undefined) {
    reportUpDown(
      'Redis',
      previous.redis.map((r) => [r.name, r.up]),
      next.redis.map((r) => [r.name, r.up]),
      report,
    );
  }
  if (previous.vip !== undefined && next.vip !== undefined) {
    reportUpDown(
      'VIP agent',
      previous.vip.agents.map((a) => [a.id, a.state !== 'down']),
      next.vip.agents.map((a) => [a.id, a.state !== 'down']),
      report,
    );
  }
  if (previous.gossip !== undefined && next.gossip !== undefined) {
    // Suspicion is SWIM's way of not declaring death too early: a suspect still counts as up.
    // Observers (other dashboards, this one's previous run) come and go: not failovers.
    const live = (m: GossipMember) => m.state === 'alive' || m.state === 'suspect';
    const nextGossip = withoutObservers(next.gossip);
    const after = new Map(nextGossip.map((m) => [m.id, m]));
    reportUpDown(
      'gossip',
      withoutObservers(previous.gossip).map((m) => [m.id, live(m)]),
      nextGossip.map((m) => [m.id, live(m)]),
      report,
      (id) => after.get(id)?.role,
      (id) => (after.get(id)?.state === 'left' ? 'left' : 'is down'),
    );
  }
  return events;
}

/** Members present in both lists whose up-ness flipped; appearing or vanishing is not a flip. */
function reportUpDown(
  what: string,
  before: readonly (readonly [string, boolean])[],
  after: readonly (readonly [string, boolean])[],
  report: (kind: FailoverKind, message: string) => void,
  describe: (id: string) => string | undefined = () => undefined,
  wentDown: (id: string) => string = () => 'is down',
): void {
  const wasUp = new Map(before);
  for (const [id, up] of after) {
    const previouslyUp = wasUp.get(id);
    if (previouslyUp === undefined || previouslyUp === up) continue;
    const role = describe(id);
    const name = role === undefined ? `${what} ${id}` : `${what} ${role} ${id}`;
    report(up ? 'member-up' : 'member-down', `${name} ${up ? 'is back up' : wentDown(id)}`);
  }
}
