/**
 * The failovers that happened before the dashboard started, read from the cluster itself:
 * the DB registry keeps the newest tenures of each lease and writes of each key
 * (`registry_history`, server/store/registry.ts: the last 50 of each). From them:
 *
 * - the supervisor lease's holders and epochs (a new epoch is a supervisor failover, or a
 *   holder re-acquiring after its lease lapsed);
 * - the VIP lease's (the VIP agents, hence the VIP's host);
 * - the Redis primary the supervisor recorded, with its fencing epoch.
 *
 * Not covered: DB leader changes (Raft keeps no history of leaders; the current term bounds
 * how many elections there were), and anything older than what the registry kept or from
 * before the store recorded history (schema 9).
 */
import type { RegistryHistoryEntry } from '../server/store/protocol.js';
import type { FailoverEvent } from './model.js';

export interface RecordedHistory {
  supervisor?: readonly RegistryHistoryEntry[];
  vip?: readonly RegistryHistoryEntry[];
  primary?: readonly RegistryHistoryEntry[];
}

/**
 * The recorded changes as failover events, oldest first. `redisName` names an instance by
 * its address (`host:port`), as the description does; unknown addresses are shown as they are.
 */
export function recordedFailovers(
  history: RecordedHistory,
  redisName: (address: string) => string | undefined = () => undefined,
): FailoverEvent[] {
  const events: FailoverEvent[] = [];
  const leases = (
    entries: readonly RegistryHistoryEntry[] | undefined,
    kind: 'supervisor' | 'vip',
    what: string,
  ) => {
    let before: RegistryHistoryEntry | undefined;
    for (const entry of entries ?? []) {
      const from = before?.holder ?? '?';
      events.push({
        at: entry.at,
        kind,
        recorded: true,
        message:
          before !== undefined && before.holder === entry.holder
            ? `${what} re-acquired by ${entry.holder ?? '?'} after it lapsed (epoch ${entry.epoch})`
            : `${what} ${before === undefined ? '' : `${from} → `}${entry.holder ?? 'free'} (epoch ${entry.epoch})`,
      });
      before = entry;
    }
  };
  leases(history.supervisor, 'supervisor', 'supervisor lease');
  leases(history.vip, 'vip', 'VIP lease');
  let before: string | undefined;
  for (const entry of history.primary ?? []) {
    const address = primaryAddress(entry.holder);
    const name = address === undefined ? '?' : (redisName(address) ?? address);
    events.push({
      at: entry.at,
      kind: 'redis-primary',
      recorded: true,
      message: `Redis primary ${before === undefined ? '' : `${before} → `}${name} (epoch ${entry.epoch})`,
    });
    before = name;
  }
  // Stable: equal times keep the order above.
  return events.sort((a, b) => a.at - b.at);
}

/** The `host:port` of a recorded Redis primary (`{"host","port"}`), if it is one. */
function primaryAddress(value: string | null): string | undefined {
  if (value === null) return undefined;
  try {
    const { host, port } = JSON.parse(value) as { host?: unknown; port?: unknown };
    return typeof host === 'string' && typeof port === 'number' ? `${host}:${port}` : undefined;
  } catch {
    return undefined;
  }
}
