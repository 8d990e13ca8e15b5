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
 */
import { Forbidden, InvalidInput } from '../../contract/errors.js';
import { attendeeOf, requireAttendance, statusFromAnswers } from './attendance.js';
import { conflictError, findConflicts } from './conflicts.js';
import { compareText, decide, eventNotice } from './decisions.js';
import { seriesEnd } from './recurrence.js';
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
  /** The actor's events that may reach into the event's conflict window (accepting only). */
  readonly events: readonly EventRecord[];
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

/** Who hears about an answer: everyone in a flat group (it is their shared decision), else the organizer. */
function answerAudience(record: EventRecord, actor: Username): Username[] {
  return record.event.group?.kind === 'flat'
    ? record.attendees.map((a) => a.username)
    : [actor, record.event.organizer];
}

function answer(
  command: AnswerInvitationCommand,
  record: EventRecord,
  attendee: Attendee,
  status: AttendeeStatus,
  change: EventChange,
): Decision<EventDetailsView> {
  const updated: Attendee = { ...attendee, status };
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
  return decide(eventDetailsView({ event, attendees }, status, false), mutations, notifications);
}

/**
 * The actor accepts an event they are invited to (rules above).
 * @throws NotFound, InvalidInput (organizer, cancelled), Conflict (unless allowed).
 */
export function acceptInvitation(
  command: AnswerInvitationCommand,
  context: AnswerInvitationContext,
): Decision<EventDetailsView> {
  const { record, attendee } = requireInvitee(context.record, command);
  const conflicts = findConflicts(record.event, command.actor, context.events, command.now);
  // Accepting again changes nothing, and says whether the event conflicts as `event show`
  // does: it was perhaps accepted with `allowConflict`, and a repeat without it must not
  // answer that all is clear.
  if (attendee.status === 'accepted')
    return decide(eventDetailsView(record, 'accepted', conflicts.length > 0), [], []);
  if (conflicts.length > 0 && command.allowConflict !== true) {
    throw conflictError('accepting would overlap events you have accepted', conflicts);
  }
  const decision = answer(command, record, attendee, 'accepted', 'accepted');
  return { ...decision, result: { ...decision.result, conflict: conflicts.length > 0 } };
}

/**
 * The actor declines an event they are invited to (rules above).
 * @throws NotFound, InvalidInput (organizer, cancelled), Forbidden (imposed by a superior).
 */
export function declineInvitation(
  command: AnswerInvitationCommand,
  context: Pick<AnswerInvitationContext, 'record'>,
): Decision<EventDetailsView> {
  const { record, attendee } = requireInvitee(context.record, command);
  if (attendee.role === 'imposed') {
    const group = record.event.group?.name ?? 'the group';
    throw new Forbidden(
      `this event was set by your superior ${record.event.organizer} in ${group}; you cannot decline it`,
    );
  }
  if (attendee.status === 'declined')
    return decide(eventDetailsView(record, 'declined', false), [], []);
  return answer(command, record, attendee, 'declined', 'declined');
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
      const me = attendeeOf(r, query.actor);
      return (
        me?.status === 'pending' &&
        me.role === 'invitee' &&
        r.event.status !== 'cancelled' &&
        seriesEnd(r.event) > query.now
      );
    })
    .sort((a, b) => a.event.start - b.event.start || compareText(a.event.id, b.event.id))
    .map((r) =>
      eventDetailsView(
        r,
        'pending',
        findConflicts(r.event, query.actor, context.events, query.now).length > 0,
      ),
    );
}
