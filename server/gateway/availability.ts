/**
 * Whether the logic services can answer, as far as the gateway can tell, and `/readyz`.
 *
 * The replica directory (gossip) says when a service has no replica up, but gossip is
 * hearsay: after a partition heals, the side that was cut off tells everyone that the members
 * it could not reach are dead, and until those refute it (seconds) the directory may call a
 * service down whose replicas are serving. So the services' own answers are remembered, and
 * an answer that arrived after the directory gave up on the service (or within the grace
 * before) proves it wrong and wins.
 */
import { isAgendaError, Unavailable } from '../../contract/errors.js';
import type { HealthAnswer } from '../../contract/api.js';
import type { ServiceName } from '../protocol/ops.js';
import { withDeadline } from './deadline.js';
import type { ReadinessProbe, ReplicaDirectory } from './ports.js';

/** Every service a request may need: `/readyz` wants a replica of each. */
const SERVICES: readonly ServiceName[] = ['users', 'groups'];
/** Orchestrators poll `/readyz` often; a probe that hangs must not pile requests up. */
const READINESS_TIMEOUT_MS = 2_000;

export interface ServiceAvailabilityOptions {
  /** Whether the bus and services can be reached. */
  readonly readiness: ReadinessProbe;
  /** Which services have a replica up; without it no service is ever called down. */
  readonly replicas?: ReplicaDirectory;
  /** How long before the directory's verdict an answer still contradicts it. Default 0. */
  readonly answerGraceMs?: number;
}

/** The gateway's verdict on each service, from the directory and the answers it saw. */
export class ServiceAvailability {
  /** When each service last answered a request (performance.now()). */
  private readonly answeredAt = new Map<ServiceName, number>();
  /** Since when the replica directory has said, without a break, that a service is down. */
  private readonly downSince = new Map<ServiceName, number>();

  constructor(private readonly options: ServiceAvailabilityOptions) {}

  /** Records that `service` answered a request just now. */
  answered(service: ServiceName): void {
    this.answeredAt.set(service, performance.now());
  }

  /**
   * Why no replica of `service` can answer, when the replica directory says so and no
   * answer of the service contradicts it; null when one may.
   */
  certainlyDown(service: ServiceName): string | null {
    const down = this.options.replicas?.unavailable(service) ?? null;
    if (down === null) {
      this.downSince.delete(service);
      return null;
    }
    let since = this.downSince.get(service);
    if (since === undefined) {
      since = performance.now();
      this.downSince.set(service, since);
    }
    const answered = this.answeredAt.get(service) ?? -Infinity;
    return answered >= since - (this.options.answerGraceMs ?? 0) ? null : down;
  }

  /**
   * `/readyz`: ready when the probe says so within {@link READINESS_TIMEOUT_MS} and (with
   * gossip) no service is known to have lost every replica; otherwise rejects with
   * `Unavailable` saying why.
   */
  async readiness(): Promise<HealthAnswer> {
    let probe: { readonly ready: boolean; readonly reason?: string };
    try {
      probe = await withDeadline(
        () => this.options.readiness(),
        null,
        () => new Unavailable('the readiness check did not answer in time'),
        READINESS_TIMEOUT_MS,
      );
    } catch (error) {
      if (isAgendaError(error)) throw error;
      throw new Unavailable(
        `the readiness check failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!probe.ready) throw new Unavailable(probe.reason ?? 'not ready');
    for (const service of SERVICES) {
      const down = this.certainlyDown(service);
      if (down !== null) throw new Unavailable(down);
    }
    return { ok: true };
  }
}
