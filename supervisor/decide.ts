/**
 * What the Redis supervisor should do next, as a pure function of what it observed in one
 * check: the lease, the primary recorded in the DB registry, and the health of every Redis
 * instance it knows. No I/O and no clock: the daemon (`supervisor.ts`) observes, asks
 * {@link decide}, and carries the answer out.
 *
 * Safety rests on three rules, each a test in `decide.test.ts`:
 * - only the holder of the lease acts, and a supervisor that cannot reach the DB (lease or
 *   registry unknown) does nothing at all — it may be the partitioned one;
 * - a promotion is recorded with a compare-and-set on the registry entry's epoch, so of two
 *   supervisors acting on the same view at most one records a new primary;
 * - the registry is the truth: instances that disagree with it are brought in line with
 *   it (demoted or re-pointed), never the other way round.
 */

/** A Redis instance's address, as configured and as recorded in the registry. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** One health check of one instance. */
export type InstanceHealth =
  | { readonly up: false; readonly error: string }
  | { readonly up: true; readonly role: 'primary'; readonly offset: number }
  | {
      readonly up: true;
      readonly role: 'replica';
      /** The primary this replica is configured to follow. */
      readonly following: RedisAddress;
      /** Whether its replication link to that primary is established. */
      readonly linkUp: boolean;
      /** Replication offset processed so far: how much of the primary's stream it has. */
      readonly offset: number;
    };

/** An instance and what its latest check found. */
export interface ObservedInstance {
  readonly address: RedisAddress;
  readonly health: InstanceHealth;
}

/** The supervisors' lease as this supervisor sees it after trying to renew or read it. */
export type LeaseObservation =
  /** We hold it; renewed during this check. */
  | { readonly kind: 'held'; readonly epoch: number }
  /** Another supervisor holds it and it has not expired. */
  | { readonly kind: 'held-by-other'; readonly holder: string; readonly epoch: number }
  /** Nobody holds it (never acquired, released or expired). */
  | { readonly kind: 'free' }
  /** The DB did not answer: we may be the one cut off. */
  | { readonly kind: 'unknown' };

/** The registry's `redis/primary` entry as read during this check. */
export type RecordedPrimaryObservation =
  | { readonly kind: 'recorded'; readonly address: RedisAddress; readonly epoch: number }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unknown' };

/** Everything one check observed. */
export interface Observation {
  readonly lease: LeaseObservation;
  readonly recordedPrimary: RecordedPrimaryObservation;
  readonly instances: readonly ObservedInstance[];
  /** Consecutive checks in which the recorded primary was not serving as a primary. */
  readonly primaryFailures: number;
}

export interface DecisionConfig {
  /** Consecutive failed checks of the primary before failing over (≥ 1). */
  readonly failureThreshold: number;
}

/** The one thing to do after a check. */
export type SupervisorAction =
  | { readonly type: 'none'; readonly reason: string }
  | { readonly type: 'acquire-lease' }
  | {
      /** `REPLICAOF NO ONE` on `replica`, then CAS `redis/primary` from `expectedEpoch`. */
      readonly type: 'promote';
      readonly replica: RedisAddress;
      readonly expectedEpoch: number;
      readonly failed: RedisAddress;
    }
  | {
      /** An old primary that came back: `REPLICAOF` the recorded primary. */
      readonly type: 'demote';
      readonly instance: RedisAddress;
      readonly primary: RedisAddress;
    }
  | {
      /** A replica following someone other than the recorded primary. */
      readonly type: 'reconfigure-replica';
      readonly instance: RedisAddress;
      readonly primary: RedisAddress;
    };

/** Whether two addresses name the same instance. */
export function sameAddress(a: RedisAddress, b: RedisAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/** `host:port`, for logs and tie-breaks. */
export function formatAddress(address: RedisAddress): string {
  return `${address.host}:${address.port}`;
}

/** Whether the recorded primary passed this check: reachable and acting as a primary. */
export function primaryHealthy(
  recorded: RedisAddress,
  instances: readonly ObservedInstance[],
): boolean {
  const health = instances.find((i) => sameAddress(i.address, recorded))?.health;
  return health !== undefined && health.up && health.role === 'primary';
}

/**
 * The failure count after one more check: reset when the primary answered as a primary or
 * when a different primary is now recorded (the count was about the old one), else one more.
 * When the registry could not be read the previous primary is still the one being watched.
 */
export function countPrimaryFailures(
  previous: { readonly primary: RedisAddress | null; readonly failures: number },
  recorded: RedisAddress | null,
  instances: readonly ObservedInstance[],
): { readonly primary: RedisAddress | null; readonly failures: number } {
  const watched = recorded ?? previous.primary;
  if (watched === null) return { primary: null, failures: 0 };
  const carried =
    previous.primary !== null && sameAddress(previous.primary, watched) ? previous.failures : 0;
  return {
    primary: watched,
    failures: primaryHealthy(watched, instances) ? 0 : carried + 1,
  };
}

/** Decides the next action (rules in the module comment). Pure and deterministic. */
export function decide(observation: Observation, config: DecisionConfig): SupervisorAction {
  const { lease, recordedPrimary } = observation;
  switch (lease.kind) {
    case 'unknown':
      return { type: 'none', reason: 'cut off from the DB: cannot renew or read the lease' };
    case 'held-by-other':
      return { type: 'none', reason: `the lease is held by ${lease.holder}` };
    case 'free':
      return { type: 'acquire-lease' };
    case 'held':
      break;
  }
  if (recordedPrimary.kind === 'unknown') {
    return { type: 'none', reason: 'cannot read the recorded primary from the registry' };
  }
  if (recordedPrimary.kind === 'absent') {
    return { type: 'none', reason: 'no Redis primary is recorded in the registry' };
  }
  const primary = recordedPrimary.address;
  if (!primaryHealthy(primary, observation.instances)) {
    return failOver(observation, primary, recordedPrimary.epoch, config);
  }
  return alignWithPrimary(observation.instances, primary);
}

function failOver(
  observation: Observation,
  failed: RedisAddress,
  expectedEpoch: number,
  config: DecisionConfig,
): SupervisorAction {
  const failures = observation.primaryFailures;
  if (failures < config.failureThreshold) {
    return {
      type: 'none',
      reason: `primary ${formatAddress(failed)} failed ${failures} of ${config.failureThreshold} checks`,
    };
  }
  const replica = bestCandidate(observation.instances, failed);
  if (replica === null) {
    return {
      type: 'none',
      reason: `primary ${formatAddress(failed)} is down and no other instance is up to promote`,
    };
  }
  return { type: 'promote', replica, expectedEpoch, failed };
}

/**
 * The instance that has the most of the failed primary's stream: highest replication offset,
 * ties broken by address so every supervisor picks the same one. An instance already acting
 * as a primary is a candidate too: it is a promotion whose registry write did not land.
 */
function bestCandidate(
  instances: readonly ObservedInstance[],
  failed: RedisAddress,
): RedisAddress | null {
  let best: { address: RedisAddress; offset: number } | null = null;
  for (const { address, health } of instances) {
    if (!health.up || sameAddress(address, failed)) continue;
    const better =
      best === null ||
      health.offset > best.offset ||
      (health.offset === best.offset && formatAddress(address) < formatAddress(best.address));
    if (better) best = { address, offset: health.offset };
  }
  return best?.address ?? null;
}

/** With a healthy recorded primary: the first instance that disagrees with it, fixed. */
function alignWithPrimary(
  instances: readonly ObservedInstance[],
  primary: RedisAddress,
): SupervisorAction {
  for (const { address, health } of instances) {
    if (!health.up || sameAddress(address, primary)) continue;
    if (health.role === 'primary') return { type: 'demote', instance: address, primary };
    if (!sameAddress(health.following, primary)) {
      return { type: 'reconfigure-replica', instance: address, primary };
    }
  }
  return { type: 'none', reason: `primary ${formatAddress(primary)} is healthy` };
}
