/**
 * The record of what a listener refused a role: a counter per (role, operation) and one log
 * line the first time each pair is refused. A misconfigured daemon or an intruder repeating
 * a refused call thousands of times a second leaves one line and a growing count, never a
 * flood; the pairs are bounded (a handful of roles times the listener's operations), so so
 * is the memory.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../base/log.js';
import type { ClusterRole } from '../../base/cluster-role.js';

export const ACCESS_REFUSED_METRIC = 'agenda_access_refused_total';

export interface AccessRefusalsOptions {
  readonly logger: Pick<Logger, 'warn'>;
  /** Where the counter is registered (the daemon's `/metrics`); none in some tests. */
  readonly registry?: Registry;
}

export class AccessRefusals {
  private readonly logged = new Set<string>();
  private readonly counter: Counter<'role' | 'operation'> | null;

  constructor(private readonly options: AccessRefusalsOptions) {
    this.counter =
      options.registry === undefined
        ? null
        : new Counter({
            name: ACCESS_REFUSED_METRIC,
            help: 'Calls refused because the caller certificate role may not make them, by role and operation.',
            labelNames: ['role', 'operation'],
            registers: [options.registry],
          });
  }

  /**
   * Counts one refusal of `operation` to `role` (null: a certificate naming no role); logs
   * the first of each pair. `operation` must come from a bounded set (a store command type
   * the protocol knows, a route), never from raw input.
   */
  refused(role: ClusterRole | null, operation: string, reason: string): void {
    const roleLabel = role ?? 'none';
    this.counter?.inc({ role: roleLabel, operation });
    const key = `${roleLabel} ${operation}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.options.logger.warn('refused a call the caller role may not make', {
      role: roleLabel,
      operation,
      reason,
      note: 'logged once per role and operation; agenda_access_refused_total counts them all',
    });
  }
}
