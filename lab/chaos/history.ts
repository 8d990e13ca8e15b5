/**
 * From what the load recorded to what the verdicts need: the history the linearizability
 * checker reads, and the client-visible unavailability around a fault.
 *
 * The load reports finished operations with times of the machine-wide monotonic clock
 * (`protocol.ts`), so the history is assembled here rather than with the checker's
 * `HistoryRecorder`, which stamps times itself in the recording process.
 */
import type { AgendaOperation } from './model.js';
import type { OpRecord, UserReadBack } from './protocol.js';

/**
 * The checker's view of a run. Acknowledged creates are known to have taken effect between
 * their first attempt and their acknowledgement; creates whose outcome is unknown may have
 * taken effect at any point after their first attempt, or never; successful reads saw what
 * they listed. Refused creates (a definitive 4xx) are left out, as are failed reads: neither
 * may change an agenda, so a later read that shows a refused title fails the check, as it
 * should. The read-back after the scenario is one more read per user, by client
 * `readBackClient + i` for the i-th user: it pins down the final state, so an acknowledged
 * create that is missing at the end makes the history non-linearizable too.
 */
export function historyOf(
  records: readonly OpRecord[],
  readBack: readonly UserReadBack[],
  readBackClient: number,
): AgendaOperation[] {
  const history: AgendaOperation[] = [];
  for (const record of records) {
    const { client: clientId, user, call } = record;
    if (record.kind === 'create') {
      const input = { kind: 'create', user, title: record.title } as const;
      if (record.outcome === 'acked') {
        history.push({ clientId, input, call, return: record.return, output: { kind: 'create' } });
      } else if (record.outcome === 'unknown') {
        history.push({ clientId, input, call, return: null, output: null });
      }
    } else if (record.outcome === 'ok') {
      history.push({
        clientId,
        input: { kind: 'read', user },
        call,
        return: record.return,
        output: { kind: 'read', titles: record.titles },
      });
    }
  }
  readBack.forEach((agenda, index) => {
    history.push({
      clientId: readBackClient + index,
      input: { kind: 'read', user: agenda.user },
      call: agenda.call,
      return: agenda.return,
      output: { kind: 'read', titles: agenda.titles },
    });
  });
  return history;
}

/** The instants at which clients learned of a success: acknowledged creates and answered reads. */
export function successTimes(
  records: readonly OpRecord[],
  which: 'all' | 'creates' = 'all',
): number[] {
  const times: number[] = [];
  for (const record of records) {
    const succeeded =
      record.kind === 'create' ? record.outcome === 'acked' : record.outcome === 'ok';
    if (succeeded && (which === 'all' || record.kind === 'create') && 'return' in record) {
      times.push(record.return);
    }
  }
  return times.sort((a, b) => a - b);
}

/** The longest stretch without a success that {@link longestOutage} found. */
export interface Outage {
  /** Its length in milliseconds: `to - from`. */
  readonly ms: number;
  /** The last success before it (or the fault instant, when nothing had succeeded before). */
  readonly from: number;
  /** The first success after it, or the end of the observation when none came. */
  readonly to: number;
  /** False when no success ended it: the system had not recovered when the load stopped. */
  readonly recovered: boolean;
}

/**
 * Client-visible unavailability: the longest interval, among those that end after the fault
 * was injected, during which no client operation succeeded. An interval runs from one
 * success (the instant the client received the answer) to the next success of any client;
 * the first one considered starts at the last success at or before the fault, so time the
 * system was already failing before the fault counts. `until` is when the load was told to
 * stop: the operations then in flight still finish, and the first success among them may
 * end the interval in progress; if no success came at all, that interval runs to `until`
 * and the outage is marked unrecovered.
 *
 * Under steady load successes come every few milliseconds, so a healthy window measures
 * near zero and the result's resolution is about the load's spacing between successes.
 *
 * @param successes success instants in ascending order (see {@link successTimes})
 */
export function longestOutage(
  successes: readonly number[],
  faultAt: number,
  until: number,
): Outage {
  let previous = faultAt;
  for (const at of successes) {
    if (at > faultAt) break;
    previous = at;
  }
  let longest: Outage = { ms: 0, from: previous, to: previous, recovered: true };
  let ended = false;
  for (const at of successes) {
    if (at <= faultAt) continue;
    if (at - previous > longest.ms) {
      longest = { ms: at - previous, from: previous, to: at, recovered: true };
    }
    previous = at;
    if (at >= until) {
      ended = true;
      break;
    }
  }
  if (!ended && until - previous > longest.ms) {
    longest = { ms: until - previous, from: previous, to: until, recovered: false };
  }
  return longest;
}
