/**
 * What a VIP agent should do next, as a pure function of what it observed in one check: its
 * own gateway's health, the peer agent's heartbeats, and the VIP lease in the DB registry.
 * No I/O and no clock: the daemon observes (measuring ages on its monotonic clock), asks
 * {@link decide}, and carries the answer out — one action per check.
 *
 * ## Why: never two owners, even at the cost of availability
 * Two hosts answering ARP for the same address split the clients between two gateways and
 * corrupt every switch's view of the network; a few seconds without a gateway only cost a
 * retry. So when the agent cannot tell, it gives the VIP up (the active) or leaves it alone
 * (the passive). Heartbeats alone cannot decide ownership — a partition between the two hosts
 * makes each look dead to the other — so ownership is guarded by a lease in the DB, which a
 * Raft majority grants to at most one holder at a time.
 *
 * The lease only helps if the holder stops using the VIP *before* the DB could grant the lease
 * to the peer. Every age the daemon reports is measured from the moment it *sent* the request,
 * so `leaseTtlMs − lastRenewedAgoMs` is a lower bound on what is left of the lease as the DB
 * sees it; the agent drops the VIP once that falls to `leaseMarginMs`. The margin must cover a
 * check interval, the time to run `ip addr del`, and clock-rate drift between the hosts.
 *
 * ## Rules, in priority order (each a test in `decide.test.ts`)
 * 1. **The VIP is held only while it is provably ours with margin.** With the VIP configured
 *    and no more than `leaseMarginMs` provably left, release the VIP. This is the fail-safe that
 *    lets a partitioned active step down before the peer can take over. Two things prove it:
 *    - *the lease*: what is left of our tenure (lost, taken, never renewed, or the DB
 *      unreachable for too long: nothing);
 *    - *the peer's word*: a passive peer that confirmed receiving one of our "active"
 *      heartbeats (sent at `s`) counts us alive until at least `s + peerDeadAfterMs` (its
 *      own, which it announces; the shorter of its and ours counts), and by
 *      rules 4 and 6 it neither acquires the lease nor claims the VIP before then — unless the
 *      lease is already its own, so this proof never counts against a lease held by another.
 *    The second keeps the VIP where it is through a DB outage (a DB leader election takes
 *    about as long as a lease lasts) while the two agents hear each other, and only then.
 * 2. **An unhealthy local gateway steps down**: at `gatewayFailureThreshold` consecutive failed
 *    health checks, release the VIP, then (next check, never before — the peer must not get
 *    the lease while the VIP is still here) release the lease so the peer can take over at
 *    once instead of waiting for it to expire. An unhealthy agent never acquires.
 * 3. **DB unreachable (or the lease read is stale)**: an active keeps the VIP until rule 1
 *    fires and keeps trying to renew; a passive never acquires and never claims. Staying up on
 *    a still-valid lease is safe (the peer cannot get it before it expires) and keeps the
 *    service up through a DB blip.
 * 4. **Lease held by me**: claim the VIP (add the address, gratuitous ARP) when more than the
 *    margin is left and the peer stands aside; otherwise renew when due.
 * 5. **Lease held by the peer**: do nothing.
 * 6. **Lease free**: acquire it only when the peer stands aside — its heartbeats stopped, or it
 *    says it is passive (which includes having just released). Both agents may try at once;
 *    the DB grants one, and only that one ever claims (rule 4).
 */

/** What the peer agent last said about itself in a heartbeat. */
export type PeerClaim =
  /** It holds the VIP. */
  | 'active'
  /** It does not hold the VIP (standing by, or just released it). */
  | 'passive'
  /** Never heard from, or its heartbeat could not be understood. */
  | 'unknown';

/** The VIP lease as this agent last read it (from `lease.get` or a `lease.acquire` answer). */
export type VipLeaseObservation =
  /** This agent holds it; `remainingMs` as the DB computed it when answering. */
  | { readonly kind: 'mine'; readonly epoch: number; readonly remainingMs: number }
  /** The peer (or a stale incarnation of anyone else) holds it, unexpired. */
  | { readonly kind: 'other'; readonly holder: string; readonly remainingMs: number }
  /** Nobody holds it: never acquired, released or expired. */
  | { readonly kind: 'free' }
  /** The DB did not answer: this host may be the one cut off. */
  | { readonly kind: 'unknown' };

/** Everything one check observed. Ages are in milliseconds on the agent's monotonic clock. */
export interface VipObservation {
  /** This host's id: its name on the lease. */
  readonly self: string;
  /** Whether the VIP is configured on this host right now. */
  readonly vipConfigured: boolean;
  /** Consecutive failed health checks of the local gateway (0 when the last one passed). */
  readonly gatewayFailures: number;
  readonly peer: {
    /** Time since the last valid heartbeat from the peer; null if none was ever received. */
    readonly heartbeatAgeMs: number | null;
    /** The state the peer announced in that heartbeat. */
    readonly claimed: PeerClaim;
    /**
     * Time since we sent the newest "active" heartbeat a passive peer confirmed receiving
     * (`HeartbeatChannel.peer()`); null or absent when there is none.
     */
    readonly acknowledgedActiveAgeMs?: number | null;
    /** How long the peer says it stands back after hearing us active (its `peerDeadAfterMs`). */
    readonly promiseMs?: number | null;
  };
  readonly lease: VipLeaseObservation;
  /** Time since the request that produced `lease` was sent. */
  readonly leaseReadAgeMs: number;
  /**
   * Time since the last successful acquire or renew of the current tenure was *sent*; null
   * when this agent has not acquired the lease since it last learned it did not hold it.
   */
  readonly lastRenewedAgoMs: number | null;
}

/** Timings and thresholds; see {@link vipDecisionConfigProblems} for how they must relate. */
export interface VipDecisionConfig {
  /** The `ttlMs` the agent asks for in `lease.acquire`. */
  readonly leaseTtlMs: number;
  /** The VIP is dropped once no more than this is provably left of the lease. */
  readonly leaseMarginMs: number;
  /** Renew once this long has passed since the last successful renew. */
  readonly renewAfterMs: number;
  /** A lease read older than this is treated as unknown: it may no longer be true. */
  readonly maxLeaseReadAgeMs: number;
  /** The peer counts as dead once its last heartbeat is older than this. */
  readonly peerDeadAfterMs: number;
  /** Consecutive failed health checks after which the local gateway counts as unhealthy. */
  readonly gatewayFailureThreshold: number;
}

/** The one thing to do after a check; `reason` is for the log and the dashboard. */
export type VipAction =
  | { readonly type: 'acquire-lease'; readonly reason: string }
  | { readonly type: 'renew-lease'; readonly reason: string }
  /** Add the address and send gratuitous ARP; `epoch` is the lease tenure it is held under. */
  | { readonly type: 'claim-vip'; readonly epoch: number; readonly reason: string }
  /** Remove the address. */
  | { readonly type: 'release-vip'; readonly reason: string }
  | { readonly type: 'release-lease'; readonly reason: string }
  | { readonly type: 'none'; readonly reason: string };

/**
 * What is wrong with a config, one sentence per problem; empty when it is usable. The
 * relations keep the agent from flapping: it must renew well before it would drop the VIP,
 * and a lease read must be fresher than the margin it is checked against.
 */
export function vipDecisionConfigProblems(config: VipDecisionConfig): readonly string[] {
  const problems: string[] = [];
  const positive = [
    'leaseTtlMs',
    'leaseMarginMs',
    'renewAfterMs',
    'maxLeaseReadAgeMs',
    'peerDeadAfterMs',
    'gatewayFailureThreshold',
  ] as const;
  for (const key of positive) {
    if (!Number.isFinite(config[key]) || config[key] <= 0) problems.push(`${key} must be > 0`);
  }
  if (config.leaseMarginMs >= config.leaseTtlMs) {
    problems.push('leaseMarginMs must be less than leaseTtlMs');
  }
  if (config.renewAfterMs >= config.leaseTtlMs - config.leaseMarginMs) {
    problems.push('renewAfterMs must be less than leaseTtlMs − leaseMarginMs');
  }
  if (config.maxLeaseReadAgeMs >= config.leaseTtlMs - config.leaseMarginMs) {
    problems.push('maxLeaseReadAgeMs must be less than leaseTtlMs − leaseMarginMs');
  }
  return problems;
}

/**
 * How much of this agent's lease is provably left: the smaller of the DB's answer aged by the
 * time since it was asked, and the TTL minus the time since the last renew was sent. Zero when
 * the lease is known to be free or someone else's. Never more than the DB could still grant
 * it to us for, so holding the VIP within this bound can never overlap the peer's tenure.
 */
export function provableLeaseRemainingMs(
  observation: VipObservation,
  config: VipDecisionConfig,
): number {
  const { lease, lastRenewedAgoMs, leaseReadAgeMs } = observation;
  if (lease.kind === 'free' || lease.kind === 'other') return 0;
  const bounds: number[] = [];
  if (lease.kind === 'mine') bounds.push(lease.remainingMs - leaseReadAgeMs);
  if (lastRenewedAgoMs !== null) bounds.push(config.leaseTtlMs - lastRenewedAgoMs);
  return bounds.length === 0 ? 0 : Math.max(0, Math.min(...bounds));
}

/**
 * How long the VIP may provably stay here (rule 1): the longer of what is left of the lease
 * and what the peer's confirmation guarantees. The confirmation counts only for a VIP that is
 * here, a peer that still says it is passive, and a lease not known to be someone else's.
 */
export function provableHoldMs(observation: VipObservation, config: VipDecisionConfig): number {
  const lease = provableLeaseRemainingMs(observation, config);
  const { acknowledgedActiveAgeMs, claimed, promiseMs } = observation.peer;
  if (
    !observation.vipConfigured ||
    observation.lease.kind === 'other' ||
    claimed !== 'passive' ||
    acknowledgedActiveAgeMs === null ||
    acknowledgedActiveAgeMs === undefined ||
    promiseMs === null ||
    promiseMs === undefined
  ) {
    return lease;
  }
  // The peer's own word, never more: its `peerDeadAfterMs` may be shorter than ours.
  const promised = Math.min(config.peerDeadAfterMs, promiseMs);
  return Math.max(lease, promised - acknowledgedActiveAgeMs);
}

/** Whether the peer is out of the way: its heartbeats stopped, or it says it is passive. */
export function peerStandsAside(observation: VipObservation, config: VipDecisionConfig): boolean {
  const { heartbeatAgeMs, claimed } = observation.peer;
  const alive = heartbeatAgeMs !== null && heartbeatAgeMs <= config.peerDeadAfterMs;
  return !alive || claimed === 'passive';
}

/** Decides the next action (rules in the module comment). Pure and deterministic. */
export function decide(observation: VipObservation, config: VipDecisionConfig): VipAction {
  // Whole milliseconds: the reasons are read by people.
  const remainingMs = Math.floor(provableLeaseRemainingMs(observation, config));
  const holdMs = Math.floor(provableHoldMs(observation, config));
  const healthy = observation.gatewayFailures < config.gatewayFailureThreshold;

  // Rule 1: the fail-safe comes before anything else.
  if (observation.vipConfigured && holdMs <= config.leaseMarginMs) {
    return {
      type: 'release-vip',
      reason: `only ${holdMs} ms provably left by the lease or the peer's word (margin ${config.leaseMarginMs} ms)`,
    };
  }

  // A read older than the bound may no longer be true: it can keep a VIP (rule 1 still bounds
  // it by the last renewal) but never grant one.
  const lease: VipLeaseObservation =
    observation.leaseReadAgeMs > config.maxLeaseReadAgeMs ? { kind: 'unknown' } : observation.lease;

  if (!healthy) return stepDown(observation, lease, config);

  switch (lease.kind) {
    case 'unknown':
      if (observation.vipConfigured) {
        return {
          type: 'renew-lease',
          reason: `lease unknown (DB unreachable or read stale): keeping the VIP for ${holdMs} ms at most`,
        };
      }
      return { type: 'none', reason: 'lease unknown (DB unreachable or read stale): never claim' };
    case 'other':
      return { type: 'none', reason: `the lease is held by ${lease.holder}` };
    case 'free':
      if (!peerStandsAside(observation, config)) {
        return { type: 'none', reason: 'the lease is free but the peer is active and alive' };
      }
      return { type: 'acquire-lease', reason: 'the lease is free and the peer stands aside' };
    case 'mine':
      return asHolder(observation, lease.epoch, remainingMs, config);
  }
}

/** Rule 2: VIP first, lease second, so the peer can never get the lease while we hold the VIP. */
function stepDown(
  observation: VipObservation,
  lease: VipLeaseObservation,
  config: VipDecisionConfig,
): VipAction {
  const failures = `local gateway failed ${observation.gatewayFailures} consecutive checks (threshold ${config.gatewayFailureThreshold})`;
  if (observation.vipConfigured) return { type: 'release-vip', reason: failures };
  if (lease.kind === 'mine') return { type: 'release-lease', reason: failures };
  return { type: 'none', reason: `${failures}: standing aside` };
}

/** Rule 4: we hold the lease, the local gateway is healthy. */
function asHolder(
  observation: VipObservation,
  epoch: number,
  remainingMs: number,
  config: VipDecisionConfig,
): VipAction {
  const renewDue =
    observation.lastRenewedAgoMs === null || observation.lastRenewedAgoMs >= config.renewAfterMs;
  const withMargin = remainingMs > config.leaseMarginMs;
  if (!observation.vipConfigured && withMargin) {
    if (peerStandsAside(observation, config)) {
      return { type: 'claim-vip', epoch, reason: `holding the lease (epoch ${epoch})` };
    }
    // Only possible while the peer's last heartbeat predates its own step-down (rule 1 on its
    // side): wait for it to say so rather than answer ARP alongside it.
    if (!renewDue) {
      return { type: 'none', reason: 'holding the lease; waiting for the peer to release the VIP' };
    }
  }
  if (renewDue || !withMargin) {
    return { type: 'renew-lease', reason: `${remainingMs} ms of the lease left` };
  }
  return { type: 'none', reason: `holding the VIP and the lease (epoch ${epoch})` };
}
