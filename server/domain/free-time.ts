/**
 * Common free time of a group, or of the caller and people they share a group with. A member is busy during the occurrences of their
 * commitments (accepted, not cancelled) that take time (`blocksTime`); unanswered invitations do not make anyone busy,
 * just as they do not count for conflicts. The answer is the list of *maximal* free gaps of
 * at least the requested duration — each gap is as long as it really is, and the caller
 * picks where in it to meet — rather than fixed-length slots, which would hide how much
 * room there is.
 */
import { Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { busyCommitmentsOf } from './attendance.js';
import { mergeIntervals, occurrencesIn } from './conflicts.js';
import { agendasVisibleTo } from './agenda-view.js';
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

/** The most refused names a refusal lists. */
const MAX_NAMED_IN_REFUSAL = 10;

export interface FreeTimeQuery {
  readonly actor: Username;
  /** Whose free time: a group's members, or the actor and the named users. */
  readonly targets: { readonly group: GroupName } | { readonly users: readonly Username[] };
  readonly from: Millis;
  readonly to: Millis;
  /** Shortest useful slot, in milliseconds (whole minutes). */
  readonly duration: number;
}

export interface FreeTimeContext {
  /** With a group target: that group. */
  readonly group?: GroupRecord | undefined;
  /** With users: every group the actor belongs to (the privacy rule of agendas needs them). */
  readonly groups?: readonly GroupRecord[];
  /** Events the people counted attend that may reach into the interval. */
  readonly events: readonly EventRecord[];
}

/**
 * Whose agendas make the free time: a group's members (only members may ask), or the actor
 * and the named users, each of whom must share a group with the actor — the rule for seeing
 * their agenda (agenda-view.ts), since free time tells when they are busy. A stranger and a
 * name nobody has are refused alike, so the answer does not tell which usernames exist.
 * @throws NotFound (group), Forbidden (not a member; a user the actor may not see).
 */
export function freeTimePeople(query: FreeTimeQuery, context: FreeTimeContext): Username[] {
  if ('group' in query.targets) {
    const name = query.targets.group;
    const group = context.group;
    if (group === undefined || group.group.name !== name) {
      throw new NotFound(`no group named ${name}`);
    }
    if (membershipOf(group, query.actor) === undefined) {
      throw new Forbidden(`you are not a member of ${group.group.name}`);
    }
    return group.members.map((m) => m.username);
  }
  const named = [...new Set(query.targets.users)];
  if (named.length === 0) throw new InvalidInput('name at least one user', { field: 'users' });
  const visible = agendasVisibleTo(context.groups ?? [], query.actor);
  const hidden = named.filter((u) => !visible.has(u));
  if (hidden.length > 0) {
    // Up to a thousand names may be asked for: the message names the first few.
    const shown = hidden.slice(0, MAX_NAMED_IN_REFUSAL).join(', ');
    const more =
      hidden.length > MAX_NAMED_IN_REFUSAL
        ? ` and ${hidden.length - MAX_NAMED_IN_REFUSAL} more`
        : '';
    throw new Forbidden(
      `you share no group with ${shown}${more} (or there is no such user), so you cannot see when they are free`,
    );
  }
  return [...new Set([query.actor, ...named])];
}

/**
 * `free --group g` / `free --users a,b`: when every member of the group (or the actor and
 * every named user) is free for at least `duration` within `[from, to)`.
 * @throws InvalidInput (interval, duration), NotFound (group), Forbidden (see {@link freeTimePeople}).
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
  const people = freeTimePeople(query, context);
  const busy = people.flatMap((username) =>
    occurrencesIn(busyCommitmentsOf(username, context.events), window),
  );
  return freeGaps(busy, window, query.duration).map((g) => ({
    start: toIso(g.start),
    end: toIso(g.end),
  }));
}
