/**
 * Common free time of a group. A member is busy during the occurrences of their
 * commitments (accepted, not cancelled); unanswered invitations do not make anyone busy,
 * just as they do not count for conflicts. The answer is the list of *maximal* free gaps of
 * at least the requested duration — each gap is as long as it really is, and the caller
 * picks where in it to meet — rather than fixed-length slots, which would hide how much
 * room there is.
 */
import { Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { commitmentsOf } from './attendance.js';
import { mergeIntervals, occurrencesIn } from './conflicts.js';
import { membershipOf } from './groups.js';
import { validateQueryInterval } from './validation.js';
import { toIso } from './views.js';
import type { SlotView } from './views.js';
import type { EventRecord, GroupName, GroupRecord, Interval, Millis, Username } from './types.js';
import { TIME } from '../../contract/limits.js';

/**
 * The maximal sub-intervals of `window` covered by none of `busy`, of length at least
 * `minDuration`, in order.
 */
export function freeGaps(
  busy: readonly Interval[],
  window: Interval,
  minDuration: number,
): Interval[] {
  const gaps: Interval[] = [];
  let cursor = window.start;
  for (const b of mergeIntervals(busy)) {
    if (b.end <= cursor) continue;
    if (b.start >= window.end) break;
    if (b.start > cursor) gaps.push({ start: cursor, end: b.start });
    cursor = Math.max(cursor, b.end);
  }
  if (cursor < window.end) gaps.push({ start: cursor, end: window.end });
  return gaps.filter((g) => g.end - g.start >= minDuration);
}

export interface FreeTimeQuery {
  readonly actor: Username;
  readonly group: GroupName;
  readonly from: Millis;
  readonly to: Millis;
  /** Shortest useful slot, in milliseconds (whole minutes). */
  readonly duration: number;
}

export interface FreeTimeContext {
  readonly group: GroupRecord | undefined;
  /** Events the group's members attend that may reach into the interval. */
  readonly events: readonly EventRecord[];
}

/**
 * `free --group g`: when every member of the group is free for at least `duration` within
 * `[from, to)`. Only members may ask.
 * @throws InvalidInput (interval, duration), NotFound (group), Forbidden (not a member).
 */
export function findCommonFreeTime(query: FreeTimeQuery, context: FreeTimeContext): SlotView[] {
  const window = validateQueryInterval(query.from, query.to);
  if (
    !Number.isInteger(query.duration) ||
    query.duration <= 0 ||
    query.duration % TIME.MINUTE !== 0
  ) {
    throw new InvalidInput('the duration must be a positive whole number of minutes', {
      field: 'duration',
    });
  }
  const group = context.group;
  if (group === undefined || group.group.name !== query.group) {
    throw new NotFound(`no group named ${query.group}`);
  }
  if (membershipOf(group, query.actor) === undefined) {
    throw new Forbidden(`you are not a member of ${group.group.name}`);
  }
  const busy = group.members.flatMap((m) =>
    occurrencesIn(commitmentsOf(m.username, context.events), window),
  );
  return freeGaps(busy, window, query.duration).map((g) => ({
    start: toIso(g.start),
    end: toIso(g.end),
  }));
}
