/**
 * Strict checks of everything a user types, each failure an {@link InvalidInput} whose
 * message says what is wrong and what would be right. Validators return the value in its
 * canonical form (trimmed text, canonical zone name, sorted exceptions) so that equal
 * inputs are stored equally.
 */
import { DateTime, Duration, IANAZone } from 'luxon';
import { InvalidInput } from '../../contract/errors.js';
import {
  DESCRIPTION_MAX_LENGTH,
  DISPLAY_NAME_MAX_LENGTH,
  EARLIEST_INSTANT,
  GROUP_NAME_MAX_LENGTH,
  GROUP_NAME_MIN_LENGTH,
  LATEST_INSTANT,
  LOCATION_MAX_LENGTH,
  MAX_EVENT_DURATION_MS,
  MAX_ADDITIONS,
  MAX_EXCEPTIONS,
  MAX_LEVEL,
  MAX_QUERY_SPAN_MS,
  MAX_REMINDER_MINUTES,
  MAX_REMINDERS,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  TIME,
  TITLE_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from '../../contract/limits.js';
import {
  calendarDaysOf,
  expandOccurrences,
  firstOccurrenceStarts,
  lastCountedStart,
  minimumOccurrenceGap,
  minimumOccurrenceGapDays,
  occurrenceEnd,
  parseRecurrenceRule,
  RecurrenceBudget,
  startsADay,
} from './recurrence.js';
import type { Series } from './recurrence.js';
import type { GroupKind, Interval, Millis, Recurrence, Visibility } from './types.js';
import { refuseInvisibleCharacters } from './text-hygiene.js';
import { instantOfWallClock, isSecondPassOfReading, wallClockOf } from './zones.js';

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
// Line breaks and tabs are fine in a description, nowhere else; other control characters
// never: C0 and C1 controls, U+0085 NEXT LINE counted with the line breaks.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]/;
const LINE_BREAKS_AND_TABS = /[\n\r\t\u0085\u2028\u2029]/;

/**
 * Whether `text` holds a control character: C0 or C1, or DEL, and also a line break or a tab
 * unless `multiline` (a description's).
 */
export function hasControlCharacters(text: string, multiline = false): boolean {
  return CONTROL_CHARACTERS.test(text) || (!multiline && LINE_BREAKS_AND_TABS.test(text));
}

function describeDuration(ms: number): string {
  return ms % TIME.DAY === 0 ? `${ms / TIME.DAY} days` : `${ms / TIME.HOUR} hours`;
}

/** `40320` → `28 days`, `90` → `90 minutes`, `120` → `2 hours`. */
function describeMinutes(minutes: number): string {
  if (minutes % (24 * 60) === 0) return `${minutes / (24 * 60)} days`;
  if (minutes % 60 === 0) return `${minutes / 60} hours`;
  return `${minutes} minutes`;
}

function validateName(
  value: string,
  what: 'username' | 'group name',
  min: number,
  max: number,
): string {
  // First, so that the refusal names the character rather than the pattern it breaks.
  refuseInvisibleCharacters(value, what, what === 'username' ? 'username' : 'group');
  if (value.length < min || value.length > max) {
    throw new InvalidInput(
      `a ${what} has ${min} to ${max} characters; "${value}" has ${value.length}`,
      {
        field: what === 'username' ? 'username' : 'group',
      },
    );
  }
  if (!NAME_PATTERN.test(value)) {
    throw new InvalidInput(
      `a ${what} uses lowercase letters, digits, '-', '_' and '.', and starts with a letter or digit; "${value}" does not`,
      { field: what === 'username' ? 'username' : 'group' },
    );
  }
  return value;
}

/** A username: 3–32 characters of `a-z 0-9 - _ .`, starting with a letter or digit. */
export function validateUsername(value: string): string {
  return validateName(value, 'username', USERNAME_MIN_LENGTH, USERNAME_MAX_LENGTH);
}

/** A group name: 2–64 characters of `a-z 0-9 - _ .`, starting with a letter or digit. */
export function validateGroupName(value: string): string {
  return validateName(value, 'group name', GROUP_NAME_MIN_LENGTH, GROUP_NAME_MAX_LENGTH);
}

function validateText(
  value: string,
  field: string,
  options: { max: number; required: boolean; multiline: boolean },
): string {
  // Before trimming, which would quietly drop a leading or trailing U+FEFF.
  refuseInvisibleCharacters(value, field);
  const text = value.trim();
  if (options.required && text === '')
    throw new InvalidInput(`the ${field} cannot be empty`, { field });
  if (text.length > options.max) {
    throw new InvalidInput(`the ${field} is longer than ${options.max} characters`, { field });
  }
  if (hasControlCharacters(text, options.multiline)) {
    throw new InvalidInput(`the ${field} contains control characters`, { field });
  }
  return text;
}

/** A display name: up to 100 characters on one line; empty means "use the username". */
export function validateDisplayName(value: string | undefined, username: string): string {
  if (value === undefined) return username;
  const text = validateText(value, 'display name', {
    max: DISPLAY_NAME_MAX_LENGTH,
    required: false,
    multiline: false,
  });
  // A name that shows nothing (white space of other kinds, the braille blank, bare marks)
  // reads as nobody in every list it appears in.
  if (text !== '' && !SHOWS_SOMETHING.test(text)) {
    throw new InvalidInput('the display name shows nothing; use letters, digits or symbols', {
      field: 'display name',
    });
  }
  return text === '' ? username : text;
}

/** A character a reader sees: a letter, digit, punctuation or symbol other than a blank. */
const SHOWS_SOMETHING = /(?![\u2800\u3000])[\p{L}\p{N}\p{P}\p{S}]/u;

/** A feed's label: up to 100 characters on one line; empty means the default label. */
export function validateFeedLabel(value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  const text = validateText(value, 'label', { max: 100, required: false, multiline: false });
  return text === '' ? fallback : text;
}

/** A password: 8–1024 characters. Hashing is the users service's business. */
export function validatePassword(value: string): void {
  if (value.length < PASSWORD_MIN_LENGTH) {
    throw new InvalidInput(`a password has at least ${PASSWORD_MIN_LENGTH} characters`, {
      field: 'password',
    });
  }
  if (value.length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInput(`a password has at most ${PASSWORD_MAX_LENGTH} characters`, {
      field: 'password',
    });
  }
}

/** An event title: 1–200 characters on one line. */
export function validateTitle(value: string): string {
  return validateText(value, 'title', { max: TITLE_MAX_LENGTH, required: true, multiline: false });
}

export function validateDescription(value: string | undefined): string {
  if (value === undefined) return '';
  return validateText(value, 'description', {
    max: DESCRIPTION_MAX_LENGTH,
    required: false,
    multiline: true,
  });
}

/**
 * A location: up to 500 characters, on several lines if need be (an address, as calendar
 * apps write one: a place's name, then its street, then its town).
 */
export function validateLocation(value: string | undefined): string {
  if (value === undefined) return '';
  return validateText(value, 'location', {
    max: LOCATION_MAX_LENGTH,
    required: false,
    multiline: true,
  });
}

/** `public`, `busy` or `private`; absent means `busy`. */
export function validateVisibility(value: string | undefined): Visibility {
  if (value === undefined) return 'busy';
  if (value === 'public' || value === 'busy' || value === 'private') return value;
  throw new InvalidInput(`visibility is public, busy or private, not "${value}"`, {
    field: 'visibility',
  });
}

export function validateGroupKind(value: string): GroupKind {
  if (value === 'flat' || value === 'hierarchical') return value;
  throw new InvalidInput(`a group is flat or hierarchical, not "${value}"`, { field: 'kind' });
}

/** Canonical spellings already looked up: `Intl` is slow to ask, and zones are few. */
const canonicalZones = new Map<string, string>();
const MAX_CANONICAL_ZONES = 1000;

/**
 * Whether `name` is an IANA zone this process knows, memoized: asking Intl builds a
 * formatter (tens of microseconds), and an import asks for every time it reads.
 */
export function isIanaZone(name: string): boolean {
  if (canonicalZones.has(name)) return true;
  if (unknownZones.has(name)) return false;
  try {
    validateTimeZone(name);
    return true;
  } catch {
    if (unknownZones.size >= MAX_CANONICAL_ZONES) unknownZones.clear();
    unknownZones.add(name);
    return false;
  }
}

const unknownZones = new Set<string>();

/** An IANA zone name (any letter case), returned in its canonical spelling; absent means UTC. */
export function validateTimeZone(value: string | undefined): string {
  if (value === undefined) return 'UTC';
  const known = canonicalZones.get(value);
  if (known !== undefined) return known;
  if (!IANAZone.isValidZone(value)) {
    throw new InvalidInput(`"${value}" is not an IANA time zone (like Europe/Madrid or UTC)`, {
      field: 'timeZone',
    });
  }
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  // ICU resolves a zone's current name to the one it first knew it by (Asia/Kathmandu to
  // Asia/Katmandu, Europe/Kyiv to Europe/Kiev, Asia/Kolkata to Asia/Calcutta): a name given
  // that is not ICU's own, only spelled differently, is kept, in the tz database's casing.
  // UTC's other names (Etc/UTC, Zulu, …) stay UTC, which exports write without a VTIMEZONE.
  const kept =
    resolved !== 'UTC' &&
    resolved.toLowerCase() !== value.toLowerCase() &&
    !value.toLowerCase().startsWith('etc/');
  const canonical = kept ? zoneNameCasing(value) : resolved;
  if (canonicalZones.size >= MAX_CANONICAL_ZONES) canonicalZones.clear();
  canonicalZones.set(value, canonical);
  return canonical;
}

/**
 * A zone name in the tz database's casing: each word capitalised (`asia/ho_chi_minh` →
 * `Asia/Ho_Chi_Minh`), with the abbreviations it spells in capitals kept (`Etc/GMT+5`).
 */
function zoneNameCasing(name: string): string {
  return name.replace(/[A-Za-z]+/g, (word, offset: number) => {
    const first = offset === 0 || /[/_-]/.test(name[offset - 1] ?? '');
    if (/^(GMT|UTC|UCT|US|EST|MST|HST|PST8PDT|CST6CDT|EST5EDT|MST7MDT)$/i.test(word)) {
      return word.toUpperCase();
    }
    return first ? word[0]!.toUpperCase() + word.slice(1).toLowerCase() : word.toLowerCase();
  });
}

/** An instant in whole seconds between 1970 and 2200. */
export function validateInstant(value: number, field: string): Millis {
  if (!Number.isInteger(value) || value < EARLIEST_INSTANT || value > LATEST_INSTANT) {
    throw new InvalidInput(`the ${field} must be a time between 1970 and 2200`, { field });
  }
  if (value % TIME.SECOND !== 0) {
    throw new InvalidInput(`the ${field} must be a whole second`, { field });
  }
  return value;
}

/**
 * Parses an ISO 8601 instant that says its offset (`2025-03-01T09:00:00Z`,
 * `2025-03-01T10:00+01:00`). Local times are the client's job: only the client knows the
 * user's zone.
 */
export function parseInstant(text: string, field: string): Millis {
  const trimmed = text.trim();
  const plain = plainInstant(trimmed);
  if (plain !== undefined) return validateInstant(plain, field);
  // A date alone is no instant: its `-05` is the day, not an offset, and it would be read
  // in whatever zone the reading host is in.
  if (/^\d{4}-\d{2}(-\d{2})?$/.test(trimmed) || !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(trimmed)) {
    throw new InvalidInput(`the ${field} "${text}" needs a UTC offset (e.g. Z or +01:00)`, {
      field,
    });
  }
  const parsed = DateTime.fromISO(trimmed, { setZone: true });
  if (!parsed.isValid) {
    throw new InvalidInput(`the ${field} "${text}" is not an ISO 8601 time`, { field });
  }
  return validateInstant(parsed.toMillis(), field);
}

const PLAIN_INSTANT =
  /^([1-9]\d{3})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant of the form every client sends (`2025-03-01T09:00:00Z`,
 * `2025-03-01T10:00:00.000+01:00`) when each field is plainly in range, else undefined and
 * luxon decides. Every request carries instants, and luxon's general parser was a tenth of
 * the gateway's work; this reads the same value, as a test checks against luxon.
 */
function plainInstant(text: string): number | undefined {
  const m = PLAIN_INSTANT.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const offsetHours = oh === undefined ? 0 : Number(oh);
  const offsetMinutes = om === undefined ? 0 : Number(om);
  const inRange =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 14 &&
    offsetMinutes <= 59;
  if (!inRange) return undefined;
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * TIME.MINUTE;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses a duration such as `1h30m`, `45m`, `2h`, `1d`, `90s` or ISO `PT1H30M` into
 * milliseconds (positive, whole seconds).
 */
export function parseDuration(text: string, field = 'duration'): number {
  const value = text.trim();
  let ms: number | undefined;
  const short = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i.exec(value);
  if (short !== null && value !== '') {
    const [, d, h, m, s] = short;
    ms =
      Number(d ?? 0) * TIME.DAY +
      Number(h ?? 0) * TIME.HOUR +
      Number(m ?? 0) * TIME.MINUTE +
      Number(s ?? 0) * TIME.SECOND;
  } else if (/^P/i.test(value)) {
    const iso = Duration.fromISO(value.toUpperCase());
    // Months and years have no fixed length; only exact units are accepted.
    if (iso.isValid && iso.years === 0 && iso.months === 0) ms = iso.toMillis();
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new InvalidInput(`"${text}" is not a duration (use e.g. 45m, 1h30m, 2d)`, { field });
  }
  if (ms <= 0 || ms % TIME.SECOND !== 0) {
    throw new InvalidInput(`the ${field} must be a positive number of whole seconds`, { field });
  }
  return ms;
}

/** A query interval: `from < to`, both valid instants, at most a year apart. */
export function validateQueryInterval(from: Millis, to: Millis): Interval {
  validateInstant(from, 'from');
  validateInstant(to, 'to');
  if (to <= from) throw new InvalidInput('"to" must be after "from"', { field: 'to' });
  if (to - from > MAX_QUERY_SPAN_MS) {
    throw new InvalidInput(`an interval spans at most ${describeDuration(MAX_QUERY_SPAN_MS)}`, {
      field: 'to',
    });
  }
  return { start: from, end: to };
}

/** A rank in a hierarchical group: a whole number from 0 (the owner's) to 1000. */
export function validateLevel(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_LEVEL) {
    throw new InvalidInput(`a level is a whole number from 0 to ${MAX_LEVEL}`, { field: 'level' });
  }
  return value;
}

/** What a user submits to create (or, merged with the current values, update) an event. */
export interface EventDraft {
  readonly title: string;
  readonly start: Millis;
  readonly end: Millis;
  /** IANA zone; defaults to UTC. */
  readonly timeZone?: string;
  readonly description?: string;
  readonly location?: string;
  /** `public`, `busy` or `private`; defaults to `busy`. */
  readonly visibility?: string;
  /** RRULE text in the supported subset; absent or null for a one-off event. */
  readonly recurrence?: string | null;
  /** Starts of occurrences to leave out (EXDATE); only with a recurrence. */
  readonly exceptions?: readonly Millis[];
  /**
   * Starts of occurrences besides the rule's (RDATE); only with a recurrence. Each lasts as
   * the event does; one that is also an occurrence of the rule counts once.
   */
  readonly additions?: readonly Millis[];
  /** Minutes before the start to be reminded at ({@link validateReminders}); absent or empty: none. */
  readonly reminders?: readonly number[];
  /** Whether it takes no time from its attendees (shown as free); absent means false. */
  readonly transparent?: boolean;
}

/** A validated draft: every field present and canonical. */
export interface EventDetails {
  readonly title: string;
  readonly start: Millis;
  readonly end: Millis;
  readonly timeZone: string;
  readonly description: string;
  readonly location: string;
  readonly visibility: Visibility;
  readonly recurrence: Recurrence | null;
  /** Ascending, distinct; absent when there are none (see `CalendarEvent.reminders`). */
  readonly reminders?: readonly number[];
  /** Present (true) only for an event that takes no time (see `CalendarEvent.transparent`). */
  readonly transparent?: true;
}

/**
 * Reminders as minutes before the start: whole numbers from 0 (at the start) to
 * {@link MAX_REMINDER_MINUTES} (4 weeks), at most {@link MAX_REMINDERS} of them; duplicates
 * count once. Answered ascending.
 * @throws InvalidInput (field `reminders`) saying which bound was passed.
 */
export function validateReminders(value: readonly number[] | undefined): number[] {
  if (value === undefined) return [];
  for (const minutes of value) {
    if (typeof minutes !== 'number' || !Number.isInteger(minutes)) {
      throw new InvalidInput(
        `a reminder is a whole number of minutes before the start (got ${String(minutes)})`,
        { field: 'reminders' },
      );
    }
    if (minutes < 0) {
      throw new InvalidInput('a reminder comes before the start, not after it', {
        field: 'reminders',
      });
    }
    if (minutes > MAX_REMINDER_MINUTES) {
      throw new InvalidInput(
        `reminders can be at most 4 weeks before the event (${describeMinutes(MAX_REMINDER_MINUTES)}), not ${describeMinutes(minutes)}`,
        { field: 'reminders' },
      );
    }
  }
  const distinct = [...new Set(value)].sort((a, b) => a - b);
  if (distinct.length > MAX_REMINDERS) {
    throw new InvalidInput(
      `an event has at most ${MAX_REMINDERS} reminders (got ${distinct.length})`,
      { field: 'reminders' },
    );
  }
  return distinct;
}

/** How many occurrences validation inspects to check that a series does not overlap itself. */
const SELF_OVERLAP_SAMPLE = 400;

function validateRecurrence(
  text: string,
  exceptions: readonly Millis[],
  additions: readonly Millis[],
  start: Millis,
  end: Millis,
  timeZone: string,
): { recurrence: Recurrence; start: Millis } {
  const rule = parseRecurrenceRule(text, timeZone);
  // A series repeats a wall-clock time, and a wall-clock time read twice names its first pass
  // (RFC 5545 §3.3.5): a series asked to start in the second pass started an hour earlier
  // without a word. Said instead, with the two ways out.
  if (isSecondPassOfReading(start, timeZone)) {
    const first = instantOfWallClock(wallClockOf(start, timeZone), timeZone);
    throw new InvalidInput(
      `a repeating event cannot start at ${new Date(start).toISOString()}: clocks in ${timeZone} read that time twice, and a series repeats the reading, which names the first pass (${new Date(first).toISOString()}); start it then or outside the repeated hour`,
      { field: 'start' },
    );
  }
  if (rule.until !== undefined && rule.until < start) {
    throw new InvalidInput('UNTIL is before the start of the event', { field: 'recurrence' });
  }
  const budget = new RecurrenceBudget();
  const duration = end - start;
  // Rules that pick one day per period have a known minimum gap: an event that lasts longer
  // overlaps itself on the day a daylight-saving change shortens the gap, however far off
  // (a sample from the start would not get there); a shorter one never does. An all-day
  // series keeps to its days whatever the clocks do (occurrenceEnd), so its days are
  // compared with the gap's: a daily all-day series does not overlap itself. Other rules
  // are sampled.
  const gap = minimumOccurrenceGap(rule);
  const days = calendarDaysOf(start, end, timeZone);
  const gapDays = minimumOccurrenceGapDays(rule);
  // A rule that repeats once (an event on chosen days, its added occurrences checked below)
  // has no second occurrence to overlap.
  const once = rule.count === 1;
  if (!once && (days === undefined ? gap > 0 && duration > gap : gapDays > 0 && days > gapDays)) {
    throw new InvalidInput(
      'the occurrences of this series would overlap each other when the clocks change; shorten the event or space the occurrences',
      { field: 'recurrence' },
    );
  }
  const sample = (days === undefined ? gap : gapDays) > 0 ? 1 : SELF_OVERLAP_SAMPLE;
  const allDay = days !== undefined;
  const starts = firstOccurrenceStarts(rule, start, timeZone, sample, budget, allDay);
  const first = starts[0];
  if (first === undefined) {
    throw new InvalidInput('the recurrence rule produces no occurrence', { field: 'recurrence' });
  }
  for (let i = 1; i < starts.length; i++) {
    const previous = starts[i - 1] ?? -Infinity;
    if ((starts[i] ?? Infinity) < occurrenceEnd({ start, end, timeZone }, previous, days)) {
      throw new InvalidInput(
        'the occurrences of this series would overlap each other; shorten the event or space the occurrences',
        { field: 'recurrence' },
      );
    }
  }
  if (exceptions.length > MAX_EXCEPTIONS) {
    throw new InvalidInput(`at most ${MAX_EXCEPTIONS} exceptions`, { field: 'exceptions' });
  }
  const sorted = [...new Set(exceptions.map((e) => validateInstant(e, 'exception')))].sort(
    (a, b) => a - b,
  );
  // Counted from the series' stored start (its first occurrence), as expansion will count.
  const lastStart = lastCountedStart(rule, first, timeZone, budget, allDay);
  const ruled: Recurrence = {
    rule,
    exceptions: sorted,
    ...(lastStart === undefined ? {} : { lastStart }),
  };
  const series: Series = {
    id: '',
    start: first,
    end: occurrenceEnd({ start, end, timeZone }, first),
    timeZone,
    recurrence: ruled,
  };
  const added = validateAdditions(additions, series, budget);
  return {
    recurrence: added.length === 0 ? ruled : { ...ruled, additions: added },
    start: first,
  };
}

/**
 * The added occurrences (RDATE) of `series` (the rule's series, without them): sorted,
 * distinct, without those that are occurrences of the rule (the same occurrence, counted
 * once). Each must come after the series' first occurrence and overlap neither an
 * occurrence of the rule nor another added one. Costs an expansion of the rule around each
 * (a window of the occurrences' length on each side).
 *
 * @throws InvalidInput (field `additions`) saying which one and why.
 * @throws TooComplex when `budget` runs out.
 */
function validateAdditions(
  additions: readonly Millis[],
  series: Series,
  budget: RecurrenceBudget,
): Millis[] {
  if (additions.length === 0) return [];
  // Counted once each: a producer that lists a date twice, or DTSTART again, is not refused.
  const sorted = [...new Set(additions.map((a) => validateInstant(a, 'addition')))].sort(
    (a, b) => a - b,
  );
  if (sorted.length > MAX_ADDITIONS) {
    throw new InvalidInput(
      `a series has at most ${MAX_ADDITIONS} added occurrences (got ${sorted.length})`,
      { field: 'additions' },
    );
  }
  const kept: Millis[] = [];
  const days = calendarDaysOf(series.start, series.end, series.timeZone);
  const iso = (instant: Millis) => new Date(instant).toISOString();
  for (const start of sorted) {
    if (start <= series.start) {
      if (start === series.start) continue;
      throw new InvalidInput(
        `an added occurrence (${iso(start)}) comes before the series' first (${iso(series.start)}); start the series then`,
        { field: 'additions' },
      );
    }
    if (days !== undefined && !startsADay(start, series.timeZone)) {
      throw new InvalidInput(
        `an added occurrence of an all-day series is a day: ${iso(start)} is not the start of one in ${series.timeZone}`,
        { field: 'additions' },
      );
    }
    const end = occurrenceEnd(series, start, days);
    const near = expandOccurrences(
      series,
      { start: start - (series.end - series.start) - 1, end: Math.max(end, start + 1) },
      budget,
    );
    if (near.some((o) => o.start === start)) continue; // the rule's own: once
    const previous = kept.at(-1);
    const collides =
      near.find((o) => o.start < end && start < o.end) ??
      (previous !== undefined && start < occurrenceEnd(series, previous, days)
        ? { start: previous }
        : undefined);
    if (collides !== undefined) {
      throw new InvalidInput(
        `the added occurrence at ${iso(start)} would overlap the one at ${iso(collides.start)}; occurrences of a series cannot overlap`,
        { field: 'additions' },
      );
    }
    kept.push(start);
  }
  return kept;
}

/**
 * Validates a draft and returns its canonical details. Beyond field checks: `end >= start`
 * — an event that ends when it starts is an instant (a deadline, a reminder to oneself; what
 * RFC 5545 makes of a DTSTART without DTEND), which takes no time, so conflicts with nothing
 * and makes nobody busy (see `blocksTime`) — at most 31 days long, a known zone, a recurrence in the supported subset whose
 * occurrences do not overlap one another. A recurring event's start moves to the rule's
 * first occurrence at or after it (keeping the duration), so `start` always is an
 * occurrence — "every Monday" typed on a Saturday starts on the Monday after. A COUNT rule
 * gets its `lastStart`. The recurrence costs at most two walks over the domain (no
 * occurrence at all is found out in milliseconds).
 *
 * @throws InvalidInput naming the field at fault.
 * @throws TooComplex if the recurrence needs more than `MAX_RECURRENCE_STEPS` steps.
 */
export function validateEventDraft(draft: EventDraft): EventDetails {
  const title = validateTitle(draft.title);
  const timeZone = validateTimeZone(draft.timeZone);
  let start = validateInstant(draft.start, 'start');
  let end = validateInstant(draft.end, 'end');
  if (end < start) throw new InvalidInput('the end cannot be before the start', { field: 'end' });
  if (end - start > MAX_EVENT_DURATION_MS) {
    throw new InvalidInput(`an event lasts at most ${describeDuration(MAX_EVENT_DURATION_MS)}`, {
      field: 'end',
    });
  }
  let recurrence: Recurrence | null = null;
  if (draft.recurrence !== undefined && draft.recurrence !== null) {
    const validated = validateRecurrence(
      draft.recurrence,
      draft.exceptions ?? [],
      draft.additions ?? [],
      start,
      end,
      timeZone,
    );
    // The series moves to its first occurrence, which ends as its occurrences do.
    end = occurrenceEnd({ start, end, timeZone }, validated.start);
    start = validated.start;
    recurrence = validated.recurrence;
  } else if ((draft.exceptions?.length ?? 0) > 0) {
    throw new InvalidInput('exceptions only make sense for a recurring event', {
      field: 'exceptions',
    });
  } else if ((draft.additions?.length ?? 0) > 0) {
    throw new InvalidInput(
      'added occurrences only make sense for a recurring event (a rule that repeats once will do)',
      { field: 'additions' },
    );
  }
  return {
    title,
    start,
    end,
    timeZone,
    description: validateDescription(draft.description),
    location: validateLocation(draft.location),
    visibility: validateVisibility(draft.visibility),
    recurrence,
    ...remindersField(validateReminders(draft.reminders)),
    ...(draft.transparent === true ? { transparent: true as const } : {}),
  };
}

/** `{ reminders }` when there are some, `{}` otherwise (absent means none). */
export function remindersField(reminders: readonly number[]): { reminders?: readonly number[] } {
  return reminders.length === 0 ? {} : { reminders };
}
