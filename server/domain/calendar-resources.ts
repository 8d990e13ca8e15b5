/**
 * A user's calendar as CalDAV shows it (server/gateway/caldav.ts): a collection of
 * resources, one per event series with the occurrences changed on their own that go out
 * with it (RECURRENCE-ID), as the export groups them ({@link exportICalendar}). A resource is
 * named by its UID as clients name what they write ({@link resourceName}), and its entity tag is derived from what its text is made of: each event's id and revision and
 * the answers of its attendees (an answer changes the text's ATTENDEE lines but not the
 * revision). Pure: the store loads the records, this groups, filters and tags them.
 */
import type { CalendarEvent, EventId, EventRecord, Interval, Millis, Username } from './types.js';
import { TIME } from '../../contract/limits.js';
import { expandOccurrences, RecurrenceBudget, seriesEnd } from './recurrence.js';
import { exportICalendar } from './icalendar.js';

/** One resource of the calendar collection. */
export interface CalendarResource {
  /** The series' event id. */
  readonly id: EventId;
  /** The resource is `<name>.ics`: see {@link resourceName}. */
  readonly name: string;
  /** The series first, then its changed occurrences. */
  readonly records: readonly EventRecord[];
  /** A strong entity tag, quoted as HTTP writes it. */
  readonly etag: string;
}

/**
 * The name of the resource `record` heads in `actor`'s calendar (`<name>.ics`): for a series
 * or event the actor organizes, its UID — the imported one, else its id, which is the UID
 * its text carries — so that a client finds what it PUT to `<UID>.ics` there, and the store
 * finds it by the organizer/UID index; for anything else (an invitation, another member's
 * group event, an occurrence out on its own), its id: UIDs are unique per organizer only,
 * ids everywhere, so two organizers' events never share a name.
 */
export function resourceName(record: EventRecord, actor: Username): string {
  const { event } = record;
  return event.organizer === actor && event.detachedFrom === undefined
    ? (event.uid ?? event.id)
    : event.id;
}

/**
 * The resources `records` make for `actor`: the events they attend without having declined,
 * not cancelled, each changed occurrence with its series when that is among them and still
 * has the occurrence as an exception (else it is a resource of its own), in id order. A
 * cancelled changed occurrence is left out, so its series' EXDATE says it is gone.
 */
export function calendarResources(
  actor: Username,
  records: readonly EventRecord[],
): CalendarResource[] {
  const chosen = new Map<EventId, EventRecord>();
  for (const record of records) {
    if (chosen.has(record.event.id) || record.event.status === 'cancelled') continue;
    const me = record.attendees.find((a) => a.username === actor);
    if (me === undefined || me.status === 'declined') continue;
    chosen.set(record.event.id, record);
  }
  const groups = new Map<EventId, EventRecord[]>();
  for (const record of chosen.values()) {
    const from = record.event.detachedFrom;
    const series = from === undefined ? undefined : chosen.get(from.seriesId);
    const joins =
      from !== undefined &&
      series?.event.recurrence?.exceptions.includes(from.occurrenceStart) === true;
    const id = joins ? from.seriesId : record.event.id;
    const group = groups.get(id) ?? [];
    if (joins) group.push(record);
    else group.unshift(record);
    groups.set(id, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, group]) => ({
      id,
      name: resourceName(group[0] as EventRecord, actor),
      records: group,
      etag: entityTag(group),
    }));
}

/**
 * Whether any occurrence of `resource` overlaps `window` (RFC 4791 §9.9's time-range test
 * on the events as they are expanded), within `budget`. Each event's window is first cut to
 * its series' bounds, then searched in spans that double from a day, so the work is about
 * twice the occurrences before the first that overlaps, not those of the whole window (an
 * open-ended CalDAV time-range reaches to 2200).
 * @throws TooComplex when the budget runs out.
 */
export function resourceReaches(
  resource: CalendarResource,
  window: Interval,
  budget: RecurrenceBudget = new RecurrenceBudget(),
): boolean {
  return resource.records.some((r) => eventReaches(r.event, window, budget));
}

function eventReaches(event: CalendarEvent, window: Interval, budget: RecurrenceBudget): boolean {
  const end = Math.min(window.end, seriesEnd(event, budget));
  // No occurrence starts before the first, so none overlaps the window before it does.
  let start = Math.max(window.start, event.start);
  for (let span = TIME.DAY; start < end; span *= 2) {
    const stop = Math.min(end, start + span);
    if (expandOccurrences(event, { start, end: stop }, budget).length > 0) return true;
    start = stop;
  }
  return false;
}

/**
 * The resource's iCalendar text (one VCALENDAR), stamped `now`, as an export writes it:
 * all-day events as dates, which calendar apps show as all-day (at the local midnights of
 * their zone, with a TZID, every app showed a timed 24-hour event). An app writes them back
 * as dates, which a CalDAV write reads in the event's own zone (server/users/users-service.ts).
 */
export function resourceText(resource: CalendarResource, now: Millis): string {
  return exportICalendar(resource.records, { now });
}

/**
 * A strong ETag: FNV-1a (64-bit) over each record's id, revision and attendees' answers,
 * in the resource's order. Not a secret, only a change detector: any change to what the
 * text is made of changes it.
 */
function entityTag(records: readonly EventRecord[]): string {
  const parts = records.map((r) => {
    const answers = [...r.attendees]
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
      .map((a) => `${a.username}=${a.status}${a.ownAnswer === true ? '!' : ''}`)
      .join(',');
    return `${r.event.id}@${r.event.revision}:${r.event.updatedAt}:${answers}`;
  });
  return `"${fnv1a64(parts.join('\n'))}"`;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}
