/**
 * What users see: events and occurrences with instants as ISO 8601 UTC strings and the
 * field names of the CLI's `--json` output (`id`, `title`, `start`, `end`, `status`,
 * `myStatus`, `organizer`, `group`, `conflict`). Decisions compute in milliseconds; only
 * these views speak ISO.
 */
import { formatRecurrenceRule } from './recurrence.js';
import { civilDate } from './recurrence-days.js';
import type {
  AttendeeStatus,
  CalendarEvent,
  EventRecord,
  Interval,
  Millis,
  Occurrence,
} from './types.js';
import type { ConflictingEvent } from '../../contract/errors.js';
import type {
  AttendeeView,
  BusyBlock,
  ConflictView,
  EventDetailsView,
  EventView,
  SlotView,
} from '../../contract/views.js';

export type { AttendeeView, BusyBlock, ConflictView, EventDetailsView, EventView, SlotView };

const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 10000-01-01T00:00:00.000Z: the years ISO writes with four digits. */
const FOUR_DIGIT_YEARS: Interval = { start: -62_167_219_200_000, end: 253_402_300_800_000 };
const ZERO = 48;
const [DASH, COLON, DOT, T, Z] = [45, 58, 46, 84, 90];

/**
 * An instant as ISO 8601 UTC with milliseconds, e.g. `2025-03-01T09:00:00.000Z`: exactly
 * what `new Date(instant).toISOString()` says (and throws), which it falls back to outside
 * the four-digit years and for anything but whole milliseconds.
 *
 * Views format two instants per entry, and `toISOString` (a Date, then the engine's general
 * formatter) was a tenth of the CPU of an agenda read. This is the recurrence's calendar
 * arithmetic ({@link civilDate}, proleptic Gregorian) on small integers, written as one flat
 * string of character codes: several times faster, and cheaper again to serialise than a
 * string built by concatenation.
 */
export function toIso(instant: Millis): string {
  if (
    !(instant >= FOUR_DIGIT_YEARS.start && instant < FOUR_DIGIT_YEARS.end) ||
    !Number.isInteger(instant)
  ) {
    return new Date(instant).toISOString();
  }
  const days = Math.floor(instant / DAY_MS);
  const inDay = instant - days * DAY_MS;
  const { year, month, day } = civilDate(days);
  const hours = Math.floor(inDay / 3_600_000);
  const minutes = Math.floor(inDay / 60_000) % 60;
  const seconds = Math.floor(inDay / 1000) % 60;
  const millis = inDay % 1000;
  return String.fromCharCode(
    ZERO + Math.floor(year / 1000),
    ZERO + (Math.floor(year / 100) % 10),
    ZERO + (Math.floor(year / 10) % 10),
    ZERO + (year % 10),
    DASH,
    ZERO + Math.floor(month / 10),
    ZERO + (month % 10),
    DASH,
    ZERO + Math.floor(day / 10),
    ZERO + (day % 10),
    T,
    ZERO + Math.floor(hours / 10),
    ZERO + (hours % 10),
    COLON,
    ZERO + Math.floor(minutes / 10),
    ZERO + (minutes % 10),
    COLON,
    ZERO + Math.floor(seconds / 10),
    ZERO + (seconds % 10),
    DOT,
    ZERO + Math.floor(millis / 100),
    ZERO + (Math.floor(millis / 10) % 10),
    ZERO + (millis % 10),
    Z,
  );
}

/** The view of one occurrence of `event` for someone whose answer is `myStatus`. */
export function eventView(
  event: CalendarEvent,
  occurrence: Interval,
  myStatus: AttendeeStatus,
  conflict: boolean,
): EventView {
  return {
    id: event.id,
    title: event.title,
    start: toIso(occurrence.start),
    end: toIso(occurrence.end),
    status: event.status,
    myStatus,
    organizer: event.organizer,
    group: event.group?.name ?? null,
    conflict,
    timeZone: event.timeZone,
    visibility: event.visibility,
    description: event.description,
    location: event.location,
    recurrence: event.recurrence === null ? null : formatRecurrenceRule(event.recurrence.rule),
    ...(event.reminders === undefined || event.reminders.length === 0
      ? {}
      : { reminders: event.reminders }),
    ...(event.transparent === true ? { transparent: true as const } : {}),
  };
}

/** The whole-series view of `record` for an attendee whose answer is `myStatus`. */
export function eventDetailsView(
  record: EventRecord,
  myStatus: AttendeeStatus,
  conflict: boolean,
): EventDetailsView {
  const { event } = record;
  return {
    ...eventView(event, event, myStatus, conflict),
    exceptions: (event.recurrence?.exceptions ?? []).map(toIso),
    ...(event.recurrence?.additions === undefined
      ? {}
      : { alsoOn: event.recurrence.additions.map(toIso) }),
    attendees: record.attendees.map((a) => ({
      username: a.username,
      status: a.status,
      role: a.role,
    })),
    revision: event.revision,
  };
}

export function busyBlock(occurrence: Interval): BusyBlock {
  return { start: toIso(occurrence.start), end: toIso(occurrence.end), busy: true };
}

// ---------------------------------------------------------------------------------------
// The length of a view's JSON without writing it: a page weighs every entry it holds
// (paging.ts, `textWeight`), and serialising each one just to count it was a twentieth of
// an agenda read. Each weight is exactly `JSON.stringify(view).length` (the tests check it
// on random views), so pages end where they always did.

/** Characters that JSON.stringify writes as more than themselves (lone surrogates too). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text).length`. */
function stringWeight(text: string): number {
  return ESCAPED.test(text) ? JSON.stringify(text).length : text.length + 2;
}

function nullableStringWeight(text: string | null): number {
  return text === null ? 4 : stringWeight(text);
}

/** The braces, the quoted names, their colons and the commas of an object with these fields. */
function fieldsWeight(names: readonly string[]): number {
  return 2 + names.reduce((sum, name) => sum + stringWeight(name) + 1, 0) + names.length - 1;
}

const BUSY_BLOCK_FIELDS = fieldsWeight(['start', 'end', 'busy']);
const EVENT_VIEW_FIELDS = fieldsWeight([
  'id',
  'title',
  'start',
  'end',
  'status',
  'myStatus',
  'organizer',
  'group',
  'conflict',
  'timeZone',
  'visibility',
  'description',
  'location',
  'recurrence',
]);

/** `JSON.stringify(block).length`. */
export function busyBlockWeight(block: BusyBlock): number {
  return BUSY_BLOCK_FIELDS + stringWeight(block.start) + stringWeight(block.end) + 4;
}

/** `JSON.stringify(view).length`, for a view made by {@link eventView}. */
export function eventViewWeight(view: EventView): number {
  return (
    EVENT_VIEW_FIELDS +
    stringWeight(view.id) +
    stringWeight(view.title) +
    stringWeight(view.start) +
    stringWeight(view.end) +
    stringWeight(view.status) +
    stringWeight(view.myStatus) +
    stringWeight(view.organizer) +
    nullableStringWeight(view.group) +
    (view.conflict ? 4 : 5) +
    stringWeight(view.timeZone) +
    stringWeight(view.visibility) +
    stringWeight(view.description) +
    stringWeight(view.location) +
    nullableStringWeight(view.recurrence) +
    // `,"reminders":[…]` when present.
    (view.reminders === undefined ? 0 : 13 + JSON.stringify(view.reminders).length) +
    // `,"transparent":true` when present.
    (view.transparent === true ? 19 : 0)
  );
}

/** How an occurrence in the way of a decision is reported in a `conflict` error. */
export function conflictingEvent(
  event: Pick<CalendarEvent, 'id' | 'title'>,
  occurrence: Occurrence,
): ConflictingEvent {
  return {
    id: event.id,
    title: event.title,
    start: toIso(occurrence.start),
    end: toIso(occurrence.end),
  };
}
