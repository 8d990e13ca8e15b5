/**
 * Who attends what. A user's *commitments* are the events they have accepted that are not
 * cancelled: exactly the events that fill their agenda. Those of them that take time
 * ({@link blocksTime}) are the ones that can conflict and make them busy.
 */
import { NotFound } from '../../contract/errors.js';
import type { Attendee, CalendarEvent, EventRecord, EventStatus, Username } from './types.js';

/** The user's row in the event's attendee list, if they are on it. */
export function attendeeOf(record: EventRecord, username: Username): Attendee | undefined {
  return record.attendees.find((a) => a.username === username);
}

/** Whether the event is one of the user's commitments (accepted by them, not cancelled). */
export function isCommitment(record: EventRecord, username: Username): boolean {
  return record.event.status !== 'cancelled' && attendeeOf(record, username)?.status === 'accepted';
}

/** The user's commitments among `records`, each event once (the store may pass duplicates). */
export function commitmentsOf(username: Username, records: readonly EventRecord[]): EventRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    if (seen.has(r.event.id) || !isCommitment(r, username)) return false;
    seen.add(r.event.id);
    return true;
  });
}

/**
 * Whether an event takes up its attendees' time: it lasts some time and is not transparent
 * (shown as free: iCalendar's TRANSP:TRANSPARENT, a holiday or a reminder to oneself). An
 * instant (an event that ends when it starts: a deadline, what RFC 5545 makes of a DTSTART
 * without DTEND) overlaps nothing. Either way it never conflicts, never makes anyone busy
 * and never is refused for what is already in the agenda — whatever lies around it — though
 * it is in the agenda as any event is. Every conflict check, conflict flag and free-time
 * query asks this.
 */
export function blocksTime(event: Pick<CalendarEvent, 'start' | 'end' | 'transparent'>): boolean {
  return event.transparent !== true && event.end > event.start;
}

/** The user's commitments among `records` that take up their time ({@link blocksTime}). */
export function busyCommitmentsOf(
  username: Username,
  records: readonly EventRecord[],
): EventRecord[] {
  return commitmentsOf(username, records).filter((r) => blocksTime(r.event));
}

/**
 * The status a flat-group event reaches from its attendees' answers: cancelled once anyone
 * declines, confirmed once everyone accepts, pending until then.
 */
export function consensusStatus(attendees: readonly Attendee[]): EventStatus {
  if (attendees.some((a) => a.status === 'declined')) return 'cancelled';
  return attendees.every((a) => a.status === 'accepted') ? 'confirmed' : 'pending';
}

/**
 * The status of the event once its attendee list is `attendees`: a flat-group event
 * follows {@link consensusStatus}; other events keep the status they have — their invitees
 * answer for themselves only — and a cancelled event stays cancelled.
 */
export function statusFromAnswers(
  record: EventRecord,
  attendees: readonly Attendee[] = record.attendees,
): EventStatus {
  const { event } = record;
  if (event.status === 'cancelled' || event.group?.kind !== 'flat') return event.status;
  return consensusStatus(attendees);
}

/**
 * The event and the actor's place in it. Someone not on the attendee list is told the event
 * does not exist: whether it does is none of their business.
 * @throws NotFound
 */
export function requireAttendance(
  record: EventRecord | undefined,
  eventId: string,
  actor: Username,
): { record: EventRecord; attendee: Attendee } {
  const attendee = record?.event.id === eventId ? attendeeOf(record, actor) : undefined;
  if (record === undefined || attendee === undefined) throw new NotFound(`no event ${eventId}`);
  return { record, attendee };
}
