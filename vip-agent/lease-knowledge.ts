/**
 * What a VIP agent knows of the lease: the last answer the DB gave about it, and the agent's
 * own tenure (the epoch it holds and when it last renewed it). This is where the agent keeps
 * its measurements honest, because {@link decide} is only as safe as they are:
 *
 * - Ages run on a monotonic clock from when the request was *sent*, so they are never
 *   smaller than the truth: a renewal sent at `s` holds the lease until at least `s + ttl` as
 *   the DB sees it (the DB stamps it later than `s`).
 * - The agent's own remaining time comes from its own renewals, never from the DB's wall
 *   clock, which this host's clock may not agree with. Its name on a lease it has no tenure
 *   of (say, from before a restart) counts as nothing left, so it renews before relying on it.
 */
import type { LeaseView } from '../server/store/protocol.js';
import type { VipLeaseObservation, VipObservation } from './decide.js';
import type { VipAgentStatus } from './journal.js';

/** The agent's current tenure: the epoch it holds, and when its last renewal was sent. */
interface Tenure {
  readonly epoch: number;
  readonly sentAt: number;
}

/** One agent's lease knowledge; every method takes the monotonic time its request was sent. */
export class LeaseKnowledge {
  private tenure: Tenure | null = null;
  private observation: VipLeaseObservation = { kind: 'unknown' };
  private view: LeaseView | null = null;
  private sentAt: number;

  constructor(
    private readonly options: {
      readonly self: string;
      readonly name: string;
      readonly ttlMs: number;
      readonly now: () => number;
      /** Told when a tenure ends other than by release (for the log). */
      readonly onLost: (epoch: number, reason: string) => void;
    },
  ) {
    this.sentAt = options.now();
  }

  /** The lease parts of a {@link VipObservation}, as of now. */
  observe(): Pick<VipObservation, 'lease' | 'leaseReadAgeMs' | 'lastRenewedAgoMs'> {
    const now = this.options.now();
    return {
      lease: this.observation,
      leaseReadAgeMs: now - this.sentAt,
      lastRenewedAgoMs: this.tenure === null ? null : now - this.tenure.sentAt,
    };
  }

  /** A `lease.get` answer (null: never acquired by anyone). */
  read(view: LeaseView | null, sentAt: number): void {
    this.learn(view, sentAt);
  }

  /** The DB did not answer: keep the tenure (its bound keeps shrinking), know nothing else. */
  unreadable(sentAt: number): void {
    this.observation = { kind: 'unknown' };
    this.sentAt = sentAt;
  }

  /** A `lease.acquire` that succeeded: a tenure begins or goes on. True for a new epoch. */
  acquired(view: LeaseView, sentAt: number): boolean {
    const fresh = this.tenure?.epoch !== view.epoch;
    this.tenure = { epoch: view.epoch, sentAt };
    // The DB set the expiry to its own "now" plus the TTL: that is what it had left.
    this.observation = { kind: 'mine', epoch: view.epoch, remainingMs: this.options.ttlMs };
    this.view = view;
    this.sentAt = sentAt;
    return fresh;
  }

  /** A `lease.acquire` refused, or a `lease.release` answered: the lease as it now is. */
  answered(view: LeaseView | null, sentAt: number, released = false): void {
    if (released) this.tenure = null;
    this.learn(view, sentAt);
  }

  /** Whether this agent may hold the lease: a tenure, or its name on the last view. */
  mayHold(): boolean {
    return this.tenure !== null || this.view?.holder === this.options.self;
  }

  /** The epoch for heartbeats: the one held, else the last seen, else 0. */
  epoch(): number {
    return this.tenure?.epoch ?? this.view?.epoch ?? 0;
  }

  /** The tenure's epoch, or null without one. */
  heldEpoch(): number | null {
    return this.tenure?.epoch ?? null;
  }

  /** The status's `lease` section; `provableRemainingMs` is decide()'s bound for now. */
  status(provableRemainingMs: number): VipAgentStatus['lease'] {
    const view = this.view;
    const mine = this.tenure !== null && this.observation.kind === 'mine';
    return {
      name: this.options.name,
      kind: this.observation.kind,
      holder: view !== null && !view.expired ? view.holder : null,
      epoch: view?.epoch ?? null,
      expiresAt: view?.expiresAt ?? null,
      remainingMs: mine ? Math.round(provableRemainingMs) : null,
      readAgeMs: Math.round(this.options.now() - this.sentAt),
    };
  }

  private learn(view: LeaseView | null, sentAt: number): void {
    this.view = view;
    this.sentAt = sentAt;
    this.observation = this.classify(view, sentAt);
  }

  private classify(view: LeaseView | null, sentAt: number): VipLeaseObservation {
    if (view === null || view.expired || view.holder === null) {
      this.lose('the lease is free');
      return { kind: 'free' };
    }
    if (view.holder === this.options.self) {
      const tenure = this.tenure;
      if (tenure !== null && tenure.epoch === view.epoch) {
        const remainingMs = this.options.ttlMs - (sentAt - tenure.sentAt);
        return { kind: 'mine', epoch: view.epoch, remainingMs: Math.max(0, remainingMs) };
      }
      this.lose(`the lease names this agent at epoch ${view.epoch}, not a tenure it knows`);
      return { kind: 'mine', epoch: view.epoch, remainingMs: 0 };
    }
    this.lose(`the lease is held by ${view.holder}`);
    // An estimate across two clocks: decide() never relies on another holder's time.
    return {
      kind: 'other',
      holder: view.holder,
      remainingMs: Math.max(0, view.expiresAt - Date.now()),
    };
  }

  private lose(reason: string): void {
    if (this.tenure === null) return;
    this.options.onLost(this.tenure.epoch, reason);
    this.tenure = null;
  }
}
