/**
 * The VIP agent: every check interval it observes — its gateway's health, whether the VIP is
 * on this host, the VIP lease in the DB registry, the peer's heartbeats — asks {@link decide}
 * what to do, and does that one thing. The rules, and why they can never leave the VIP on
 * both hosts, are in `decide.ts`; this module's part of the bargain is to observe honestly
 * (ages from when requests were sent: `lease-knowledge.ts`) and promptly:
 *
 * - Checks never overlap, and every call a check makes is cut off at `callTimeoutMs`, so the
 *   time between two decisions is bounded — {@link vipAgentTimingProblems} checks that the
 *   lease margin covers it, which is what lets the fail-safe (drop the VIP while the lease is
 *   still provably ours) fire in time.
 * - When the VIP's presence cannot be read, it counts as present: the fail-safe then removes
 *   it rather than risk leaving it up without a lease.
 * - A claim re-checks the lease bound just before adding the address, in case the check was
 *   slow; after acquiring the lease the agent decides again at once, so a takeover does not
 *   wait a whole interval to claim.
 * - A gratuitous ARP is stopped before the address is removed, so it never points the
 *   neighbours here after the peer has claimed the VIP.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from '../supervisor/registry.js';
import type { AddressControl, VipAddress } from './address.js';
import { decide, provableLeaseRemainingMs, vipDecisionConfigProblems } from './decide.js';
import type { VipAction, VipDecisionConfig, VipObservation } from './decide.js';
import type { HealthResult } from './gateway-health.js';
import type { HeartbeatStats, PeerHeartbeat } from './heartbeat.js';
import { AgentJournal } from './journal.js';
import type { VipAgentLogger, VipAgentStatus } from './journal.js';
import { LeaseKnowledge } from './lease-knowledge.js';

export type { ActionRecord, VipAgentLogger, VipAgentStatus } from './journal.js';

/** The lease operations the agent uses; `DbRegistry` is the real one. */
export type VipRegistry = Pick<Registry, 'acquireLease' | 'releaseLease' | 'lease'>;

/** The agent's end of the heartbeat link (`HeartbeatChannel`). */
export interface HeartbeatLink {
  send(state: 'active' | 'passive', epoch: number): void;
  peer(): PeerHeartbeat;
  stats(): HeartbeatStats;
}

export interface VipAgentOptions {
  /** This agent's name on the lease; unique among VIP agents. */
  readonly id: string;
  /** The lease both agents of the pair compete for. */
  readonly leaseName: string;
  readonly registry: VipRegistry;
  readonly address: AddressControl;
  /** The VIP `address` controls, for the status. */
  readonly vip: VipAddress;
  readonly heartbeat: HeartbeatLink;
  readonly gateway: { check(): Promise<HealthResult> };
  readonly checkIntervalMs: number;
  /** Longest any one call of a check may take before it counts as failed. Default the interval. */
  readonly callTimeoutMs?: number;
  readonly decision: VipDecisionConfig;
  readonly logger?: VipAgentLogger;
  /** Monotonic milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/**
 * Why these timings would break the agent's guarantees, one sentence per problem; empty when
 * they are usable. Includes the decision core's own relations.
 */
export function vipAgentTimingProblems(
  options: Pick<VipAgentOptions, 'checkIntervalMs' | 'callTimeoutMs' | 'decision'>,
): string[] {
  const { checkIntervalMs, decision } = options;
  const callTimeoutMs = options.callTimeoutMs ?? checkIntervalMs;
  const problems = [...vipDecisionConfigProblems(decision)];
  if (!(checkIntervalMs > 0) || !(callTimeoutMs > 0)) {
    problems.push('checkIntervalMs and callTimeoutMs must be > 0');
  }
  // Decisions are at most an interval plus two calls apart (a slow action, then slow reads).
  if (decision.leaseMarginMs <= checkIntervalMs + 2 * callTimeoutMs) {
    problems.push('leaseMarginMs must exceed checkIntervalMs + 2 × callTimeoutMs');
  }
  // One lost heartbeat must not make the peer look dead.
  if (decision.peerDeadAfterMs < 3 * checkIntervalMs) {
    problems.push('peerDeadAfterMs must be at least 3 × checkIntervalMs');
  }
  return problems;
}

/**
 * One VIP agent. {@link start} begins checking and heartbeating; {@link close} stops, takes
 * the VIP off this host, then releases the lease, so the peer can take over at once.
 */
export class VipAgent {
  private readonly now: () => number;
  private readonly callTimeoutMs: number;
  private readonly journal: AgentJournal;
  private readonly stop = new AbortController();
  private loop: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  /** The gratuitous ARP under way, if any. */
  private announcement: { stop: AbortController; done: Promise<void> } | null = null;

  /**
   * True until the first check reads it: a restarted agent may still have the VIP (a failed
   * clean-up), and its first heartbeats must not say "passive" before it knows — that word
   * lets the peer take the lease and the VIP at once.
   */
  private vipConfigured = true;
  private gatewayFailures = 0;
  private readonly lease: LeaseKnowledge;

  constructor(private readonly options: VipAgentOptions) {
    const problems = vipAgentTimingProblems(options);
    if (problems.length > 0) throw new RangeError(`VIP agent timings: ${problems.join('; ')}`);
    this.now = options.now ?? (() => performance.now());
    this.callTimeoutMs = options.callTimeoutMs ?? options.checkIntervalMs;
    const journal = new AgentJournal(options.logger);
    this.journal = journal;
    this.lease = new LeaseKnowledge({
      self: options.id,
      name: options.leaseName,
      ttlMs: options.decision.leaseTtlMs,
      now: this.now,
      onLost: (epoch, reason) => journal.info('lost the lease', { epoch, reason }),
    });
  }

  /** Starts checking and heartbeating. Calling it again does nothing. */
  start(): void {
    if (this.loop !== null || this.closing !== null) return;
    this.heartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.checkIntervalMs);
    this.loop = this.run();
  }

  /** What the dashboard shows of this agent. */
  status(): VipAgentStatus {
    const { id, vip, heartbeat } = this.options;
    const stats = heartbeat.stats();
    const peer = heartbeat.peer();
    const journal = this.journal.snapshot();
    return {
      id,
      state: this.vipConfigured ? 'active' : 'passive',
      vipConfigured: this.vipConfigured,
      vip: { address: vip.address, prefixLength: vip.prefixLength, device: vip.device },
      lease: this.lease.status(this.provableRemainingMs()),
      peer: {
        id: peer.id,
        heartbeatAgeMs: peer.heartbeatAgeMs === null ? null : Math.round(peer.heartbeatAgeMs),
        claimed: peer.claimed,
        epoch: peer.epoch,
      },
      gatewayFailures: this.gatewayFailures,
      lastDecision: journal.lastDecision,
      lastAction: journal.lastAction,
      counters: {
        claims: journal.claims,
        releases: journal.releases,
        heartbeatsSent: stats.sent,
        heartbeatsReceived: stats.received,
        heartbeatsDropped: Object.values(stats.dropped).reduce((sum, n) => sum + n, 0),
      },
      heartbeatDrops: stats.dropped,
    };
  }

  /** Stops, removes the VIP if it is here, then releases the lease. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * Stops checking and heartbeating at once and leaves everything as it is — the VIP where it
   * is, the lease held — exactly as a killed process would.
   */
  async halt(): Promise<void> {
    this.stopLoop();
    await this.loop;
  }

  private stopLoop(): void {
    this.stop.abort();
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async shutDown(): Promise<void> {
    this.stopLoop();
    await this.loop;
    await this.stopAnnouncing();
    const { address, registry, leaseName, id } = this.options;
    const epoch = this.lease.heldEpoch();
    let configured = await this.within(address.isConfigured()).catch(() => true);
    for (let attempt = 1; configured && attempt <= 3; attempt++) {
      try {
        await address.remove();
        configured = false;
        this.vipConfigured = false;
        this.journal.releasedVip('stopping');
      } catch (error) {
        this.journal.warn('could not remove the VIP', { attempt, error: messageOf(error) });
      }
    }
    this.heartbeat(true);
    if (configured) {
      // Handing the lease over now would let the peer claim while the VIP is still here.
      this.journal.warn('stopping with the VIP still here: the lease is kept until it expires');
    } else if (this.lease.mayHold()) {
      const sentAt = this.now();
      try {
        const answer = await this.within(registry.releaseLease(leaseName, id));
        this.lease.answered(answer.lease, sentAt, true);
        this.journal.info('released the lease', { epoch });
      } catch (error) {
        // It expires on its own; the peer takes over after the TTL instead of at once.
        this.journal.warn('could not release the lease', { error: messageOf(error) });
      }
    }
  }

  private async run(): Promise<void> {
    const { signal } = this.stop;
    while (!signal.aborted) {
      const started = this.now();
      try {
        await this.check();
      } catch (error) {
        // Every step handles its own failures; this is a bug, and the loop must survive it.
        this.journal.warn('check failed', { error: messageOf(error) });
      }
      const wait = Math.max(0, this.options.checkIntervalMs - (this.now() - started));
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One check: observe everything at once, decide, act. */
  private async check(): Promise<void> {
    const { address, gateway, registry, leaseName } = this.options;
    const readSentAt = this.now();
    const [configured, health, read] = await Promise.all([
      this.within(address.isConfigured()).catch((error: unknown) => {
        this.journal.warn('cannot tell whether the VIP is here: assuming it is', {
          error: messageOf(error),
        });
        return true;
      }),
      this.within(gateway.check()).catch((error: unknown): HealthResult => ({
        ok: false,
        detail: messageOf(error),
      })),
      this.within(registry.lease(leaseName)).then(
        (view) => ({ ok: true as const, view }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    ]);
    if (this.stop.signal.aborted) return;
    this.vipConfigured = configured;
    if (health.ok) this.journal.gatewayRecovered(this.gatewayFailures);
    // A probe still pending is no news: the count stays until it answers or gives up.
    if (health.ok) this.gatewayFailures = 0;
    else if (health.pending !== true) this.gatewayFailures++;
    this.journal.gatewayChecked(health, this.gatewayFailures, this.options.decision);
    this.journal.leaseRead(read.ok, read.ok ? undefined : read.error);
    if (read.ok) this.lease.read(read.view, readSentAt);
    else this.lease.unreadable(readSentAt);
    this.journal.peerHeard(this.options.heartbeat.peer(), this.options.decision.peerDeadAfterMs);

    const action = decide(this.observation(), this.options.decision);
    this.journal.decided(action);
    if (action.type !== 'acquire-lease') return this.execute(action);
    if (!(await this.renew(action)) || this.stop.signal.aborted) return;
    // Claim in this same check rather than one interval later: takeover time counts.
    const next = decide(this.observation(), this.options.decision);
    this.journal.decided(next);
    if (next.type === 'claim-vip') await this.execute(next);
  }

  private observation(): VipObservation {
    const peer = this.options.heartbeat.peer();
    return {
      self: this.options.id,
      vipConfigured: this.vipConfigured,
      gatewayFailures: this.gatewayFailures,
      peer: {
        heartbeatAgeMs: peer.heartbeatAgeMs,
        claimed: peer.claimed,
        acknowledgedActiveAgeMs: peer.acknowledgedActiveAgeMs,
        promiseMs: peer.promiseMs,
      },
      ...this.lease.observe(),
    };
  }

  /** What is provably left of our tenure now (0 without one). */
  private provableRemainingMs(): number {
    return provableLeaseRemainingMs(this.observation(), this.options.decision);
  }

  /** Acquires or renews the lease; true when this agent holds it now. */
  private async renew(action: VipAction): Promise<boolean> {
    const { registry, leaseName, id, decision } = this.options;
    const sentAt = this.now();
    let answer;
    try {
      answer = await this.within(registry.acquireLease(leaseName, id, decision.leaseTtlMs));
    } catch (error) {
      // Keep the tenure: its bound keeps shrinking, and the fail-safe drops the VIP in time.
      this.journal.acted(action, 'failed', messageOf(error));
      return false;
    }
    if (!answer.acquired) {
      this.lease.answered(answer.lease, sentAt);
      const holder = answer.lease.holder ?? 'nobody';
      this.journal.acted(action, 'refused', `the lease is held by ${holder}`);
      return false;
    }
    if (this.lease.acquired(answer.lease, sentAt)) {
      this.journal.info('acquired the lease', { epoch: answer.lease.epoch });
    }
    this.journal.acted(action, 'done');
    return true;
  }

  private async execute(action: VipAction): Promise<void> {
    switch (action.type) {
      case 'none':
        return;
      case 'acquire-lease':
      case 'renew-lease':
        await this.renew(action);
        return;
      case 'claim-vip':
        return this.claim(action);
      case 'release-vip':
        return this.releaseVip(action);
      case 'release-lease':
        return this.releaseLease(action);
    }
  }

  private async claim(action: Extract<VipAction, { type: 'claim-vip' }>): Promise<void> {
    const remainingMs = this.provableRemainingMs();
    if (remainingMs <= this.options.decision.leaseMarginMs) {
      this.journal.acted(action, 'refused', `only ${Math.round(remainingMs)} ms of the lease left`);
      return;
    }
    try {
      await this.within(this.options.address.add());
    } catch (error) {
      // It may be there or not; the next check reads it back, and counts it as there until then.
      this.vipConfigured = true;
      this.journal.acted(action, 'failed', messageOf(error));
      return;
    }
    this.vipConfigured = true;
    this.journal.claimedVip(action);
    this.heartbeat();
    this.announce();
  }

  private async releaseVip(action: VipAction): Promise<void> {
    await this.stopAnnouncing();
    try {
      await this.within(this.options.address.remove());
    } catch (error) {
      this.journal.acted(action, 'failed', messageOf(error));
      return;
    }
    this.vipConfigured = false;
    this.journal.releasedVip(action.reason, action);
    // Say so at once: the peer may take over as soon as it also sees the lease free.
    this.heartbeat();
  }

  private async releaseLease(action: VipAction): Promise<void> {
    const { registry, leaseName, id } = this.options;
    const sentAt = this.now();
    try {
      const answer = await this.within(registry.releaseLease(leaseName, id));
      this.lease.answered(answer.lease, sentAt, true);
      this.journal.acted(action, 'done');
      this.journal.info('released the lease', { reason: action.reason });
    } catch (error) {
      this.journal.acted(action, 'failed', messageOf(error));
    }
  }

  /** Gratuitous ARP in the background: it takes a second or two and must not hold up checks. */
  private announce(): void {
    const stop = new AbortController();
    const done = this.options.address.announce(stop.signal).then(
      () => {
        if (!stop.signal.aborted) this.journal.info('announced the VIP (gratuitous ARP)');
      },
      (error: unknown) => {
        if (!stop.signal.aborted) {
          this.journal.warn('could not announce the VIP', { error: messageOf(error) });
        }
      },
    );
    this.announcement = { stop, done };
  }

  /** Ends an announcement still under way; called before the VIP is taken off. */
  private async stopAnnouncing(): Promise<void> {
    const announcement = this.announcement;
    this.announcement = null;
    if (announcement === null) return;
    announcement.stop.abort();
    await announcement.done;
  }

  private heartbeat(force = false): void {
    if (this.stop.signal.aborted && !force) return;
    this.options.heartbeat.send(this.vipConfigured ? 'active' : 'passive', this.lease.epoch());
  }

  /** `promise`, or a rejection once the call timeout passes (the call itself may go on). */
  private within<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.callTimeoutMs} ms`)),
        this.callTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
