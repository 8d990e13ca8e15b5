/**
 * Answering invitations.
 *
 * - Accepting is refused when the event would conflict with the invitee's commitments,
 *   unless `allowConflict`. When the last member of a flat group accepts, the event is
 *   confirmed and every attendee is told.
 * - Declining: the organizer is told; in a flat group one decline cancels the event and
 *   every attendee is told. An event imposed by a superior cannot be declined.
 * - People may change their mind (accept after declining, decline after accepting) while
 *   the event is not cancelled; answering the same twice changes nothing.
 * - The organizer does not answer their own event: they change or cancel it.
 * - An answer to a series is an answer to each of its occurrences, those changed on their
 *   own (events `detachedFrom` it, which carry its people) included: they take it in the
 *   same decision, as each would if answered alone (its conflicts checked, its flat group
 *   deciding, its organizer told). Except those the invitee answered on their own: an
 *   answer given to one changed occurrence is for that occurrence alone — it does not
 *   reach the series or its other occurrences — and answers to the series leave it as it
 *   is, until the occurrence's time changes and the invitee is asked again.
 */
import { Forbidden, InvalidInput } from '../../contract/errors.js';
import type { ConflictingEvent } from '../../contract/errors.js';
import {
  MAX_DETACHED_ANSWERED_WITH_SERIES,
  MAX_REPORTED_CONFLICTS,
} from '../../contract/limits.js';
import { attendeeOf, requireAttendance, statusFromAnswers } from './attendance.js';
import { conflictError, findConflicts } from './conflicts.js';
import { compareText, decide, eventNotice } from './decisions.js';
import { seriesEnd } from './recurrence.js';
import { encodeCursor, MAX_PAGE_TEXT, textWeight } from './paging.js';
import { eventDetailsView } from './views.js';
import type { EventDetailsView } from './views.js';
import type {
  Attendee,
  AttendeeStatus,
  CalendarEvent,
  Decision,
  EventChange,
  EventId,
  EventRecord,
  Millis,
  Mutation,
  Notification,
  Username,
} from './types.js';

export interface AnswerInvitationCommand {
  readonly actor: Username;
  readonly eventId: EventId;
  readonly now: Millis;
  /** Accept even if it overlaps the actor's commitments (ignored when declining). */
  readonly allowConflict?: boolean;
}

export interface AnswerInvitationContext {
  readonly record: EventRecord | undefined;
  /**
   * The actor's events that may reach into the conflict windows of the event and of the
   * occurrences in `detached` (accepting only).
   */
  readonly events: readonly EventRecord[];
  /**
   * For a series: the live events detached from it that the answer reaches — the actor is
   * invited to them, has not answered them on their own, and answered otherwise — up to
   * one more than {@link MAX_DETACHED_ANSWERED_WITH_SERIES}, so that a series with too many
   * is seen to have them. Any other rows are ignored; absent, there are none.
   */
  readonly detached?: readonly EventRecord[];
}

function requireInvitee(
  record: EventRecord | undefined,
  command: AnswerInvitationCommand,
): { record: EventRecord; attendee: Attendee } {
  const found = requireAttendance(record, command.eventId, command.actor);
  const { event } = found.record;
  if (found.attendee.role === 'organizer') {
    throw new InvalidInput('you organize this event: change or cancel it instead', {
      field: 'eventId',
    });
  }
  if (event.status === 'cancelled') {
    throw new InvalidInput(`the event "${event.title}" is cancelled`, { field: 'eventId' });
  }
  return found;
}

/**
 * The occurrences of the series `record` changed on their own that the actor's answer
 * `status` to it reaches (see the module comment), in id order, each once.
 * @throws InvalidInput when there are more than {@link MAX_DETACHED_ANSWERED_WITH_SERIES}.
 */
function occurrencesReached(
  record: EventRecord,
  actor: Username,
  status: AttendeeStatus,
  detached: readonly EventRecord[] = [],
): EventRecord[] {
  const reached = new Map<EventId, EventRecord>();
  for (const r of detached) {
    const me = attendeeOf(r, actor);
    if (
      r.event.detachedFrom?.seriesId === record.event.id &&
      r.event.status !== 'cancelled' &&
      me?.role === 'invitee' &&
      me.ownAnswer !== true &&
      me.status !== status
    ) {
      reached.set(r.event.id, r);
    }
  }
  if (reached.size > MAX_DETACHED_ANSWERED_WITH_SERIES) {
    throw new InvalidInput(
      `more than ${MAX_DETACHED_ANSWERED_WITH_SERIES} occurrences of this series were changed on their own, too many to answer with it: answer some of them on their own first`,
      { field: 'eventId' },
    );
  }
  return [...reached.values()].sort((a, b) => compareText(a.event.id, b.event.id));
}

/** Who hears about an answer: everyone in a flat group (it is their shared decision), else the organizer. */
function answerAudience(record: EventRecord, actor: Username): Username[] {
  return record.event.group?.kind === 'flat'
    ? record.attendees.map((a) => a.username)
    : [actor, record.event.organizer];
}

/**
 * The actor's row once they answer `status` to this very event: given to an occurrence
 * changed on its own, the answer is its own (answers to its series leave it as it is).
 */
function answeredHere(record: EventRecord, attendee: Attendee, status: AttendeeStatus): Attendee {
  return record.event.detachedFrom === undefined
    ? { ...attendee, status }
    : { ...attendee, status, ownAnswer: true };
}

/** The actor's row `updated` written, the event's status following, and who is told. */
function answer(
  command: AnswerInvitationCommand,
  record: EventRecord,
  updated: Attendee,
  change: EventChange,
): Decision<EventDetailsView> {
  const attendees = record.attendees.map((a) => (a.username === command.actor ? updated : a));
  const eventStatus = statusFromAnswers(record, attendees);
  const mutations: Mutation[] = [{ kind: 'putAttendee', attendee: updated }];
  const notifications: Notification[] = answerAudience(record, command.actor).map((to) =>
    eventNotice(to, change, record.event.id, command.actor),
  );
  let event: CalendarEvent = record.event;
  if (eventStatus !== record.event.status) {
    event = { ...event, status: eventStatus, updatedAt: command.now, revision: event.revision + 1 };
    mutations.push({ kind: 'updateEvent', event });
    const outcome: EventChange = eventStatus === 'cancelled' ? 'cancelled' : 'confirmed';
    for (const a of attendees)
      notifications.push(eventNotice(a.username, outcome, event.id, command.actor));
  }
  return decide(
    eventDetailsView({ event, attendees }, updated.status, false),
    mutations,
    notifications,
  );
}

/**
 * The answer `status` to the event itself (when the actor's row changes: `here` is not
 * null) and to each occurrence `reached`, as one decision whose result is the event's view.
 * When the actor's row does not change, nothing is told about the event.
 */
function answerWithOccurrences(
  command: AnswerInvitationCommand,
  record: EventRecord,
  attendee: Attendee,
  here: Attendee | null,
  reached: readonly EventRecord[],
  change: EventChange,
): Decision<EventDetailsView> {
  const own: Decision<EventDetailsView> =
    here === null
      ? decide(eventDetailsView(record, attendee.status, false), [], [])
      : here.status === attendee.status
        ? // Only the answer's owner changed (an occurrence's answer made its own): nobody
          // is told what they already know.
          decide(
            eventDetailsView(record, here.status, false),
            [{ kind: 'putAttendee', attendee: here }],
            [],
          )
        : answer(command, record, here, change);
  const others = reached.map((r) => {
    const me = attendeeOf(r, command.actor) as Attendee;
    return answer(command, r, { ...me, status: here?.status ?? attendee.status }, change);
  });
  return decide(
    own.result,
    [...own.mutations, ...others.flatMap((d) => d.mutations)],
    [...own.notifications, ...others.flatMap((d) => d.notifications)],
  );
}

/** `lists` merged: each conflicting occurrence once, by start then id, as many as are reported. */
function mergedConflicts(lists: readonly (readonly ConflictingEvent[])[]): ConflictingEvent[] {
  const found = new Map<string, ConflictingEvent>();
  for (const c of lists.flat()) found.set(`${c.id}@${c.start}`, c);
  return [...found.values()]
    .sort((a, b) => compareText(a.start, b.start) || compareText(a.id, b.id))
    .slice(0, MAX_REPORTED_CONFLICTS);
}

/**
 * The actor accepts an event they are invited to (rules above): a series with the
 * occurrences changed on their own that the answer reaches. What becomes accepted is
 * checked against the actor's commitments as they will be (the series and those
 * occurrences included, as they may overlap each other); a changed occurrence that is
 * over is not, as the series' own check looks from `now` on.
 * @throws NotFound, InvalidInput (organizer, cancelled, too many changed occurrences),
 * Conflict (unless allowed).
 */
export function acceptInvitation(
  command: AnswerInvitationCommand,
  context: AnswerInvitationContext,
): Decision<EventDetailsView> {
  const { record, attendee } = requireInvitee(context.record, command);
  const { actor, now } = command;
  const reached = occurrencesReached(record, actor, 'accepted', context.detached);
  const joining = new Set([record.event.id, ...reached.map((r) => r.event.id)]);
  const accepted = (r: EventRecord): EventRecord => ({
    event: r.event,
    attendees: r.attendees.map((a) => (a.username === actor ? { ...a, status: 'accepted' } : a)),
  });
  const commitments = [
    ...context.events.filter((r) => !joining.has(r.event.id)),
    accepted(record),
    ...reached.map(accepted),
  ];
  // Accepting again says whether the event conflicts as `event show` does: it was perhaps
  // accepted with `allowConflict`, and a repeat without it must not answer that all is clear.
  const own = findConflicts(record.event, actor, commitments, now);
  const theirs = reached
    .filter((r) => r.event.end > now)
    .map((r) => findConflicts(r.event, actor, commitments, now));
  const here = attendee.status === 'accepted' ? null : answeredHere(record, attendee, 'accepted');
  const marked =
    here === null && record.event.detachedFrom !== undefined && attendee.ownAnswer !== true
      ? answeredHere(record, attendee, 'accepted')
      : here;
  const refused = mergedConflicts([...(here === null ? [] : [own]), ...theirs]);
  if (refused.length > 0 && command.allowConflict !== true) {
    throw conflictError(
      theirs.some((c) => c.length > 0)
        ? 'accepting would overlap events you have accepted, here or in occurrences of this series changed on their own'
        : 'accepting would overlap events you have accepted',
      refused,
    );
  }
  const decision = answerWithOccurrences(command, record, attendee, marked, reached, 'accepted');
  const conflict = own.length > 0 || theirs.some((c) => c.length > 0);
  return { ...decision, result: { ...decision.result, conflict } };
}

/**
 * The actor declines an event they are invited to (rules above): a series with the
 * occurrences changed on their own that the answer reaches.
 * @throws NotFound, InvalidInput (organizer, cancelled, too many changed occurrences),
 * Forbidden (imposed by a superior).
 */
export function declineInvitation(
  command: AnswerInvitationCommand,
  context: Pick<AnswerInvitationContext, 'record' | 'detached'>,
): Decision<EventDetailsView> {
  const { record, attendee } = requireInvitee(context.record, command);
  if (attendee.role === 'imposed') {
    const group = record.event.group?.name ?? 'the group';
    throw new Forbidden(
      `this event was set by your superior ${record.event.organizer} in ${group}; you cannot decline it`,
    );
  }
  const reached = occurrencesReached(record, command.actor, 'declined', context.detached);
  const here =
    attendee.status !== 'declined' ||
    (record.event.detachedFrom !== undefined && attendee.ownAnswer !== true)
      ? answeredHere(record, attendee, 'declined')
      : null;
  return answerWithOccurrences(command, record, attendee, here, reached, 'declined');
}

export interface InvitationsQuery {
  readonly actor: Username;
  readonly now: Millis;
}

/**
 * `invite list`: events the actor still has to answer — not cancelled, not over — soonest
 * first. `conflict` warns that accepting would be refused.
 */
export function listInvitations(
  query: InvitationsQuery,
  context: { readonly events: readonly EventRecord[] },
): EventDetailsView[] {
  const seen = new Set<string>();
  return context.events
    .filter((r) => {
      if (seen.has(r.event.id)) return false;
      seen.add(r.event.id);
      return waitsForAnswer(r, query);
    })
    .sort((a, b) => a.event.start - b.event.start || compareText(a.event.id, b.event.id))
    .map((r) => invitationView(r, query, context.events));
}

/** Whether the actor still has to answer `record`: invited, pending, not cancelled, not over. */
function waitsForAnswer(record: EventRecord, query: InvitationsQuery): boolean {
  const me = attendeeOf(record, query.actor);
  return (
    me?.status === 'pending' &&
    me.role === 'invitee' &&
    record.event.status !== 'cancelled' &&
    seriesEnd(record.event) > query.now
  );
}

function invitationView(
  record: EventRecord,
  query: InvitationsQuery,
  events: readonly EventRecord[],
): EventDetailsView {
  const conflict = findConflicts(record.event, query.actor, events, query.now).length > 0;
  return eventDetailsView(record, 'pending', conflict);
}

/** One page of `invite list` (see {@link invitationsPage}). */
export interface InvitationsPageQuery extends InvitationsQuery {
  /** At most this many invitations (see `pageLimit`). */
  readonly limit: number;
}

/**
 * One page of `invite list`, in its order (the event's first start, then its id): the
 * invitations among `candidates` — the actor's pending attendances not over at `now`, in that
 * order, after the page's cursor, at most `limit + 1` of them as the store loads them — with
 * `next` naming the place of the last one taken when more may follow. At most `limit`
 * invitations and about {@link MAX_PAGE_TEXT} of JSON (at least one). `events` holds the
 * candidates and the actor's commitments that can overlap them, for the `conflict` flags.
 */
export function invitationsPage(
  query: InvitationsPageQuery,
  context: { readonly candidates: readonly EventRecord[]; readonly events: readonly EventRecord[] },
): { readonly invitations: readonly EventDetailsView[]; readonly next: string | null } {
  const invitations: EventDetailsView[] = [];
  let text = 0;
  let taken = 0;
  for (const record of context.candidates) {
    if (taken === query.limit) break;
    if (waitsForAnswer(record, query)) {
      const view = invitationView(record, query, context.events);
      text += textWeight(view);
      if (invitations.length > 0 && text > MAX_PAGE_TEXT) break;
      invitations.push(view);
    }
    taken += 1;
  }
  const last = context.candidates[taken - 1];
  const more = taken < context.candidates.length;
  return {
    invitations,
    next:
      more && last !== undefined
        ? encodeCursor('invitation', { start: last.event.start, eventId: last.event.id })
        : null,
  };
}
