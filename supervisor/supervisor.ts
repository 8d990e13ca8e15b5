/**
 * The Redis supervisor daemon: every check interval it renews (or watches) the supervisors'
 * lease, reads the recorded primary, checks every Redis instance, asks {@link decide} what to
 * do and does it. Several run at once (one per main host); the lease makes exactly one of
 * them act, and the registry's compare-and-set makes a stale actor's write fail.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PRIMARY_REGISTRY_KEY, PrimaryRegistryValue } from '../server/bus/primary-source.js';
import { countPrimaryFailures, decide, formatAddress } from './decide.js';
import type {
  LeaseObservation,
  Observation,
  ObservedInstance,
  RecordedPrimaryObservation,
  RedisAddress,
  SupervisorAction,
} from './decide.js';
import type { RedisInstance } from './redis-control.js';
import type { Registry } from './registry.js';

/** The lease every supervisor competes for. */
export const SUPERVISOR_LEASE = 'redis-supervisor';

/** What the supervisor needs from a logger; `fields` are plain data. */
export interface SupervisorLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

const silent: SupervisorLogger = { debug() {}, info() {}, warn() {} };

export interface SupervisorOptions {
  /** This supervisor's name on the lease; unique among supervisors. */
  readonly id: string;
  readonly registry: Registry;
  /** Every Redis instance (primary and replicas), in configuration order. */
  readonly instances: readonly RedisInstance[];
  /** Consecutive failed checks of the primary before failing over. */
  readonly failureThreshold: number;
  readonly checkIntervalMs: number;
  /** Lease time to live. Default: three check intervals plus one of margin. */
  readonly leaseTtlMs?: number;
  readonly logger?: SupervisorLogger;
}

/** An action carried out, or attempted. */
export interface ActionRecord {
  readonly action: SupervisorAction;
  /** Wall-clock ms when it finished. */
  readonly at: number;
  readonly outcome: 'done' | 'refused' | 'failed';
  readonly detail?: string;
}

/** One failover this supervisor recorded in the registry. */
export interface FailoverRecord {
  readonly at: number;
  readonly from: RedisAddress;
  readonly to: RedisAddress;
  /** The registry epoch of the new primary. */
  readonly epoch: number;
}

/** What the dashboard shows of one supervisor. */
export interface SupervisorStatus {
  readonly id: string;
  /** Whether this supervisor holds the lease (and so is the one acting). */
  readonly holding: boolean;
  /** The lease holder and epoch as last seen; null when unknown. */
  readonly leaseHolder: string | null;
  readonly leaseEpoch: number | null;
  readonly recordedPrimary: (RedisAddress & { readonly epoch: number }) | null;
  readonly primaryFailures: number;
  readonly lastDecision: SupervisorAction | null;
  /** The last action other than `none`. */
  readonly lastAction: ActionRecord | null;
  readonly instances: readonly ObservedInstance[];
  /** Failovers this supervisor recorded, oldest first (the last 20). */
  readonly failovers: readonly FailoverRecord[];
}

const FAILOVERS_KEPT = 20;

/**
 * One supervisor. {@link start} begins checking; {@link close} stops, releases the lease if
 * held and closes the Redis connections.
 */
export class Supervisor {
  private readonly ttlMs: number;
  private readonly logger: SupervisorLogger;
  private readonly stop = new AbortController();
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  private holding = false;
  /** Local time until which our lease surely holds: measured from before the renewal was sent. */
  private leaseValidUntil = 0;
  private leaseHolder: string | null = null;
  private leaseEpoch: number | null = null;
  private recorded: (RedisAddress & { epoch: number }) | null = null;
  private failures: { primary: RedisAddress | null; failures: number } = {
    primary: null,
    failures: 0,
  };
  private lastDecision: SupervisorAction | null = null;
  private lastReason: string | null = null;
  private lastAction: ActionRecord | null = null;
  private observed: readonly ObservedInstance[] = [];
  private readonly failovers: FailoverRecord[] = [];

  constructor(private readonly options: SupervisorOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError('failureThreshold must be an integer of at least 1');
    }
    this.ttlMs = options.leaseTtlMs ?? options.checkIntervalMs * 4;
    this.logger = options.logger ?? silent;
  }

  /** Starts the check loop. Calling it again does nothing. */
  start(): void {
    this.loop ??= this.run();
  }

  status(): SupervisorStatus {
    return {
      id: this.options.id,
      holding: this.holding,
      leaseHolder: this.leaseHolder,
      leaseEpoch: this.leaseEpoch,
      recordedPrimary: this.recorded,
      primaryFailures: this.failures.failures,
      lastDecision: this.lastDecision,
      lastAction: this.lastAction,
      instances: this.observed,
      failovers: [...this.failovers],
    };
  }

  /** Stops checking, releases the lease if held, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      await this.loop;
      if (this.holding) {
        this.holding = false;
        try {
          await this.options.registry.releaseLease(SUPERVISOR_LEASE, this.options.id);
          this.logger.info('released the lease', { epoch: this.leaseEpoch });
        } catch (error) {
          // It expires on its own; the others take over after the TTL instead of at once.
          this.logger.warn('could not release the lease', { error: messageOf(error) });
        }
      }
      for (const instance of this.options.instances) instance.close();
    })();
    return this.closing;
  }

  private async run(): Promise<void> {
    const { signal } = this.stop;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.check();
      } catch (error) {
        // Every step handles its own failures; this is a bug, and the loop must survive it.
        this.logger.warn('check failed', { error: messageOf(error) });
      }
      const wait = Math.max(0, this.options.checkIntervalMs - (Date.now() - started));
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One check: observe everything at once, decide, act. */
  private async check(): Promise<void> {
    const [lease, recordedPrimary, instances] = await Promise.all([
      this.observeLease(),
      this.observeRecordedPrimary(),
      Promise.all(
        this.options.instances.map(async (instance): Promise<ObservedInstance> => ({
          address: instance.address,
          health: await instance.check(),
        })),
      ),
    ]);
    if (this.stop.signal.aborted) return;
    this.observed = instances;
    this.failures = countPrimaryFailures(
      this.failures,
      recordedPrimary.kind === 'recorded' ? recordedPrimary.address : null,
      instances,
    );
    const observation: Observation = {
      lease,
      recordedPrimary,
      instances,
      primaryFailures: this.failures.failures,
    };
    let action = decide(observation, this.options);
    if (action.type === 'acquire-lease') {
      this.note(action);
      const acquired = await this.acquire();
      if (acquired === null) return;
      // Act on this same check rather than one interval later: takeover time counts.
      action = decide({ ...observation, lease: acquired }, this.options);
    }
    this.note(action);
    await this.execute(action);
  }

  private async observeLease(): Promise<LeaseObservation> {
    if (this.holding) return (await this.acquire()) ?? { kind: 'unknown' };
    try {
      const lease = await this.options.registry.lease(SUPERVISOR_LEASE);
      this.leaseHolder = lease?.expired === false ? lease.holder : null;
      this.leaseEpoch = lease?.epoch ?? null;
      if (lease === null || lease.expired || lease.holder === null) return { kind: 'free' };
      // Our own name on a live lease (say, from before a restart): renewing it is acquiring.
      if (lease.holder === this.options.id) return { kind: 'free' };
      return { kind: 'held-by-other', holder: lease.holder, epoch: lease.epoch };
    } catch (error) {
      this.forgetLease('cannot read the lease', error);
      return { kind: 'unknown' };
    }
  }

  /** Acquires or renews the lease; null when the DB did not answer (then we do not hold it). */
  private async acquire(): Promise<LeaseObservation | null> {
    const sentAt = Date.now();
    try {
      const answer = await this.options.registry.acquireLease(
        SUPERVISOR_LEASE,
        this.options.id,
        this.ttlMs,
      );
      this.leaseHolder = answer.lease.holder;
      this.leaseEpoch = answer.lease.epoch;
      if (!answer.acquired) {
        if (this.holding) this.logger.warn('lost the lease', { holder: answer.lease.holder });
        this.holding = false;
        return answer.lease.holder === null
          ? { kind: 'free' }
          : { kind: 'held-by-other', holder: answer.lease.holder, epoch: answer.lease.epoch };
      }
      if (!answer.renewed) this.logger.info('acquired the lease', { epoch: answer.lease.epoch });
      this.holding = true;
      // The DB counts the TTL from when its leader stamped the command, which is after we
      // sent it: counting from the send keeps our estimate on the safe side.
      this.leaseValidUntil = sentAt + this.ttlMs;
      return { kind: 'held', epoch: answer.lease.epoch };
    } catch (error) {
      this.forgetLease('cannot renew the lease', error);
      return null;
    }
  }

  /** Cut off from the DB: we may no longer hold the lease, so we stop acting. */
  private forgetLease(message: string, error: unknown): void {
    if (this.holding) this.logger.warn(`${message}: stopping`, { error: messageOf(error) });
    this.holding = false;
    this.leaseHolder = null;
    this.leaseEpoch = null;
  }

  private async observeRecordedPrimary(): Promise<RecordedPrimaryObservation> {
    let entry;
    try {
      entry = await this.options.registry.entry(PRIMARY_REGISTRY_KEY);
    } catch {
      return { kind: 'unknown' };
    }
    if (entry === null) {
      this.recorded = null;
      return { kind: 'absent' };
    }
    let parsed;
    try {
      parsed = PrimaryRegistryValue.safeParse(JSON.parse(entry.value));
    } catch {
      parsed = null;
    }
    if (parsed === null || !parsed.success) {
      this.logger.warn('the recorded primary is not {host, port}', { value: entry.value });
      return { kind: 'unknown' };
    }
    const address = { host: parsed.data.host, port: parsed.data.port };
    this.recorded = { ...address, epoch: entry.epoch };
    return { kind: 'recorded', address, epoch: entry.epoch };
  }

  /** Logs every decision: at info when it changes, at debug when it repeats. */
  private note(action: SupervisorAction): void {
    this.lastDecision = action;
    const reason = action.type === 'none' ? action.reason : action.type;
    const fields = { ...describe(action), failures: this.failures.failures };
    if (reason !== this.lastReason) this.logger.info('decision', fields);
    else this.logger.debug('decision', fields);
    this.lastReason = reason;
  }

  private async execute(action: SupervisorAction): Promise<void> {
    switch (action.type) {
      case 'none':
      case 'acquire-lease':
        return;
      case 'promote':
        return this.attempt(action, () => this.promote(action));
      case 'demote':
      case 'reconfigure-replica': {
        const instance = this.instanceAt(action.instance);
        return this.attempt(action, async () => {
          await instance.follow(action.primary);
          return { outcome: 'done' };
        });
      }
    }
  }

  private async promote(
    action: Extract<SupervisorAction, { type: 'promote' }>,
  ): Promise<{ outcome: ActionRecord['outcome']; detail?: string }> {
    // The renewal may have been slow: never start a promotion on a lease that may have lapsed.
    if (Date.now() >= this.leaseValidUntil) {
      return { outcome: 'refused', detail: 'the lease may have expired during the check' };
    }
    await this.instanceAt(action.replica).promote();
    const value = JSON.stringify({ host: action.replica.host, port: action.replica.port });
    const written = await this.options.registry.compareAndSet(
      PRIMARY_REGISTRY_KEY,
      action.expectedEpoch,
      value,
    );
    if (!written.applied) {
      // Someone recorded another primary meanwhile; the next check aligns with it.
      return {
        outcome: 'refused',
        detail: `the registry moved on to epoch ${written.current?.epoch ?? 'none'}`,
      };
    }
    const failover: FailoverRecord = {
      at: Date.now(),
      from: action.failed,
      to: action.replica,
      epoch: written.entry.epoch,
    };
    this.failovers.push(failover);
    if (this.failovers.length > FAILOVERS_KEPT) this.failovers.shift();
    this.recorded = { ...action.replica, epoch: written.entry.epoch };
    this.logger.info('failed over', {
      from: formatAddress(action.failed),
      to: formatAddress(action.replica),
      epoch: written.entry.epoch,
    });
    return { outcome: 'done', detail: `recorded at epoch ${written.entry.epoch}` };
  }

  private async attempt(
    action: SupervisorAction,
    run: () => Promise<{ outcome: ActionRecord['outcome']; detail?: string }>,
  ): Promise<void> {
    let record: ActionRecord;
    try {
      const { outcome, detail } = await run();
      record = { action, at: Date.now(), outcome, ...(detail === undefined ? {} : { detail }) };
    } catch (error) {
      record = { action, at: Date.now(), outcome: 'failed', detail: messageOf(error) };
    }
    this.lastAction = record;
    const fields = { ...describe(action), outcome: record.outcome, detail: record.detail };
    if (record.outcome === 'done') this.logger.info('action', fields);
    else this.logger.warn('action', fields);
  }

  private instanceAt(address: RedisAddress): RedisInstance {
    const instance = this.options.instances.find(
      (i) => i.address.host === address.host && i.address.port === address.port,
    );
    // decide() only names instances it was shown, which are exactly these.
    if (instance === undefined) throw new Error(`no instance at ${formatAddress(address)}`);
    return instance;
  }
}

/** An action as log fields. */
function describe(action: SupervisorAction): Record<string, unknown> {
  switch (action.type) {
    case 'none':
      return { action: 'none', reason: action.reason };
    case 'acquire-lease':
      return { action: 'acquire-lease' };
    case 'promote':
      return {
        action: 'promote',
        replica: formatAddress(action.replica),
        failed: formatAddress(action.failed),
        expectedEpoch: action.expectedEpoch,
      };
    case 'demote':
    case 'reconfigure-replica':
      return {
        action: action.type,
        instance: formatAddress(action.instance),
        primary: formatAddress(action.primary),
      };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
