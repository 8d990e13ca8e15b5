/**
 * What a VIP agent tells its operators: a JSON log line at every change of state — the VIP
 * claimed or released, the lease gained or lost, the gateway or the DB or the peer coming or
 * going, a new kind of decision — always with the reason, and the counters and last action
 * its status shows. Repeats are not logged: a check runs ten times a second, and a log that
 * says the same thing ten times a second hides the one line that matters.
 */
import type { PeerClaim, VipAction, VipDecisionConfig } from './decide.js';
import type { HealthResult } from './gateway-health.js';
import type { HeartbeatDropReason, PeerHeartbeat } from './heartbeat.js';

/** What the agent needs from a logger (`jsonLogger` of `base/log.ts` fits). */
export interface VipAgentLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Decisions that are the steady state's heartbeat, not news (see {@link AgentJournal.decided}). */
const ROUTINE = new Set(['renew-lease: # ms of the lease left']);

const silent: VipAgentLogger = { debug() {}, info() {}, warn() {} };

/** An action carried out, or attempted. */
export interface ActionRecord {
  readonly type: VipAction['type'];
  readonly reason: string;
  /** Wall-clock ms when it finished. */
  readonly at: number;
  readonly outcome: 'done' | 'refused' | 'failed';
  readonly detail?: string;
}

/** `GET /v1/status` of a VIP agent: plain data, for the dashboard and the lab. */
export interface VipAgentStatus {
  readonly id: string;
  /** `active` exactly when the VIP is configured on this host. */
  readonly state: 'active' | 'passive';
  readonly vipConfigured: boolean;
  readonly vip: {
    readonly address: string;
    readonly prefixLength: number;
    readonly device: string;
  };
  readonly lease: {
    readonly name: string;
    /** How this agent reads the lease: its own, someone else's, nobody's, or unknown (DB unreachable). */
    readonly kind: 'mine' | 'other' | 'free' | 'unknown';
    /** The live holder as last read; null when free or never read. */
    readonly holder: string | null;
    readonly epoch: number | null;
    /** Expiry on the DB's clock (ms since the epoch), as last read. */
    readonly expiresAt: number | null;
    /** What is provably left of this agent's own tenure; null when it holds none. */
    readonly remainingMs: number | null;
    /** Age of the lease knowledge, from when its request was sent. */
    readonly readAgeMs: number;
  };
  readonly peer: {
    readonly id: string;
    readonly heartbeatAgeMs: number | null;
    readonly claimed: PeerClaim;
    readonly epoch: number | null;
  };
  /** Consecutive failed health checks of the local gateway. */
  readonly gatewayFailures: number;
  readonly lastDecision: { readonly type: VipAction['type']; readonly reason: string } | null;
  /** The last action other than `none`. */
  readonly lastAction: ActionRecord | null;
  readonly counters: {
    readonly claims: number;
    readonly releases: number;
    readonly heartbeatsSent: number;
    readonly heartbeatsReceived: number;
    readonly heartbeatsDropped: number;
  };
  /** Dropped heartbeats by reason. */
  readonly heartbeatDrops: Readonly<Record<HeartbeatDropReason, number>>;
}

/** The log and the record of one agent. */
export class AgentJournal {
  private readonly logger: VipAgentLogger;
  private lastDecision: { type: VipAction['type']; reason: string } | null = null;
  private lastDecisionShape: string | null = null;
  private lastAction: ActionRecord | null = null;
  private claims = 0;
  private releases = 0;
  private leaseReadable: boolean | null = null;
  private peerShape: string | null = null;

  constructor(logger: VipAgentLogger | undefined) {
    this.logger = logger ?? silent;
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.logger.info(message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.logger.warn(message, fields);
  }

  snapshot(): Pick<VipAgentStatus, 'lastDecision' | 'lastAction'> & {
    claims: number;
    releases: number;
  } {
    return {
      lastDecision: this.lastDecision,
      lastAction: this.lastAction,
      claims: this.claims,
      releases: this.releases,
    };
  }

  /** Logs the first failure, the crossing of the threshold, and the recovery. */
  gatewayChecked(health: HealthResult, failures: number, config: VipDecisionConfig): void {
    if (!health.ok && health.pending !== true) {
      if (failures === 1) this.warn('gateway health check failed', { detail: health.detail });
      if (failures === config.gatewayFailureThreshold) {
        this.warn('gateway unhealthy', { failures, detail: health.detail });
      }
    }
  }

  /** Logs the recovery of the gateway after `previousFailures` consecutive failures. */
  gatewayRecovered(previousFailures: number): void {
    if (previousFailures > 0) this.info('gateway healthy again', { previousFailures });
  }

  /** Logs when the DB stops or starts answering lease reads. */
  leaseRead(ok: boolean, error?: unknown): void {
    if (ok === this.leaseReadable) return;
    if (ok) {
      if (this.leaseReadable !== null) this.info('the lease can be read again');
    } else {
      this.warn('cannot read the lease (DB unreachable?)', { error: messageOf(error) });
    }
    this.leaseReadable = ok;
  }

  /** Logs when the peer comes alive, dies, or announces another state. */
  peerHeard(peer: PeerHeartbeat, deadAfterMs: number): void {
    const alive = peer.heartbeatAgeMs !== null && peer.heartbeatAgeMs <= deadAfterMs;
    const shape = alive ? peer.claimed : 'silent';
    if (shape === this.peerShape) return;
    this.peerShape = shape;
    this.info(alive ? `peer is ${peer.claimed}` : 'peer is silent', {
      peer: peer.id,
      heartbeatAgeMs: peer.heartbeatAgeMs === null ? null : Math.round(peer.heartbeatAgeMs),
    });
  }

  /**
   * Records a decision; logs it when its kind (the reason without its numbers) changes. The
   * routine renewal is left out, or the holder's log would alternate between it and "holding"
   * three times a second.
   */
  decided(action: VipAction): void {
    this.lastDecision = { type: action.type, reason: action.reason };
    const shape = `${action.type}: ${action.reason.replace(/\d+/g, '#')}`;
    if (shape === this.lastDecisionShape || ROUTINE.has(shape)) return;
    this.lastDecisionShape = shape;
    this.info('decision', { action: action.type, reason: action.reason });
  }

  /** Records an action's outcome; failures and refusals are logged, routine successes not. */
  acted(action: VipAction, outcome: ActionRecord['outcome'], detail?: string): void {
    this.lastAction = {
      type: action.type,
      reason: action.reason,
      at: Date.now(),
      outcome,
      ...(detail === undefined ? {} : { detail }),
    };
    if (outcome !== 'done') {
      this.warn('action', { action: action.type, outcome, detail, reason: action.reason });
    }
  }

  claimedVip(action: Extract<VipAction, { type: 'claim-vip' }>): void {
    this.claims++;
    this.acted(action, 'done');
    this.info('claimed the VIP', { epoch: action.epoch, reason: action.reason });
  }

  releasedVip(reason: string, action?: VipAction): void {
    this.releases++;
    if (action !== undefined) this.acted(action, 'done');
    this.info('released the VIP', { reason });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
