/**
 * iCalendar (RFC 5545) export and import, through `ical.js`.
 *
 * Export writes one VEVENT per event (a recurring event once, with RRULE and EXDATE) in
 * its own zone (`DTSTART;TZID=Europe/Madrid:…`, with a generated VTIMEZONE so apps without
 * zone data still place it right) or in UTC, plus organizer, attendees with their answers,
 * STATUS, SEQUENCE, CLASS and TRANSP. An occurrence changed on its own (an event detached
 * from its series) goes out as calendar apps write one: a VEVENT with its series' UID and a
 * RECURRENCE-ID, the start the series' rule gave it; the series' EXDATEs are then only the
 * occurrences truly cancelled.
 *
 * An all-day event — one that runs from a midnight of its zone to a later midnight there,
 * whole days (a series: as its first occurrence does; see `calendarDaysOf` in
 * recurrence.ts) — goes out as dates, as calendar apps write one: `DTSTART;VALUE=DATE`,
 * `DTEND;VALUE=DATE` the day after its last (exclusive), and what RFC 5545 ties to DTSTART's
 * value type as dates too: the RRULE's UNTIL (§3.3.10: the day it falls on in the zone), its
 * EXDATEs (`EXDATE;VALUE=DATE`) and the RECURRENCE-ID of each changed occurrence
 * (`RECURRENCE-ID;VALUE=DATE`, naming the original day even when the occurrence is now
 * timed; a changed occurrence's own DTSTART/DTEND are dates when it is whole days too).
 * VALARM triggers stay relative to the start. A date is read in the reader's zone, so a New
 * York holiday is that day in Madrid too, not 06:00 to 06:00. At local midnights (`TZID`,
 * as before) it would be a timed 24-hour event for every app. A midnight the clocks repeat
 * must be its first pass (what a date reads back as), else the event goes out at its times;
 * so does one on a day whose midnight the clocks skip (it starts at 01:00 there). CalDAV
 * resources too: a write back of one reads its dates in the event's own zone
 * (server/users/users-service.ts).
 *
 * An event with neither DTEND nor DURATION lasts its day when its start is a date, and is an
 * instant (it ends when it starts) when it is a time, as RFC 5545 §3.6.1 says; so is one
 * whose DTEND is its DTSTART (Google writes such). An instant goes out without DTEND.
 *
 * Import turns each VEVENT into an {@link EventDraft} for the importer's own agenda (other
 * attendees are not invited; the file's answers are not ours to give), named by its UID so
 * that importing the same file again finds the same events. A VEVENT with a RECURRENCE-ID
 * (in a zone, in UTC, or a date for an all-day series) is a changed occurrence of the
 * series with its UID in the same file, and travels with it: moved or otherwise changed,
 * or cancelled (STATUS:CANCELLED); the store makes it an event detached from the series, as
 * changing one occurrence does (see `importEvent`). Whatever we do not support is skipped
 * and reported, never silently bent: other component kinds, changed occurrences whose
 * series is not in the file or has no such occurrence, changes to an occurrence and all
 * later ones (RANGE=THISANDFUTURE), RDATE, several RRULEs, rules outside our subset,
 * unknown zones, events we would refuse to create. So are the parts of an imported event
 * that are not kept, each under the event: VALARMs that make no reminder (see
 * `remindersOf`), and ATTENDEEs (nobody is invited by an import). What is kept otherwise than
 * the file has it is reported as changed: a title too long for an event (shortened, the
 * whole of it beginning the description) or on several lines, times read in the zone a
 * TZID names where the file's own definition of that zone (its VTIMEZONE) says otherwise.
 *
 * Zones, by one rule: a zone's name wins. A TZID naming an IANA zone is that zone; one with
 * a Windows zone name, as Outlook and Exchange write them (`W. Europe Standard Time`,
 * `(UTC+10:00) Canberra, Melbourne, Sydney`), is the IANA zone CLDR maps it to
 * (windows-zones.ts), so that a recurring Outlook meeting expands as the zone's daylight
 * saving has it. Where the file's VTIMEZONE of that name places the event's times otherwise
 * (a stale definition), the event keeps its wall-clock times in the named zone and is
 * reported as changed, saying where the two differ. Any other TZID is placed by the file's
 * VTIMEZONE: a one-off event is then kept in UTC, and a series skipped, as it cannot be
 * expanded correctly without knowing its zone's future. A VTIMEZONE that cannot be used (an
 * offset beyond ±18:00 or malformed, an impossible date) skips the events that need it,
 * saying why.
 *
 * Each top-level component is read on its own (icalendar-components.ts), so what is wrong
 * with one costs that one alone, skipped with the reason and its line, and the rest of the
 * request is imported:
 * - An impossible date or time (month 13, day 45, February 30, hour 25, minute 60) in
 *   DTSTART, DTEND, RECURRENCE-ID, EXDATE or an RRULE's UNTIL: ical.js would roll it over
 *   into a real date (`20271345` became a day of 2028), so it is never handed to it.
 * - A line that is not a content line, components nested more than 16 deep, a component
 *   left open at the end of the file.
 * Only what belongs to no component refuses the whole file: content outside any VCALENDAR,
 * a VCALENDAR's own properties that cannot be read. Line ends may be CRLF, LF or CR.
 *
 * Also handled for the whole file:
 * - Invisible formatting characters (bidirectional controls, zero-width characters; see
 *   text-hygiene.ts) in a SUMMARY, DESCRIPTION or LOCATION are stripped. The API refuses
 *   them from a person typing; files come from other tools, which leave stray ones (a byte
 *   order mark, a U+200B pasted from a web page), and refusing an event, let alone a file,
 *   for a character nobody sees would be hostile. What is stripped was invisible, so the
 *   event reads as it did in the tool it came from.
 *
 * Reminders travel as VALARMs: one `ACTION:DISPLAY` alarm per reminder on export
 * (`TRIGGER:-PT10M`), and on import each alarm that comes before the start (see
 * `remindersOf`).
 *
 * Round trip: importing an export (in the events' zone, for all-day events, whose dates are
 * read in the importer's) gives back title, start, end, zone, description,
 * location, visibility, transparency, recurrence, exceptions and reminders unchanged, and the
 * UID the event had (an event made in Agenda is exported with its id as UID), and each
 * occurrence changed on its own as a changed occurrence of its series.
 */
import { createHash } from 'node:crypto';
import ICAL from 'ical.js';
import { DateTime } from 'luxon';
import { AgendaError, InvalidInput } from '../../contract/errors.js';
import { compareText } from './decisions.js';
import {
  EARLIEST_INSTANT,
  LATEST_INSTANT,
  MAX_IMPORT_CHUNK_BYTES,
  MAX_IMPORT_CHUNK_EVENTS,
  MAX_IMPORTED_EVENTS,
  MAX_IMPORTED_OCCURRENCES_PER_SERIES,
  DESCRIPTION_MAX_LENGTH,
  MAX_REMINDER_MINUTES,
  MAX_REMINDERS,
  TIME,
  TITLE_MAX_LENGTH,
} from '../../contract/limits.js';
import {
  calendarDaysOf,
  formatRecurrenceRule,
  isOccurrenceStart,
  parseRecurrenceRule,
  seriesEnd,
} from './recurrence.js';
import {
  instantOfReading,
  instantOfWallClock,
  isSecondPassOfReading,
  offsetAt,
  offsetChanges,
  wallClockOf,
} from './zones.js';
import { ianaOfWindowsZone } from './windows-zones.js';
import { withoutInvisibleCharacters } from './text-hygiene.js';
import { writtenCalendars } from './icalendar-components.js';
import type { WrittenComponent } from './icalendar-components.js';
import {
  hasControlCharacters,
  isIanaZone,
  validateEventDraft,
  validateTimeZone,
} from './validation.js';
import type { EventDetails, EventDraft } from './validation.js';
import type {
  AttendeeStatus,
  CalendarEvent,
  EventId,
  EventRecord,
  EventStatus,
  ImportedVersion,
  Millis,
  RecurrenceRule,
  Username,
  Visibility,
} from './types.js';

type Component = InstanceType<typeof ICAL.Component>;
type Property = InstanceType<typeof ICAL.Property>;
type Time = InstanceType<typeof ICAL.Time>;

// Most drafts one store command may carry (contract/limits.ts).
export { MAX_IMPORTED_EVENTS } from '../../contract/limits.js';
/** Longest UID kept; a VEVENT with a longer one is skipped. */
export const MAX_UID_LENGTH = 500;
/** How derived UIDs (of VEVENTs without one) begin. */
export const DERIVED_UID_PREFIX = 'agenda-derived-';

const PRODUCT_ID = '-//Agenda//Agenda calendar//EN';
/** Users have no e-mail addresses; `.invalid` (RFC 2606) can never reach anybody. */
const ADDRESS_DOMAIN = 'agenda.invalid';

/**
 * Our visibilities ordered by strictness map onto CLASS values ordered by strictness as
 * calendar apps read them: PUBLIC < PRIVATE (show as busy) < CONFIDENTIAL, both ways. On
 * import, a VEVENT without CLASS (or with an empty one, as Exchange's CDO writes) is PUBLIC,
 * RFC 5545's default (§3.8.1.3), and one with a value we do not know is PRIVATE, as the RFC
 * asks; so an event that had no CLASS goes back out as CLASS:PUBLIC, never PRIVATE.
 */
const CLASS_OF: Readonly<Record<Visibility, string>> = {
  public: 'PUBLIC',
  busy: 'PRIVATE',
  private: 'CONFIDENTIAL',
};
const VISIBILITY_OF: Readonly<Record<string, Visibility>> = {
  PUBLIC: 'public',
  PRIVATE: 'busy',
  CONFIDENTIAL: 'private',
};
const STATUS_OF: Readonly<Record<EventStatus, string>> = {
  confirmed: 'CONFIRMED',
  pending: 'TENTATIVE',
  cancelled: 'CANCELLED',
};
const PARTSTAT_OF: Readonly<Record<AttendeeStatus, string>> = {
  accepted: 'ACCEPTED',
  pending: 'NEEDS-ACTION',
  declined: 'DECLINED',
};

function address(username: Username): string {
  return `mailto:${username}@${ADDRESS_DOMAIN}`;
}

// ---------------------------------------------------------------------------------------
// Export

function utcTime(instant: Millis): Time {
  return ICAL.Time.fromJSDate(new Date(instant), true);
}

/** A DATE-TIME showing a wall-clock reading (encoded as by `wallClockOf`): floating, or in `timezone`. */
function wallTime(wall: number, timezone?: Timezone): Time {
  const d = new Date(wall);
  return ICAL.Time.fromData(
    {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      isDate: false,
    },
    timezone,
  );
}

/**
 * The days an event covers when it goes out as dates (an all-day event, `VALUE=DATE`): the
 * wall-clock readings (encoded as by `wallClockOf`) of its first day's midnight and of the
 * midnight after its last day (DTEND's date is exclusive), when it runs from a midnight of
 * its zone to a later one ({@link calendarDaysOf}: what its series keeps to, day by day) and
 * both are the instants those dates name when read back in the zone (RFC 5545 §3.3.5: the
 * first pass of a midnight the clocks repeat). Undefined for any other event, which goes
 * out at its times.
 */
function allDayReadings(
  event: Pick<CalendarEvent, 'start' | 'end' | 'timeZone'>,
): { readonly from: number; readonly to: number } | undefined {
  const { start, end, timeZone } = event;
  const days = calendarDaysOf(start, end, timeZone);
  if (days === undefined || days < 1) return undefined;
  const from = wallClockOf(start, timeZone);
  const to = wallClockOf(end, timeZone);
  if (instantOfWallClock(from, timeZone) !== start || instantOfWallClock(to, timeZone) !== end) {
    return undefined;
  }
  return { from, to };
}

/** The DATE of a wall-clock reading (encoded as by `wallClockOf`): the day it falls on. */
function dateOf(wall: number): Time {
  const d = new Date(wall);
  return ICAL.Time.fromData({
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    isDate: true,
  });
}

/** A DATE property (`VALUE=DATE`) naming the day `instant` falls on in `zone`. */
function dateProperty(name: string, instant: Millis, zone: string): Property {
  const property = new ICAL.Property(name);
  property.setValue(dateOf(wallClockOf(instant, zone)));
  return property;
}

/** A DATE-TIME property in the event's zone (TZID + local time) or in UTC. */
function instantProperty(name: string, instant: Millis, zone: string): Property {
  const property = new ICAL.Property(name);
  if (zone === 'UTC') {
    property.setValue(utcTime(instant));
    return property;
  }
  property.setValue(wallTime(wallClockOf(instant, zone)));
  property.setParameter('tzid', zone);
  return property;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

function observance(zone: string, at: Millis, offsetFrom: number): Component {
  // A fixed locale keeps zone abbreviations (TZNAME) independent of the machine's settings.
  const after = DateTime.fromMillis(at, { zone, locale: 'en-US' });
  const component = new ICAL.Component(after.isInDST ? 'daylight' : 'standard');
  // An observance starts at the local time of the transition read with the old offset.
  component.addPropertyWithValue('dtstart', wallTime(at + offsetFrom * TIME.MINUTE));
  component.addPropertyWithValue(
    'tzoffsetfrom',
    ICAL.UtcOffset.fromString(formatOffset(offsetFrom)),
  );
  component.addPropertyWithValue(
    'tzoffsetto',
    ICAL.UtcOffset.fromString(formatOffset(after.offset)),
  );
  const name = after.offsetNameShort;
  if (name !== null && /^[A-Za-z]{2,6}$/.test(name)) component.addPropertyWithValue('tzname', name);
  return component;
}

/**
 * A VTIMEZONE for `zone` listing its offset at the start of `fromYear` and every transition
 * until the end of `toYear`, computed from the zone database luxon sees.
 */
function vtimezone(zone: string, fromYear: number, toYear: number): Component {
  const component = new ICAL.Component('vtimezone');
  component.addPropertyWithValue('tzid', zone);
  const start = Date.UTC(fromYear, 0, 1);
  const end = Date.UTC(toYear + 1, 0, 1);
  component.addSubcomponent(observance(zone, start, offsetAt(zone, start)));
  for (const change of offsetChanges(zone, start, end)) {
    component.addSubcomponent(observance(zone, change.at, change.from));
  }
  return component;
}

function yearOf(instant: Millis): number {
  return new Date(instant).getUTCFullYear();
}

/** How far ahead endless series need zone data in an export. */
const ENDLESS_SERIES_YEARS = 2;
/** Bound on the years one VTIMEZONE covers. */
const MAX_VTIMEZONE_YEARS = 30;
/** Of those, the years before the present a VTIMEZONE keeps when it cannot cover them all. */
const PAST_VTIMEZONE_YEARS = 10;

/**
 * Where an export uses a zone: what its VTIMEZONE must cover. A store reads it from its
 * indexes (calendar-rows.ts) without loading the events; {@link zoneUsesOf} computes it
 * from events at hand.
 */
export interface ZoneUse {
  readonly zone: string;
  /** The earliest start of an exported event in the zone. */
  readonly earliestStart: Millis;
  /** The latest end of an exported event or bounded series in it; null if none. */
  readonly latestEnd: Millis | null;
  /** The latest start of an exported endless series in it; null if none. */
  readonly latestEndlessStart: Millis | null;
}

/** The zones `events` use, by name (UTC needs no VTIMEZONE). */
export function zoneUsesOf(events: readonly CalendarEvent[]): ZoneUse[] {
  const uses = new Map<string, ZoneUse>();
  for (const event of events) {
    if (event.timeZone === 'UTC') continue;
    const end = seriesEnd(event);
    const use = uses.get(event.timeZone);
    const endless = !Number.isFinite(end);
    uses.set(event.timeZone, {
      zone: event.timeZone,
      earliestStart: Math.min(use?.earliestStart ?? Infinity, event.start),
      latestEnd: endless ? (use?.latestEnd ?? null) : Math.max(use?.latestEnd ?? -Infinity, end),
      latestEndlessStart: endless
        ? Math.max(use?.latestEndlessStart ?? -Infinity, event.start)
        : (use?.latestEndlessStart ?? null),
    });
  }
  return [...uses.values()];
}

/**
 * The years the VTIMEZONE of a zone used covers: from the year before its earliest start to
 * the year of its latest end (an endless series: {@link ENDLESS_SERIES_YEARS} past its start
 * or now, whichever is later), at most {@link MAX_VTIMEZONE_YEARS}. Null for UTC, which
 * needs none. Writing one costs in proportion to its years (zones.ts reads the zone's
 * offsets day by day), so an export pages them by years as well as by bytes.
 */
export function zoneSpan(use: ZoneUse, now: Millis): { from: number; to: number } | null {
  if (use.zone === 'UTC') return null;
  const from = yearOf(use.earliestStart) - 1;
  const lasts = [
    ...(use.latestEnd === null ? [] : [use.latestEnd]),
    ...(use.latestEndlessStart === null
      ? []
      : [Math.max(use.latestEndlessStart, now) + ENDLESS_SERIES_YEARS * 366 * TIME.DAY]),
  ];
  const last = yearOf(Math.max(...lasts));
  if (last - from <= MAX_VTIMEZONE_YEARS) return { from, to: last };
  // Too many years for one VTIMEZONE: the ones that matter most are the present's and the
  // coming ones'. Counted from the earliest event, a yearly series since 1990 had its zone
  // covered to 2019, and clients that read VTIMEZONEs put every event since then an hour off
  // for half the year.
  const to = Math.min(last, yearOf(now) + MAX_VTIMEZONE_YEARS - PAST_VTIMEZONE_YEARS);
  return { from: Math.max(from, to - MAX_VTIMEZONE_YEARS), to };
}

/** VTIMEZONEs written, by zone and years, most recently used last: feeds, CalDAV reads and
 * exports ask for the same few again and again, and each costs milliseconds a year. */
const writtenZones = new Map<string, string>();
const WRITTEN_ZONES_KEPT = 64;

/**
 * The VTIMEZONE of `zone` over the years `span` as iCalendar lines ({@link zoneSpan}); the
 * same text for the same zone and years, remembered for the last {@link WRITTEN_ZONES_KEPT}.
 */
export function vtimezoneText(zone: string, span: { from: number; to: number }): string {
  const key = `${zone} ${span.from} ${span.to}`;
  let text = writtenZones.get(key);
  if (text === undefined) {
    text = vtimezone(zone, span.from, span.to).toString() + '\r\n';
    if (writtenZones.size >= WRITTEN_ZONES_KEPT) {
      const oldest = writtenZones.keys().next().value;
      if (oldest !== undefined) writtenZones.delete(oldest);
    }
  } else {
    writtenZones.delete(key);
  }
  writtenZones.set(key, text);
  return text;
}

/**
 * How a detached event goes out as a changed occurrence of its series: under the series'
 * UID, with the start the series' rule gave the occurrence (RECURRENCE-ID, in the series'
 * zone).
 */
interface AsOccurrence {
  readonly series: CalendarEvent;
  readonly occurrenceStart: Millis;
}

function vevent(
  record: EventRecord,
  now: Millis,
  options: {
    readonly asOccurrence?: AsOccurrence;
    readonly exdates?: readonly Millis[];
  } = {},
): Component {
  const { event } = record;
  const { asOccurrence } = options;
  const component = new ICAL.Component('vevent');
  const owner = asOccurrence?.series ?? event;
  component.addPropertyWithValue('uid', owner.uid ?? owner.id);
  if (asOccurrence !== undefined) {
    // RFC 5545 §3.8.4.4: a RECURRENCE-ID has its series' DTSTART's value type, so that of an
    // all-day series is the DATE of the occurrence, whatever the changed occurrence is now.
    const { series, occurrenceStart } = asOccurrence;
    component.addProperty(
      allDayReadings(series) === undefined
        ? instantProperty('recurrence-id', occurrenceStart, series.timeZone)
        : dateProperty('recurrence-id', occurrenceStart, series.timeZone),
    );
  }
  component.addPropertyWithValue('dtstamp', utcTime(now));
  component.addPropertyWithValue('created', utcTime(event.createdAt));
  component.addPropertyWithValue('last-modified', utcTime(event.updatedAt));
  component.addPropertyWithValue('sequence', event.revision);
  // A local time with a TZID names the first pass through an hour the clocks repeat (RFC
  // 5545 §3.3.5), so an event that starts or ends in the second pass (01:30 EST on the night
  // New York leaves summer time) would come back an hour early from its own export. A
  // one-off event then goes out in UTC, which names its instants exactly. A series keeps
  // its TZID: its RRULE repeats the local time, and in UTC it would drift by an hour at
  // every change of offset. Its first occurrence, if in the second pass, is read back an
  // hour early, a limitation RFC 5545 leaves no clean way around (an RDATE in UTC with an
  // EXDATE of the local DTSTART would, but few apps read RDATE).
  const days = allDayReadings(event);
  const zone =
    days === undefined &&
    event.recurrence === null &&
    event.timeZone !== 'UTC' &&
    (isSecondPassOfReading(event.start, event.timeZone) ||
      isSecondPassOfReading(event.end, event.timeZone))
      ? 'UTC'
      : event.timeZone;
  if (days !== undefined) {
    // An all-day event: its days, read in whatever zone the reader is in (§3.3.4), DTEND
    // the day after its last (§3.6.1). At local times it would be a timed event of 24 hours
    // elsewhere (05:00 to 05:00 in Madrid for a New York holiday).
    const start = new ICAL.Property('dtstart');
    start.setValue(dateOf(days.from));
    component.addProperty(start);
    const end = new ICAL.Property('dtend');
    end.setValue(dateOf(days.to));
    component.addProperty(end);
  } else {
    component.addProperty(instantProperty('dtstart', event.start, zone));
    // An instant has no DTEND (RFC 5545 wants it after DTSTART): without one it ends when it
    // starts (§3.6.1), which is what it is.
    if (event.end !== event.start) {
      component.addProperty(instantProperty('dtend', event.end, zone));
    }
  }
  component.addPropertyWithValue('summary', event.title);
  if (event.description !== '') component.addPropertyWithValue('description', event.description);
  if (event.location !== '') component.addPropertyWithValue('location', event.location);
  component.addPropertyWithValue('class', CLASS_OF[event.visibility]);
  component.addPropertyWithValue('transp', event.transparent === true ? 'TRANSPARENT' : 'OPAQUE');
  component.addPropertyWithValue('status', STATUS_OF[event.status]);
  if (event.recurrence !== null) {
    component.addPropertyWithValue(
      'rrule',
      ICAL.Recur.fromString(ruleText(event.recurrence.rule, days, event.timeZone)),
    );
    // EXDATE and RDATE have DTSTART's value type (§3.8.5.1, §3.8.5.2): the day of each
    // cancelled or added occurrence for an all-day series (a DATE RDATE says VALUE=DATE).
    const occurrences = (name: string, starts: readonly Millis[]) => {
      for (const at of starts) {
        component.addProperty(
          days === undefined
            ? instantProperty(name, at, event.timeZone)
            : dateProperty(name, at, event.timeZone),
        );
      }
    };
    occurrences('exdate', options.exdates ?? event.recurrence.exceptions);
    occurrences('rdate', event.recurrence.additions ?? []);
  }
  for (const minutes of event.reminders ?? []) component.addSubcomponent(valarm(event, minutes));
  const organizer = component.addPropertyWithValue('organizer', address(event.organizer));
  organizer.setParameter('cn', event.organizer);
  for (const attendee of record.attendees) {
    const property = component.addPropertyWithValue('attendee', address(attendee.username));
    property.setParameter('cn', attendee.username);
    property.setParameter('partstat', PARTSTAT_OF[attendee.status]);
    property.setParameter('role', attendee.role === 'organizer' ? 'CHAIR' : 'REQ-PARTICIPANT');
  }
  return component;
}

/**
 * An exported RRULE: its UNTIL in UTC, or for an all-day series (`days`) the DATE of the day
 * it falls on in the series' zone, as RFC 5545 §3.3.10 wants (UNTIL has DTSTART's value
 * type). That day's occurrence starts at its midnight, at or before UNTIL, and the next
 * day's after it, so the date bounds the same occurrences; read back, it is the end of that
 * day (recurrence.ts).
 */
function ruleText(
  rule: RecurrenceRule,
  days: { readonly from: number } | undefined,
  zone: string,
): string {
  const text = formatRecurrenceRule(rule);
  if (days === undefined || rule.until === undefined) return text;
  const day = dateOf(wallClockOf(rule.until, zone)).toICALString();
  return text.replace(/UNTIL=[0-9TZ]+/, `UNTIL=${day}`);
}

/** A display alarm `minutes` before the start (RFC 5545 §3.6.6: DESCRIPTION is required). */
function valarm(event: CalendarEvent, minutes: number): Component {
  const alarm = new ICAL.Component('valarm');
  alarm.addPropertyWithValue('action', 'DISPLAY');
  alarm.addPropertyWithValue('description', event.title);
  alarm.addPropertyWithValue(
    'trigger',
    ICAL.Duration.fromSeconds(-minutes * (TIME.MINUTE / TIME.SECOND)),
  );
  return alarm;
}

export interface ExportOptions {
  /** The export's timestamp (DTSTAMP), passed in so that exports are reproducible. */
  readonly now: Millis;
  /** Shown by calendar apps as the calendar's name (X-WR-CALNAME). */
  readonly calendarName?: string;
}

/**
 * One event as an export writes it: an event of its own (a series with the EXDATEs of the
 * occurrences truly cancelled, `exdates`, when some of its exceptions go out as changed
 * occurrences), or a changed occurrence of an exported series (RECURRENCE-ID).
 */
export type ExportPiece =
  | {
      readonly kind: 'event';
      readonly record: EventRecord;
      /** The series' EXDATEs, when not all of its exceptions. */
      readonly exdates?: readonly Millis[];
    }
  | {
      readonly kind: 'occurrence';
      readonly record: EventRecord;
      readonly series: CalendarEvent;
      readonly occurrenceStart: Millis;
    };

const CALENDAR_END = 'END:VCALENDAR';

/**
 * How an exported calendar begins: BEGIN:VCALENDAR and its properties, each line ended by
 * CRLF. The VTIMEZONEs of the zones used ({@link zoneText}, in zone name order), then the
 * events ({@link exportPieceText}) and {@link CALENDAR_TAIL} follow, so an export can be
 * written a page at a time.
 */
export function calendarHead(options: ExportOptions): string {
  const calendar = new ICAL.Component('vcalendar');
  calendar.addPropertyWithValue('version', '2.0');
  calendar.addPropertyWithValue('prodid', PRODUCT_ID);
  calendar.addPropertyWithValue('calscale', 'GREGORIAN');
  if (options.calendarName !== undefined)
    calendar.addPropertyWithValue('x-wr-calname', options.calendarName);
  const text = calendar.toString();
  return text.slice(0, text.length - CALENDAR_END.length);
}

/** The VTIMEZONE of a zone an export uses, as iCalendar lines; empty for UTC. */
export function zoneText(use: ZoneUse, now: Millis): string {
  const span = zoneSpan(use, now);
  return span === null ? '' : vtimezoneText(use.zone, span);
}

/** One piece of an export as iCalendar lines (a VEVENT, folded, CRLF after each line). */
export function exportPieceText(piece: ExportPiece, now: Millis): string {
  const component =
    piece.kind === 'event'
      ? vevent(piece.record, now, {
          ...(piece.exdates === undefined ? {} : { exdates: piece.exdates }),
        })
      : vevent(piece.record, now, {
          asOccurrence: { series: piece.series, occurrenceStart: piece.occurrenceStart },
        });
  return component.toString() + '\r\n';
}

/** How an exported calendar ends. */
export const CALENDAR_TAIL = `${CALENDAR_END}\r\n`;

/** The events as one VCALENDAR text (CRLF lines, folded), events in start order. */
export function exportICalendar(records: readonly EventRecord[], options: ExportOptions): string {
  const sorted = [...records].sort(
    (a, b) => a.event.start - b.event.start || compareText(a.event.id, b.event.id),
  );
  const occurrences = changedOccurrences(sorted);
  const pieces: string[] = [];
  for (const record of sorted) {
    if (occurrences.detached.has(record.event.id)) continue;
    const changed = occurrences.bySeries.get(record.event.id) ?? [];
    const moved = new Set(changed.map((c) => c.occurrenceStart));
    const exdates = record.event.recurrence?.exceptions.filter((x) => !moved.has(x));
    pieces.push(
      exportPieceText(
        { kind: 'event', record, ...(exdates === undefined ? {} : { exdates }) },
        options.now,
      ),
    );
    for (const { record: occurrence, occurrenceStart } of changed) {
      pieces.push(
        exportPieceText(
          { kind: 'occurrence', record: occurrence, series: record.event, occurrenceStart },
          options.now,
        ),
      );
    }
  }
  const zones = zoneUsesOf(sorted.map((r) => r.event))
    .sort((a, b) => compareText(a.zone, b.zone))
    .map((use) => zoneText(use, options.now));
  return calendarHead(options) + zones.join('') + pieces.join('') + CALENDAR_TAIL;
}

/**
 * Which of `records` go out as changed occurrences of a series among them (RECURRENCE-ID),
 * as Google Calendar, Thunderbird and Exchange write them, rather than as events of their
 * own: the live events detached from a series that is exported too, whose occurrence is
 * still an exception of it (one of a series moved since has no occurrence there to change:
 * it goes out on its own, as before), one per occurrence. The series' EXDATEs are then the
 * occurrences truly cancelled. A detached event cancelled since goes out as it did before,
 * on its own and cancelled (so subscribers drop it), its occurrence an EXDATE of the series.
 */
function changedOccurrences(records: readonly EventRecord[]): {
  readonly bySeries: ReadonlyMap<EventId, { record: EventRecord; occurrenceStart: Millis }[]>;
  /** The events that go out only as changed occurrences of their series. */
  readonly detached: ReadonlySet<EventId>;
} {
  const series = new Map(
    records.filter((r) => r.event.recurrence !== null).map((r) => [r.event.id, r.event]),
  );
  const bySeries = new Map<EventId, { record: EventRecord; occurrenceStart: Millis }[]>();
  const detached = new Set<EventId>();
  const taken = new Set<string>();
  for (const record of records) {
    const from = record.event.detachedFrom;
    const of = from === undefined ? undefined : series.get(from.seriesId);
    if (from === undefined || of === undefined || record.event.status === 'cancelled') continue;
    if (!(of.recurrence?.exceptions.includes(from.occurrenceStart) ?? false)) continue;
    const key = `${of.id}@${from.occurrenceStart}`;
    if (taken.has(key)) continue;
    taken.add(key);
    detached.add(record.event.id);
    const list = bySeries.get(of.id) ?? [];
    bySeries.set(of.id, list);
    list.push({ record, occurrenceStart: from.occurrenceStart });
  }
  for (const list of bySeries.values()) list.sort((a, b) => a.occurrenceStart - b.occurrenceStart);
  return { bySeries, detached };
}

/** A live event detached from a series, as an export decides how it goes out. */
export interface ExportedDetached {
  readonly id: EventId;
  readonly start: Millis;
  readonly occurrenceStart: Millis;
}

/**
 * How one exported record goes out when an export is written a page at a time, in the
 * store's order rather than grouped (each piece is decided from the record and what the
 * store loads for it, so a page costs O(its records), whatever the rest of the agenda):
 *
 * - a series: with the EXDATEs of its exceptions that no exported live detached event
 *   changes (`detachedOfSeries`: the series' live detached events the export carries);
 * - a live detached event whose series the export carries (`series`, with that series'
 *   exported live detached events) and whose occurrence is still an exception of it: as
 *   that changed occurrence, if it is the first (by start, then id) for its occurrence;
 * - anything else: as an event of its own.
 *
 * These are the choices {@link exportICalendar} makes over the whole agenda at once.
 */
export function exportPieceOf(
  record: EventRecord,
  context: {
    readonly detachedOfSeries?: readonly ExportedDetached[];
    readonly series?: {
      readonly event: CalendarEvent;
      readonly detached: readonly ExportedDetached[];
    } | null;
  },
): ExportPiece {
  const { event } = record;
  if (event.recurrence !== null) {
    const exceptions = new Set(event.recurrence.exceptions);
    const moved = new Set(
      (context.detachedOfSeries ?? [])
        .map((d) => d.occurrenceStart)
        .filter((start) => exceptions.has(start)),
    );
    const exdates = event.recurrence.exceptions.filter((x) => !moved.has(x));
    return { kind: 'event', record, exdates };
  }
  const from = event.detachedFrom;
  const series = context.series;
  if (from === undefined || event.status === 'cancelled' || series == null) {
    return { kind: 'event', record };
  }
  if (!(series.event.recurrence?.exceptions.includes(from.occurrenceStart) ?? false)) {
    return { kind: 'event', record };
  }
  const first = series.detached
    .filter((d) => d.occurrenceStart === from.occurrenceStart)
    .reduce<ExportedDetached | undefined>(
      (best, d) =>
        best === undefined || (d.start - best.start || compareText(d.id, best.id)) < 0 ? d : best,
      undefined,
    );
  return first === undefined || first.id === event.id
    ? { kind: 'occurrence', record, series: series.event, occurrenceStart: from.occurrenceStart }
    : { kind: 'event', record };
}

// ---------------------------------------------------------------------------------------
// Import

/**
 * A changed occurrence of an imported series (a VEVENT with its UID and a RECURRENCE-ID):
 * the occurrence the series' rule starts at `occurrenceStart`, as the file has it, or
 * cancelled (STATUS:CANCELLED).
 */
export type ImportedOccurrenceDraft =
  | { readonly occurrenceStart: Millis; readonly draft: EventDraft }
  | { readonly occurrenceStart: Millis; readonly cancelled: true };

/** One VEVENT ready to become an event of the importer. */
export interface ImportedEvent {
  /** The VEVENT's UID, or for one without, a UID derived from its content ({@link derivedUid}). */
  readonly uid: string;
  readonly draft: EventDraft;
  /** A series' changed occurrences in the file, in file order; absent when there are none. */
  readonly occurrences?: readonly ImportedOccurrenceDraft[];
  /**
   * Its version (SEQUENCE, LAST-MODIFIED else DTSTAMP; for a series, the highest of it and
   * its changed occurrences): a later import changes the event only from a newer one.
   */
  readonly version: ImportedVersion;
}

/** A component left out of the import (or a part of one), and why. */
export interface SkippedComponent {
  /** The component's name (`VEVENT`, `VTODO`, `VJOURNAL`: any the file has); for a part of an imported event, `VALARM` or `ATTENDEE`. */
  readonly component: string;
  readonly uid: string | null;
  readonly summary: string | null;
  readonly reason: string;
  /**
   * Set when it is a part of an event that was imported (a `VALARM`, its `ATTENDEE`s): the
   * event itself is in the agenda. Absent for a component left out whole.
   */
  readonly part?: true;
}

/**
 * A component imported otherwise than the file has it, and how and why: a title shortened,
 * times placed by the file's definition of a zone rather than the IANA zone its name stands
 * for.
 */
export type ChangedComponent = SkippedComponent;

export interface ImportResult {
  readonly events: readonly ImportedEvent[];
  /**
   * What is not imported, and why: whole components (an unsupported kind, an event we would
   * refuse), and parts of imported events (`VALARM`, `ATTENDEE`) under their event's UID and
   * summary.
   */
  readonly skipped: readonly SkippedComponent[];
  readonly changed: readonly ChangedComponent[];
  /**
   * The UIDs of the events (of {@link events}) whose VEVENT says no CLASS: their visibility
   * is {@link ImportOptions.defaultVisibility}'s, not the file's.
   */
  readonly withoutClass: readonly string[];
  /**
   * With {@link ImportOptions.answerOf}: the answer (PARTSTAT, upper case, NEEDS-ACTION when
   * the ATTENDEE has none) the file gives that user on each series that lists them, by UID.
   */
  readonly answers?: Readonly<Record<string, string>>;
}

export interface ImportOptions {
  /** Zone for floating times and all-day dates (the importer's zone). */
  readonly defaultTimeZone: string;
  /**
   * The visibility of an event whose VEVENT says no CLASS (or an empty one): RFC 5545's
   * default, `public`, unless the importer asks otherwise. Google Calendar writes no CLASS
   * for an event of default visibility, so its private appointments would be public here
   * (outside attack 7): the importer chooses.
   */
  readonly defaultVisibility?: Visibility;
  /**
   * A user whose answers the file carries (their ATTENDEE, as exports write it): CalDAV
   * clients answer an invitation by writing the event back with their PARTSTAT changed.
   */
  readonly answerOf?: Username;
}

/** Thrown inside the import for one component; becomes a {@link SkippedComponent}. */
class Unsupported extends Error {}

function textValue(component: Component, name: string): string | null {
  const value = component.getFirstPropertyValue(name);
  return typeof value === 'string' ? value : null;
}

/** A text property of an imported event, without invisible formatting characters (see above). */
function visibleText(component: Component, name: string): string | null {
  const value = textValue(component, name);
  return value === null ? null : withoutInvisibleCharacters(value);
}

function timeOf(property: Property): Time {
  const value = property.getFirstValue();
  if (!(value instanceof ICAL.Time))
    throw new Unsupported(`${property.name.toUpperCase()} is not a date or time`);
  return value;
}

function tzidOf(property: Property): string | null {
  const tzid = property.getParameter('tzid');
  return typeof tzid === 'string' && tzid !== '' ? tzid : null;
}

function isUtc(time: Time): boolean {
  return time.zone === ICAL.Timezone.utcTimezone || time.zone?.tzid === 'UTC';
}

interface Placed {
  readonly instant: Millis;
  /** The IANA zone the time was written in, or null for UTC or a zone only the file defines. */
  readonly zone: string | null;
}

type Timezone = InstanceType<typeof ICAL.Timezone>;

/**
 * The VTIMEZONEs of one VCALENDAR by TZID, each read into an ical.js zone once, when first
 * needed: reading one expands its rules from their start, which Outlook puts in 1601.
 */
class FileZones {
  private readonly timezones = new Map<string, Timezone>();

  /**
   * @param definitions the VTIMEZONEs that can be read, by TZID.
   * @param unreadable why each of the others cannot be (an offset of 99 hours, an
   *   impossible date: see icalendar-components.ts), by TZID.
   */
  constructor(
    private readonly definitions: ReadonlyMap<string, Component>,
    readonly unreadable: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Whether each definition agrees with an IANA zone through a year, by `${tzid} ${iana} ${year}`. */
  private readonly agreements = new Map<string, boolean>();

  /**
   * Whether the file's definition of `tzid` places the middle of every month of `year` at
   * noon as `iana` does: what a series' readings a month apart (see {@link readZone}) would
   * find, asked once per zone and year rather than once per event.
   */
  agreesThroughout(tzid: string, timezone: Timezone, iana: string, year: number): boolean {
    const key = `${tzid} ${iana} ${year}`;
    let agrees = this.agreements.get(key);
    if (agrees === undefined) {
      agrees = contradiction(timezone, iana, Date.UTC(year, 0, 15, 12), 12) === null;
      this.agreements.set(key, agrees);
    }
    return agrees;
  }

  timezone(tzid: string): Timezone | undefined {
    let timezone = this.timezones.get(tzid);
    const definition = this.definitions.get(tzid);
    if (timezone === undefined && definition !== undefined) {
      timezone = new ICAL.Timezone(definition);
      this.timezones.set(tzid, timezone);
    }
    return timezone;
  }
}

/** How the times one event writes in one TZID are placed on the timeline. */
type ZoneReading =
  | {
      readonly iana: string;
      /**
       * Where the file's own definition of the zone (its VTIMEZONE) places the event's times
       * otherwise than the IANA zone its name stands for, which is followed.
       */
      readonly contradiction?: string;
    }
  | { readonly file: Timezone };

/** How many months of an event's zone are compared with the IANA zone its Windows name stands for. */
const MONTHS_COMPARED = 13;

/**
 * The instant a wall-clock reading (encoded as by `wallClockOf`) names in a file's zone, by
 * RFC 5545 §3.3.5 as for an IANA zone ({@link instantOfReading}): a reading the zone
 * repeats is its first pass, one it skips is read with the offset from before the gap.
 * ical.js's own answer (`toUnixTime`) took the second pass of a repeated hour and moved a
 * skipped reading back, an hour off either way.
 */
function placeInFileZone(wall: number, timezone: Timezone): Millis {
  return instantOfReading(wall, (instant) => fileZoneOffsetAt(timezone, instant));
}

/** A transition of a file's zone as ical.js keeps it: its UTC instant's fields, offsets in seconds. */
interface FileZoneChange {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly utcOffset: number;
  readonly prevUtcOffset: number;
}

/**
 * The UTC offset (minutes) of a file's zone at `instant`: that of its last transition at or
 * before it. ical.js answers offsets only for local readings, which is the question being
 * answered; its transitions (`changes`, kept sorted, at UTC instants once its rules are
 * expanded through the year) say it for instants.
 */
function fileZoneOffsetAt(timezone: Timezone, instant: Millis): number {
  const year = new Date(instant).getUTCFullYear();
  timezone._ensureCoverage(year + 1);
  const changes = timezone.changes as readonly FileZoneChange[];
  const at = (c: FileZoneChange) =>
    Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  // The last change at or before `instant` (binary search: Outlook's zones start in 1601).
  let low = 0;
  let high = changes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const change = changes[middle];
    if (change !== undefined && at(change) <= instant) low = middle + 1;
    else high = middle;
  }
  const last = changes[low - 1];
  if (last !== undefined) return last.utcOffset / 60;
  // Before the first transition: the offset it changes from.
  return (changes[0]?.prevUtcOffset ?? 0) / 60;
}

/**
 * Where the file's definition of a zone places a wall-clock time elsewhere than the IANA zone
 * does, among `months` readings a month apart from `wall` (the event's start) at its time of
 * day, or null when they agree throughout. Readings within three hours of a change of the
 * IANA zone's offset are passed over: a time in the hour skipped or repeated is placed by
 * each library its own way, and says nothing about whether the zones agree.
 */
function contradiction(
  timezone: Timezone,
  iana: string,
  wall: number,
  months: number,
): string | null {
  for (let k = 0; k < months; k++) {
    const reading = wall + k * 30 * TIME.DAY;
    const instant = instantOfWallClock(reading, iana);
    if (offsetAt(iana, instant - 3 * TIME.HOUR) !== offsetAt(iana, instant + 3 * TIME.HOUR)) {
      continue;
    }
    const theirs = placeInFileZone(reading, timezone);
    if (theirs !== instant) {
      const day = new Date(reading).toISOString().slice(0, 10);
      const file = formatOffset((reading - theirs) / TIME.MINUTE);
      const ours = formatOffset((reading - instant) / TIME.MINUTE);
      return `on ${day} the file's definition is at UTC${file}, ${iana} at UTC${ours}`;
    }
  }
  return null;
}

/**
 * How an event's times in the zone `tzid` are read. One rule: **a zone's name wins**.
 * - An IANA zone name is that zone, and a Windows zone name (windows-zones.ts) the IANA zone
 *   CLDR maps it to: the event keeps its wall-clock times in that zone, whose daylight-saving
 *   rules, past and future, the zone database knows. Where the file's VTIMEZONE of that name
 *   places the event's start otherwise — or, for a series, any month of the year after it
 *   (a stale Outlook still keeping Brazil's daylight saving, ended in 2019) — the event is
 *   reported as changed, saying where they differ: the file's author wrote 10:00 in that
 *   place, and 10:00 there it stays.
 * - Any other name is placed as the file's VTIMEZONE defines it, if the file has a readable
 *   one; else the event is skipped, saying why.
 * `wall` is the event's start in that zone.
 */
function readZone(tzid: string, zones: FileZones, wall: number, recurring: boolean): ZoneReading {
  const windows = isIanaZone(tzid) ? null : ianaOfWindowsZone(tzid);
  const iana = windows ?? (isIanaZone(tzid) ? validateTimeZone(tzid) : null);
  const timezone = zones.timezone(tzid);
  if (iana !== null) {
    // A start no event may have is refused whatever the file says: nothing to compare there.
    if (timezone === undefined || !withinEventTimes(wall)) return { iana };
    // The start itself, then — only where the definitions do not agree all year, which is
    // asked once per zone and year — the series' year of readings.
    let differs = contradiction(timezone, iana, wall, 1);
    const year = new Date(wall).getUTCFullYear();
    if (
      differs === null &&
      recurring &&
      !(
        zones.agreesThroughout(tzid, timezone, iana, year) &&
        zones.agreesThroughout(tzid, timezone, iana, year + 1)
      )
    ) {
      differs = contradiction(timezone, iana, wall, MONTHS_COMPARED);
    }
    if (differs === null) return { iana };
    const named =
      windows === null ? `its zone ${iana}` : `its zone "${tzid}", a Windows name for ${iana},`;
    return {
      iana,
      contradiction: `${named} is defined otherwise in the file (${differs}): its times are read in ${iana}, as the zone's name says, not by the file's definition`,
    };
  }
  if (timezone !== undefined) return { file: timezone };
  const unreadable = zones.unreadable.get(tzid);
  if (unreadable !== undefined) {
    throw new Unsupported(
      `the file's definition of its time zone "${tzid}" cannot be used: ${unreadable}`,
    );
  }
  throw new Unsupported(
    `the time zone "${tzid}" is neither an IANA zone, a Windows zone name nor defined in the file`,
  );
}

/**
 * Whether a wall-clock reading lies where an event's times may (a day's slack either side,
 * for any offset). A file's zone is only ever expanded within them: ical.js expands a zone
 * from its first year (1601 in Outlook's) to the one read, a third of a second for 9999,
 * for each zone of a file, and the time would be refused afterwards anyway.
 */
function withinEventTimes(wall: number): boolean {
  return wall >= EARLIEST_INSTANT - TIME.DAY && wall <= LATEST_INSTANT + TIME.DAY;
}

/**
 * The zones of one event's times: each TZID read once ({@link readZone}), at the first time
 * written in it — the start, for the start's — so that every time of the event in one TZID
 * is placed alike.
 */
class EventZones {
  private readonly readings = new Map<string, ZoneReading>();

  constructor(
    private readonly zones: FileZones,
    private readonly recurring: boolean,
  ) {}

  read(tzid: string, wall: number): ZoneReading {
    let reading = this.readings.get(tzid);
    if (reading === undefined) {
      reading = readZone(tzid, this.zones, wall, this.recurring);
      this.readings.set(tzid, reading);
    }
    return reading;
  }

  /** Where the file's definitions of the IANA zones the event is read in differ from them. */
  contradictions(): string[] {
    return [...this.readings.values()].flatMap((r) =>
      'contradiction' in r && r.contradiction !== undefined ? [r.contradiction] : [],
    );
  }
}

/**
 * Where a DATE or DATE-TIME value lies on the timeline: UTC as is, a TZID as the event reads
 * it ({@link readZone}), floating times and dates in the importer's zone.
 */
function place(time: Time, tzid: string | null, zones: EventZones, defaultZone: string): Placed {
  const wall = Date.UTC(
    time.year,
    time.month - 1,
    time.day,
    time.isDate ? 0 : time.hour,
    time.isDate ? 0 : time.minute,
    time.isDate ? 0 : time.second,
  );
  if (!time.isDate && isUtc(time)) return { instant: wall, zone: null };
  if (tzid !== null && !time.isDate) {
    const reading = zones.read(tzid, wall);
    if ('iana' in reading) {
      return { instant: instantOfWallClock(wall, reading.iana), zone: reading.iana };
    }
    // A reading no event may have is refused by validation whatever its offset.
    if (!withinEventTimes(wall)) return { instant: wall, zone: null };
    return { instant: placeInFileZone(wall, reading.file), zone: null };
  }
  return { instant: instantOfWallClock(wall, defaultZone), zone: defaultZone };
}

function endOf(
  component: Component,
  start: Placed,
  zones: EventZones,
  defaultZone: string,
  startTime: Time,
): Millis {
  const dtend = component.getFirstProperty('dtend');
  if (dtend !== null) {
    const endTime = timeOf(dtend);
    // RFC 5545 §3.6.1: DTEND is a date exactly when DTSTART is. Read literally, a mix is an
    // event of hours from a midnight in UTC, or of a day and a half: say so instead.
    if (endTime.isDate !== startTime.isDate) {
      const kind = (t: Time) => (t.isDate ? 'a date' : 'a date and time');
      throw new Unsupported(
        `its end (DTEND) is ${kind(endTime)} and its start (DTSTART) ${kind(startTime)}: both must be dates (an all-day event) or both dates and times`,
      );
    }
    return place(endTime, tzidOf(dtend), zones, defaultZone).instant;
  }
  const duration = component.getFirstPropertyValue('duration');
  if (duration instanceof ICAL.Duration) return start.instant + duration.toSeconds() * TIME.SECOND;
  // Neither (RFC 5545 §3.6.1): an all-day event lasts its day, in local time; an event at a
  // time ends when it starts, an instant.
  if (startTime.isDate) {
    // From the date, not from the instant: a midnight the clocks skip starts the day at 01:00.
    const midnight = Date.UTC(startTime.year, startTime.month - 1, startTime.day);
    return instantOfWallClock(midnight + TIME.DAY, defaultZone);
  }
  return start.instant;
}

/** A VEVENT read into a draft, with how its zones were read. */
interface ReadEvent {
  readonly draft: EventDraft;
  /** How its TZIDs were read: a series' changed occurrences name their occurrence in them. */
  readonly zones: EventZones;
  /** Whether it says its CLASS: see {@link derivedUid}'s caller. */
  readonly classWritten: boolean;
  /** Parts of it left out (its VALARMs and ATTENDEEs that are not kept), each with why. */
  readonly left: readonly { readonly component: string; readonly reason: string }[];
  /** What it says that is kept otherwise, each with how and why. */
  readonly changed: readonly string[];
}

/** The rule of an event that has RDATEs and no RRULE: its DTSTART, once. */
const ONLY_DTSTART = 'FREQ=DAILY;COUNT=1';

/**
 * The start of an occurrence an RDATE value adds: a date for an all-day event, a date and
 * time otherwise (RDATE has DTSTART's value type, §3.8.5.2), or a PERIOD as long as the
 * event (an occurrence of its own length is not something a series here can hold).
 */
function addedStart(value: unknown, start: Millis, end: Millis, startTime: Time): Time {
  if (value instanceof ICAL.Period) {
    const seconds = value.getDuration().toSeconds();
    if (startTime.isDate || seconds * TIME.SECOND !== end - start) {
      throw new Unsupported(
        `an RDATE period (${value.toString()}) lasts otherwise than the event: occurrences of a series here all last as the first`,
      );
    }
    return value.start;
  }
  if (!(value instanceof ICAL.Time)) throw new Unsupported('an RDATE is not a date or time');
  if (value.isDate !== startTime.isDate) {
    const kind = (t: Time) => (t.isDate ? 'a date' : 'a date and time');
    throw new Unsupported(
      `an RDATE (${value.toString()}) is ${kind(value)} and DTSTART ${kind(startTime)}: both must be the same kind`,
    );
  }
  return value;
}

/** A VEVENT (a series, a one-off event or a changed occurrence of a series) as a draft. */
function toDraft(
  component: Component,
  fileZones: FileZones,
  defaultZone: string,
  defaultVisibility: Visibility,
): ReadEvent {
  const occurrence = isChangedOccurrence(component);
  const rrules = component.getAllProperties(RAW_RRULE);
  const rdates = component.getAllProperties('rdate');
  if (rrules.length > 1) throw new Unsupported('an event with several RRULEs is not supported');
  if (occurrence && rrules.length + rdates.length > 0) {
    throw new Unsupported(
      'a changed occurrence (RECURRENCE-ID) cannot repeat on its own (RRULE or RDATE)',
    );
  }
  const recurring = rrules.length > 0 || rdates.length > 0;
  if (isCancelled(component)) throw new Unsupported('the event is cancelled');

  const dtstart = component.getFirstProperty('dtstart');
  if (dtstart === null) throw new Unsupported('the event has no start (DTSTART)');
  const startTime = timeOf(dtstart);
  const zones = new EventZones(fileZones, recurring);
  const start = place(startTime, tzidOf(dtstart), zones, defaultZone);
  const end = endOf(component, start, zones, defaultZone, startTime);
  const rawRule = rrules[0]?.getFirstValue();
  if (recurring && start.zone === null && tzidOf(dtstart) !== null) {
    throw new Unsupported(
      `a recurring event in the zone "${tzidOf(dtstart) ?? ''}", which is not an IANA zone, cannot be expanded correctly`,
    );
  }
  const timeZone = start.zone ?? 'UTC';
  // RDATE without RRULE (RFC 5545 §3.8.5.2): DTSTART and the dates, a rule that repeats once.
  const rule =
    rawRule === undefined || rawRule === null
      ? rdates.length > 0
        ? ONLY_DTSTART
        : null
      : recurrenceOf(withoutDtstartParts(String(rawRule), start.instant, timeZone), timeZone);
  const additions = rdates.flatMap((property) =>
    property.getValues().map((value: unknown) => {
      const time = addedStart(value, start.instant, end, startTime);
      return place(time, tzidOf(property), zones, timeZone).instant;
    }),
  );
  const exceptions = component.getAllProperties('exdate').flatMap((property) =>
    property.getValues().map((value: unknown) => {
      if (!(value instanceof ICAL.Time)) throw new Unsupported('EXDATE is not a date or time');
      return place(value, tzidOf(property), zones, timeZone).instant;
    }),
  );
  const alarms = remindersOf(component, start.instant, zones, defaultZone);
  const reminders = alarms.minutes;
  const changed: string[] = [];
  const text = titleAndDescription(
    visibleText(component, 'summary'),
    visibleText(component, 'description') ?? '',
    changed,
  );
  changed.push(...zones.contradictions());
  const left = [
    ...alarms.left.map((reason) => ({ component: 'VALARM', reason })),
    ...attendeesLeftOut(component),
  ];
  const draft: EventDraft = {
    title: text.title,
    start: start.instant,
    end,
    timeZone,
    description: text.description,
    location: visibleText(component, 'location') ?? '',
    visibility: visibilityOf(component, defaultVisibility),
    recurrence: rule,
    exceptions: rule === null ? [] : exceptions,
    ...(additions.length === 0 ? {} : { additions }),
    ...(reminders.length === 0 ? {} : { reminders }),
    ...(isTransparent(component) ? { transparent: true } : {}),
  };
  return { draft, zones, classWritten: classOf(component) !== null, left, changed };
}

/**
 * The title and description of an event from its SUMMARY and DESCRIPTION, made fit for an
 * event: no SUMMARY (or a blank one) is `(untitled)`; a title is one line, so line breaks in it become
 * spaces; one longer than an event's title may be ({@link TITLE_MAX_LENGTH}) is shortened,
 * ending in `…`, and the whole of it begins the description (when both fit there), so no
 * word of it is lost. What was changed is said in `changed`.
 */
function titleAndDescription(
  summary: string | null,
  description: string,
  changed: string[],
): { title: string; description: string } {
  let title = summary?.trim() ?? '';
  if (title === '') return { title: '(untitled)', description };
  if (/[\t\r\n\u0085\u2028\u2029]/.test(title)) {
    title = title.replace(/\s*[\t\r\n\u0085\u2028\u2029]+\s*/g, ' ');
    changed.push('its title is on several lines (or has tabs); it is kept on one line');
  }
  if (title.length <= TITLE_MAX_LENGTH) return { title, description };
  let cut = TITLE_MAX_LENGTH - 1;
  // Never half of a character written as two UTF-16 units.
  const last = title.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  const whole = title;
  title = `${whole.slice(0, cut).trimEnd()}…`;
  const joined = description.trim() === '' ? whole : `${whole}\n\n${description}`;
  if (joined.trim().length <= DESCRIPTION_MAX_LENGTH) {
    changed.push(
      `its title has ${whole.length} characters, more than the ${TITLE_MAX_LENGTH} a title may have: it is shortened, and the whole title begins the description`,
    );
    return { title, description: joined };
  }
  changed.push(
    `its title has ${whole.length} characters, more than the ${TITLE_MAX_LENGTH} a title may have: it is shortened (the description has no room left for the whole title)`,
  );
  return { title, description };
}

/** How many attendees a report names before saying how many more there are. */
const ATTENDEES_NAMED = 3;

/** The address of a CAL-ADDRESS property (ORGANIZER, ATTENDEE), without `mailto:`. */
function addressOf(property: Property): string {
  const value = property.getFirstValue();
  return typeof value === 'string' ? value.replace(/^mailto:/i, '').trim() : '';
}

/**
 * The ATTENDEEs of a VEVENT, which an import does not keep — it puts the event in the
 * importer's agenda alone and invites nobody: the file's people are not (known to be)
 * Agenda's users, and their answers are not the importer's to give — said as one part
 * left out, naming the first few. The organizer's own ATTENDEE (Google, Exchange and
 * Agenda list the organizer among the attendees) is not one of them: whoever imports the
 * event is its organizer.
 */
function attendeesLeftOut(component: Component): { component: string; reason: string }[] {
  const organizer = component.getFirstProperty('organizer');
  const organizerAddress = organizer === null ? '' : addressOf(organizer).toLowerCase();
  const attendees = component
    .getAllProperties('attendee')
    .filter((property) => {
      const address = addressOf(property).toLowerCase();
      return address === '' || address !== organizerAddress;
    })
    .map((property) => {
      const address = addressOf(property);
      const name = property.getParameter('cn');
      return withoutInvisibleCharacters(
        typeof name === 'string' && name !== '' && name !== address
          ? `${name} <${address}>`
          : address,
      );
    });
  if (attendees.length === 0) return [];
  const named = attendees.slice(0, ATTENDEES_NAMED).join(', ');
  const more =
    attendees.length > ATTENDEES_NAMED ? ` and ${attendees.length - ATTENDEES_NAMED} more` : '';
  const people = attendees.length === 1 ? 'its attendee' : `its ${attendees.length} attendees`;
  const are = attendees.length === 1 ? 'is' : 'are';
  return [
    {
      component: 'ATTENDEE',
      reason: `${people} (${named}${more}) ${are} not kept: an import puts the event in your agenda alone and invites nobody`,
    },
  ];
}

/**
 * Whether a VEVENT is shown as free (TRANSP:TRANSPARENT: holidays, out-of-office notes,
 * Exchange's free all-day events): it then takes no time from its attendees. RFC 5545's
 * default is OPAQUE.
 */
function isTransparent(component: Component): boolean {
  return textValue(component, 'transp')?.trim().toUpperCase() === 'TRANSPARENT';
}

/** The CLASS of a VEVENT in capitals, or null when it has none or an empty one. */
function classOf(component: Component): string | null {
  const value = textValue(component, 'class')?.trim().toUpperCase();
  return value === undefined || value === '' ? null : value;
}

/**
 * The visibility a VEVENT's CLASS stands for (see {@link CLASS_OF}); `otherwise` when it
 * says none (RFC 5545's default is `public`).
 */
function visibilityOf(component: Component, otherwise: Visibility): Visibility {
  const value = classOf(component);
  if (value === null) return otherwise;
  return VISIBILITY_OF[value] ?? 'busy';
}

/** The reminders of a VEVENT's alarms, and why each alarm left out was. */
interface Alarms {
  readonly minutes: number[];
  readonly left: string[];
}

/**
 * The reminders of a VEVENT's VALARMs, as minutes before its start: a TRIGGER that is a
 * duration before (or at) the start, or a date-time before the start, whatever the ACTION
 * (a reminder is announced by `agenda watch`, however the file wanted it given). Alarms
 * relative to the end, after the start, without TRIGGER or unreadable are left out, as are
 * those earlier than `MAX_REMINDER_MINUTES`; a part of a minute counts as a whole one (early
 * rather than late); of the distinct ones the `MAX_REMINDERS` nearest to the start are kept.
 * Each alarm left out is said, but for `ACTION:NONE`, Apple's way of writing that there is
 * no alarm. A file's alarms never cost it its event.
 */
function remindersOf(
  component: Component,
  start: Millis,
  zones: EventZones,
  defaultZone: string,
): Alarms {
  const minutes = new Set<number>();
  const left: string[] = [];
  for (const alarm of component.getAllSubcomponents('valarm')) {
    if (textValue(alarm, 'action')?.toUpperCase() === 'NONE') continue;
    const trigger = alarm.getFirstProperty('trigger');
    if (trigger === null) {
      left.push('it has no TRIGGER, so nothing says when it would go off');
      continue;
    }
    const value: unknown = trigger.getFirstValue();
    let before: number | undefined;
    if (value instanceof ICAL.Duration) {
      const related = trigger.getParameter('related');
      if (typeof related === 'string' && related.toUpperCase() === 'END') {
        left.push(
          `it goes off relative to the end (${value.toString()}); reminders come before the start`,
        );
        continue;
      }
      const seconds = value.toSeconds();
      if (seconds <= 0) before = Math.ceil(-seconds / 60);
    } else if (value instanceof ICAL.Time) {
      try {
        const at = place(value, tzidOf(trigger), zones, defaultZone).instant;
        if (at <= start) before = Math.ceil((start - at) / TIME.MINUTE);
      } catch (error) {
        left.push(
          `its TRIGGER cannot be read (${error instanceof Error ? error.message : String(error)})`,
        );
        continue;
      }
    } else {
      left.push('its TRIGGER is neither a duration nor a date-time');
      continue;
    }
    if (before === undefined) {
      left.push('it goes off after the start; reminders come before it');
    } else if (before > MAX_REMINDER_MINUTES) {
      left.push(
        `it goes off ${before} minutes before the start, earlier than a reminder may (4 weeks)`,
      );
    } else {
      minutes.add(before);
    }
  }
  const kept = [...minutes].sort((a, b) => a - b);
  for (const dropped of kept.slice(MAX_REMINDERS)) {
    left.push(
      `an event keeps at most ${MAX_REMINDERS} reminders, the nearest to its start; this one (${dropped} minutes before) is further`,
    );
  }
  return { minutes: kept.slice(0, MAX_REMINDERS), left };
}

/**
 * The name RRULE properties are read under. ical.js parses an RRULE as it reads the file, and
 * both ways it does so are wrong for an import: one malformed rule (`BYDAY=0MO`) fails the
 * whole file, and some are quietly bent (`COUNT=0` and `INTERVAL=0` become an endless daily
 * series, a repeated part keeps its last value). Renamed, a rule reaches us as the text the
 * file holds, and is judged by the rules the API applies to a `repeat` (see recurrenceOf).
 */
const RAW_RRULE = 'x-agenda-import-rrule';

/**
 * `text` with each RRULE property (the start of a logical line) of its events renamed to
 * {@link RAW_RRULE}. Those of its VTIMEZONEs are left as they are: they are the zone's
 * daylight-saving rules, which ical.js needs to place a time in a zone only the file defines
 * (renamed, a zone had only its first observances, and every time in it was placed with the
 * offset of the last one: Outlook's 'W. Europe Standard Time' was at +02:00 all winter).
 */
function withRawRecurrenceRules(text: string): string {
  let inZone = 0;
  return text.replace(
    /^(BEGIN|END):VTIMEZONE\b|^RRULE(?=[;:])/gim,
    (match: string, edge: string | undefined) => {
      if (edge !== undefined) {
        inZone = edge.toUpperCase() === 'BEGIN' ? inZone + 1 : Math.max(0, inZone - 1);
        return match;
      }
      return inZone > 0 ? match : RAW_RRULE.toUpperCase();
    },
  );
}

/**
 * A yearly RRULE without the BYMONTH (and BYMONTHDAY) that only repeat DTSTART's own month
 * and day, as Outlook writes every yearly event (`FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=3` from
 * 30 March): RFC 5545 §3.3.10 takes what a rule leaves out from DTSTART, so the rule is
 * `FREQ=YEARLY`, the same occurrences, which our subset (no BYMONTH) can keep. Any other
 * rule is returned as it is, to be checked (and a BYMONTH that says more refused).
 */
function withoutDtstartParts(raw: string, start: Millis, timeZone: string): string {
  const parts = raw.split(';').map((part) => {
    const eq = part.indexOf('=');
    return [part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim()] as const;
  });
  const value = (name: string) => parts.find(([key]) => key === name)?.[1];
  const month = value('BYMONTH');
  if (value('FREQ')?.toUpperCase() !== 'YEARLY' || month === undefined) return raw;
  if (value('BYDAY') !== undefined) return raw;
  const day = new Date(wallClockOf(start, timeZone));
  const monthDay = value('BYMONTHDAY');
  if (!/^\d{1,2}$/.test(month) || Number(month) !== day.getUTCMonth() + 1) return raw;
  if (
    monthDay !== undefined &&
    (!/^\d{1,2}$/.test(monthDay) || Number(monthDay) !== day.getUTCDate())
  )
    return raw;
  return parts
    .filter(([key]) => key !== 'BYMONTH' && key !== 'BYMONTHDAY')
    .map(([key, v]) => `${key}=${v}`)
    .join(';');
}

/**
 * An RRULE as the file writes it, checked as the API checks a `repeat`, then written the way
 * imports always wrote it (so the UIDs derived from UID-less events do not change).
 * @throws AgendaError (`invalid`) saying what is wrong with the rule.
 */
function recurrenceOf(raw: string, timeZone: string): string {
  parseRecurrenceRule(raw, timeZone);
  try {
    // Every part's name and value is case-insensitive (RFC 5545 §3.1); ical.js reads capitals.
    return String(ICAL.Recur.fromString(raw.toUpperCase()));
  } catch (error) {
    throw new Unsupported(
      `its RRULE cannot be read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** Properties whose values may be DATEs an import reads, by their jCal (lower-case) names. */
const DATE_VALUED = new Set(['dtstart', 'dtend', 'recurrence-id', 'exdate', 'rdate']);
/** What ical.js makes of an eight-digit value it reads as a DATE-TIME (`20190101`). */
const DATE_READ_AS_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T::$/;

/**
 * A DATE written without `VALUE=DATE` (`DTSTART:20190101`, as Facebook's birthday feed and
 * PHP libraries write all-day events), read as the date it is. RFC 5545 wants the VALUE
 * parameter, but such a value can be nothing else, and Outlook, Google and Thunderbird read
 * it so. ical.js types it by the property's default, DATE-TIME, and then fails on it
 * (`invalid date-time value: "2019-01-01T::"`); here, in the parsed (jCal) tree, each such
 * property whose values are all eight-digit dates becomes a DATE property.
 */
function readDatesAsDates(component: unknown[]): void {
  const [, properties, children] = component;
  if (Array.isArray(properties)) {
    for (const property of properties as unknown[]) {
      if (!Array.isArray(property)) continue;
      const [name, , type, ...values] = property as unknown[];
      if (type !== 'date-time' || typeof name !== 'string' || !DATE_VALUED.has(name)) continue;
      const dates = values.map((value) =>
        typeof value === 'string' ? DATE_READ_AS_DATE_TIME.exec(value)?.[1] : undefined,
      );
      if (dates.length > 0 && dates.every((date) => date !== undefined)) {
        property.splice(2, property.length - 2, 'date', ...dates);
      }
    }
  }
  if (Array.isArray(children)) {
    for (const child of children as unknown[]) if (Array.isArray(child)) readDatesAsDates(child);
  }
}

/** A top-level component of the file: parsed, or why it could not be. */
type FileEntry =
  | { readonly written: WrittenComponent; readonly component: Component; readonly zones: FileZones }
  | { readonly written: WrittenComponent; readonly problem: string };

/** One component's text parsed (see {@link withRawRecurrenceRules}, {@link readDatesAsDates}). */
function parseComponent(text: string): Component {
  const parsed: unknown = ICAL.parse(withRawRecurrenceRules(text));
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') {
    throw new Error('it is not one component');
  }
  readDatesAsDates(parsed);
  return new ICAL.Component(parsed);
}

/**
 * The top-level components of every calendar of `text`, each parsed on its own, so that one
 * that cannot be read (icalendar-components.ts says why, or ical.js does) is that
 * component's problem, not the file's; the VTIMEZONEs go to their calendar's zones instead,
 * and one that cannot be read is known by its TZID with why.
 * @throws InvalidInput when the text is not iCalendar at all (see writtenCalendars), or a
 * calendar's own properties cannot be read.
 */
function readEntries(text: string): FileEntry[] {
  const calendars = writtenCalendars(text);
  if (calendars.length === 0) {
    throw new InvalidInput('the file is not an iCalendar calendar (no VCALENDAR)', {
      field: 'file',
    });
  }
  const entries: FileEntry[] = [];
  for (const calendar of calendars) {
    try {
      parseComponent(calendar.header);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new InvalidInput(`the file is not valid iCalendar: ${detail}`, {
        field: 'file',
        cause: error,
      });
    }
    const definitions = new Map<string, Component>();
    const unreadable = new Map<string, string>();
    const zones = new FileZones(definitions, unreadable);
    for (const written of calendar.components) {
      let problem = written.problem;
      let component: Component | undefined;
      if (problem === null) {
        try {
          component = parseComponent(written.text);
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          problem = `its ${written.name} (from line ${written.line}) is not valid iCalendar: ${detail}`;
        }
      }
      if (written.name === 'VTIMEZONE') {
        const tzid =
          (component === undefined ? null : textValue(component, 'tzid')) ?? written.tzid;
        if (tzid === null) continue;
        if (component === undefined) unreadable.set(tzid, problem ?? '');
        else definitions.set(tzid, component);
        continue;
      }
      entries.push(
        component === undefined
          ? { written, problem: problem ?? '' }
          : { written, component, zones },
      );
    }
  }
  return entries;
}

/**
 * The UID of a VEVENT that has none: a digest of the draft it reads as, so that reading
 * the file again gives the same UID (and an identical copy of the event the same one).
 * Floating times are read in the importer's zone, so the zone is part of what is digested.
 */
export function derivedUid(draft: EventDraft): string {
  const canonical = JSON.stringify([
    draft.title,
    draft.start,
    draft.end,
    draft.timeZone ?? null,
    draft.description ?? '',
    draft.location ?? '',
    draft.visibility ?? null,
    draft.recurrence ?? null,
    draft.exceptions ?? [],
  ]);
  return DERIVED_UID_PREFIX + createHash('sha256').update(canonical).digest('base64url');
}

function uidOf(component: Component): string | null {
  const uid = textValue(component, 'uid');
  return uid === null || uid === '' ? null : uid;
}

function sequenceOf(component: Component): number {
  const value = component.getFirstPropertyValue('sequence');
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * The version of a VEVENT ({@link ImportedVersion}): its SEQUENCE (0, RFC 5545's default,
 * when it has none or a negative one), and its LAST-MODIFIED, else its DTSTAMP, read as UTC.
 */
function versionOf(component: Component): ImportedVersion {
  const sequence = Math.min(
    Math.max(0, Math.trunc(sequenceOf(component))),
    Number.MAX_SAFE_INTEGER,
  );
  let stamp: Millis | null = null;
  for (const name of ['last-modified', 'dtstamp']) {
    const value: unknown = component.getFirstPropertyValue(name);
    if (value instanceof ICAL.Time && !value.isDate) {
      stamp = Date.UTC(
        value.year,
        value.month - 1,
        value.day,
        value.hour,
        value.minute,
        value.second,
      );
      if (Number.isFinite(stamp)) break;
      stamp = null;
    }
  }
  return { sequence, stamp };
}

/** The later of two versions in each part: a series' with its changed occurrences'. */
function latestVersion(a: ImportedVersion, b: ImportedVersion): ImportedVersion {
  return {
    sequence: Math.max(a.sequence, b.sequence),
    stamp: a.stamp === null ? b.stamp : b.stamp === null ? a.stamp : Math.max(a.stamp, b.stamp),
  };
}

function isChangedOccurrence(component: Component): boolean {
  return component.getFirstProperty('recurrence-id') !== null;
}

function isCancelled(component: Component): boolean {
  return textValue(component, 'status')?.toUpperCase() === 'CANCELLED';
}

function tooBigToImport(what: string): InvalidInput {
  return new InvalidInput(
    `one import request carries at most ${MAX_IMPORT_CHUNK_EVENTS} events and ${MAX_IMPORT_CHUNK_BYTES / 1024 / 1024} MB; ` +
      `this one has ${what}: split the file (agenda import does)`,
    { field: 'file' },
  );
}

/**
 * Reads an iCalendar text — one import request — into event drafts for the importer, each
 * with its UID, skipping (and reporting) what is unsupported. Each draft passed validation;
 * the store re-validates anyway.
 *
 * Two VEVENTs with one UID and no RECURRENCE-ID are two versions of one event: the one with
 * the higher SEQUENCE is imported (the later one on a tie) and the other is skipped; so are
 * two with one UID and one RECURRENCE-ID. A VEVENT with a RECURRENCE-ID comes in its
 * series' `occurrences` ({@link occurrencesBySeries}). A VEVENT without a UID gets a
 * {@link derivedUid}; identical copies of one are imported once.
 * @throws InvalidInput when the text is not iCalendar at all, or holds more than
 * `MAX_IMPORT_CHUNK_EVENTS` events (VEVENTs that are not changed occurrences) or
 * `MAX_IMPORT_CHUNK_BYTES`: such a file is imported in several requests.
 */
export function importICalendar(text: string, options: ImportOptions): ImportResult {
  const defaultZone = validateTimeZone(options.defaultTimeZone);
  const defaultVisibility = options.defaultVisibility ?? 'public';
  if (!Object.hasOwn(CLASS_OF, defaultVisibility)) {
    throw new InvalidInput(
      'the visibility of events without CLASS must be public, busy or private',
      {
        field: 'visibility',
      },
    );
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_IMPORT_CHUNK_BYTES) {
    throw tooBigToImport(`${(bytes / 1024 / 1024).toFixed(1)} MB`);
  }
  if (!/BEGIN:VCALENDAR/i.test(text)) {
    throw new InvalidInput('the file is not an iCalendar calendar (no BEGIN:VCALENDAR)', {
      field: 'file',
    });
  }
  const entries = readEntries(text);
  const masters = entries.filter((e) => e.written.name === 'VEVENT' && !e.written.recurrenceId);
  if (masters.length > MAX_IMPORT_CHUNK_EVENTS) throw tooBigToImport(`${masters.length} events`);
  /** The UIDs of the events read whose VEVENT says no CLASS, in file order. */
  const withoutClass: string[] = [];
  const versions = new Map<string, Component>();
  // The UIDs of the series the file has, those that cannot be read included.
  const seriesInFile = new Set<string>();
  for (const master of masters) {
    if (master.written.uid !== null) seriesInFile.add(master.written.uid);
    if (!('component' in master)) continue;
    const { component } = master;
    const uid = uidOf(component);
    if (uid === null) continue;
    const held = versions.get(uid);
    if (held === undefined || sequenceOf(component) >= sequenceOf(held))
      versions.set(uid, component);
  }

  const events: ImportedEvent[] = [];
  const answers: Record<string, string> = {};
  const skipped: SkippedComponent[] = [];
  const changed: ChangedComponent[] = [];
  const derived = new Set<string>();
  const series = new Map<string, ImportedSeries>();
  const changes: ChangedOccurrence[] = [];
  for (const entry of entries) {
    const { written } = entry;
    const name = written.name;
    if (!('component' in entry)) {
      const summary = written.summary === null ? null : withoutInvisibleCharacters(written.summary);
      skipped.push({
        component: name,
        uid: written.uid,
        summary,
        reason: name === 'VEVENT' ? entry.problem : 'only events (VEVENT) are imported',
      });
      continue;
    }
    const { component, zones } = entry;
    const uid = uidOf(component);
    const summary = visibleText(component, 'summary');
    const skip = (reason: string) => skipped.push({ component: name, uid, summary, reason });
    // What an imported component had left out or changed, under the UID it is imported with.
    const report = (read: ReadEvent, as: string | null) => {
      for (const left of read.left) skipped.push({ ...left, uid: as, summary, part: true });
      for (const reason of read.changed)
        changed.push({ component: name, uid: as, summary, reason });
    };
    if (name !== 'VEVENT') {
      skip('only events (VEVENT) are imported');
      continue;
    }
    if (uid !== null && uid.length > MAX_UID_LENGTH) {
      skip(`its UID is longer than ${MAX_UID_LENGTH} characters`);
      continue;
    }
    // A UID goes back out in every export, to whoever sees the event: one holding an escape
    // sequence would reach their terminal or their calendar app as it was written.
    if (uid !== null && hasControlCharacters(uid)) {
      skip('its UID contains control characters');
      continue;
    }
    if (isChangedOccurrence(component)) {
      // Read once every series is: an occurrence may come before its series in the file.
      changes.push({ component, zones, uid, skip, report: (read) => report(read, uid) });
      continue;
    }
    if (uid !== null && versions.get(uid) !== component) {
      skip(
        'another VEVENT with the same UID replaces it (a higher SEQUENCE, or later in the file)',
      );
      continue;
    }
    try {
      const read = toDraft(component, zones, defaultZone, defaultVisibility);
      const { draft } = read;
      const details = validateEventDraft(draft);
      const version = versionOf(component);
      if (uid !== null) {
        series.set(uid, { draft, details, zones: read.zones });
        events.push({ uid, draft, version });
        if (!read.classWritten) withoutClass.push(uid);
        const answer =
          options.answerOf === undefined ? null : answerIn(component, options.answerOf);
        if (answer !== null) answers[uid] = answer;
        report(read, uid);
        continue;
      }
      // Digested as imports read a VEVENT without CLASS before its default was PUBLIC (busy),
      // so that re-importing a file without UIDs still finds the events imported from it then.
      const digest = derivedUid(read.classWritten ? draft : { ...draft, visibility: 'busy' });
      if (derived.has(digest)) {
        skip('an identical event without a UID comes earlier in the file');
        continue;
      }
      derived.add(digest);
      events.push({ uid: digest, draft, version });
      if (!read.classWritten) withoutClass.push(digest);
      report(read, digest);
    } catch (error) {
      skip(
        error instanceof Unsupported || error instanceof AgendaError
          ? error.message
          : `the event could not be read (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  const occurrences = occurrencesBySeries(
    changes,
    series,
    seriesInFile,
    MAX_IMPORTED_EVENTS - events.length,
    defaultVisibility,
  );
  return {
    events: events.map((e) => {
      const ofSeries = occurrences.get(e.uid);
      if (ofSeries === undefined) return e;
      const version = ofSeries.versions.reduce(latestVersion, e.version);
      return { ...e, occurrences: ofSeries.occurrences, version };
    }),
    skipped,
    changed,
    withoutClass,
    ...(options.answerOf === undefined ? {} : { answers }),
  };
}

/** The PARTSTAT a VEVENT gives `username` (their ATTENDEE as exports write it), or null. */
function answerIn(component: Component, username: Username): string | null {
  const wanted = `${username}@${ADDRESS_DOMAIN}`.toLowerCase();
  const attendee = component
    .getAllProperties('attendee')
    .find((property) => addressOf(property).toLowerCase() === wanted);
  if (attendee === undefined) return null;
  const partstat = attendee.getParameter('partstat');
  return typeof partstat === 'string' && partstat !== '' ? partstat.toUpperCase() : 'NEEDS-ACTION';
}

/** A series read from the file, by UID: its draft, what validating it gave, how its zones read. */
interface ImportedSeries {
  readonly draft: EventDraft;
  readonly details: EventDetails;
  readonly zones: EventZones;
}

/** A VEVENT with a RECURRENCE-ID, waiting for every series of the file to be read. */
interface ChangedOccurrence {
  readonly component: Component;
  readonly zones: FileZones;
  readonly uid: string | null;
  readonly skip: (reason: string) => void;
  /** Reports what the occurrence, once kept, had left out or changed. */
  readonly report: (read: ReadEvent) => void;
}

/**
 * The changed occurrences of the file (VEVENTs with a RECURRENCE-ID) by the UID of their
 * series, in file order, each reported as skipped when it cannot be one: no UID, its series
 * not in the file or not imported, a series that does not repeat, a RECURRENCE-ID that is
 * not one of its occurrences (EXDATEs aside: some producers also exclude what they change),
 * RANGE=THISANDFUTURE, or a VEVENT we would refuse to create. Two that change one occurrence
 * are two versions of it: the higher SEQUENCE wins (the later on a tie). A series keeps its
 * first {@link MAX_IMPORTED_OCCURRENCES_PER_SERIES}, and the request its first `budget`
 * (each takes a fresh id, of which one store command carries {@link MAX_IMPORTED_EVENTS}).
 */
function occurrencesBySeries(
  changes: readonly ChangedOccurrence[],
  series: ReadonlyMap<string, ImportedSeries>,
  seriesInFile: ReadonlySet<string>,
  budget: number,
  defaultVisibility: Visibility,
): Map<string, { occurrences: ImportedOccurrenceDraft[]; versions: ImportedVersion[] }> {
  interface Version {
    readonly change: ChangedOccurrence;
    readonly sequence: number;
    readonly occurrence: ImportedOccurrenceDraft;
    /** How it read, for the report once it is kept; none for a cancelled one. */
    readonly read?: ReadEvent;
  }
  const chosen = new Map<string, Map<Millis, Version>>();
  for (const change of changes) {
    const { component, zones, uid, skip } = change;
    if (uid === null) {
      skip('a changed occurrence (RECURRENCE-ID) without a UID names no series to change');
      continue;
    }
    const master = series.get(uid);
    if (master === undefined) {
      skip(
        seriesInFile.has(uid)
          ? 'its series (the VEVENT with this UID and no RECURRENCE-ID) was not imported, so neither is this changed occurrence'
          : 'its series (a VEVENT with this UID and no RECURRENCE-ID) is not in the file',
      );
      continue;
    }
    const { details } = master;
    if (details.recurrence === null) {
      skip('the event with this UID does not repeat, so it has no occurrence to change');
      continue;
    }
    try {
      const property = component.getFirstProperty('recurrence-id') as Property;
      const range = property.getParameter('range');
      if (typeof range === 'string' && range.toUpperCase() === 'THISANDFUTURE') {
        throw new Unsupported(
          'a change to an occurrence and all later ones (RANGE=THISANDFUTURE) is not supported; the series keeps its planned times',
        );
      }
      // Named as its series reads that zone, so that it names the occurrence its series has.
      const start = place(
        timeOf(property),
        tzidOf(property),
        master.zones,
        details.timeZone,
      ).instant;
      const rule = {
        id: '',
        start: details.start,
        end: details.end,
        timeZone: details.timeZone,
        recurrence: { ...details.recurrence, exceptions: [] },
      };
      if (!isOccurrenceStart(rule, start)) {
        throw new Unsupported(
          `its RECURRENCE-ID (${new Date(start).toISOString()}) is not an occurrence of its series, so there is nothing there to change`,
        );
      }
      let occurrence: ImportedOccurrenceDraft;
      let read: ReadEvent | undefined;
      if (isCancelled(component)) {
        occurrence = { occurrenceStart: start, cancelled: true };
      } else {
        read = toDraft(component, zones, details.timeZone, defaultVisibility);
        validateEventDraft(read.draft);
        occurrence = { occurrenceStart: start, draft: read.draft };
      }
      const ofSeries = chosen.get(uid) ?? new Map<Millis, Version>();
      chosen.set(uid, ofSeries);
      const held = ofSeries.get(start);
      const sequence = sequenceOf(component);
      const replaces =
        'another VEVENT changes the same occurrence (a higher SEQUENCE, or later in the file)';
      if (held !== undefined && held.sequence > sequence) {
        skip(replaces);
        continue;
      }
      held?.change.skip(replaces);
      // Deleted and set again, so that the later version takes its place in file order.
      ofSeries.delete(start);
      ofSeries.set(start, {
        change,
        sequence,
        occurrence,
        ...(read === undefined ? {} : { read }),
      });
    } catch (error) {
      skip(
        error instanceof Unsupported || error instanceof AgendaError
          ? error.message
          : `the changed occurrence could not be read (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  const result = new Map<
    string,
    { occurrences: ImportedOccurrenceDraft[]; versions: ImportedVersion[] }
  >();
  let left = budget;
  for (const [uid, ofSeries] of chosen) {
    const kept: ImportedOccurrenceDraft[] = [];
    const versions: ImportedVersion[] = [];
    for (const { change, occurrence, read } of ofSeries.values()) {
      if (kept.length >= MAX_IMPORTED_OCCURRENCES_PER_SERIES) {
        change.skip(
          `its series has more than ${MAX_IMPORTED_OCCURRENCES_PER_SERIES} changed or cancelled occurrences in the file, the most one series may bring; this one keeps its planned time`,
        );
      } else if (left <= 0) {
        change.skip(
          `the request carries ${MAX_IMPORTED_EVENTS} events and changed occurrences already, the most one may; import the file in smaller parts`,
        );
      } else {
        kept.push(occurrence);
        versions.push(versionOf(change.component));
        if (read !== undefined) change.report(read);
        left--;
      }
    }
    if (kept.length > 0) result.set(uid, { occurrences: kept, versions });
  }
  return result;
}
