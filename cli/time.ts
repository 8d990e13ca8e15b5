/**
 * How the CLI reads the times and durations a person types, and how it names instants to
 * the API. Every instant leaves the CLI with an explicit UTC offset (the API refuses local
 * times: only the client knows the user's zone), in whole seconds.
 *
 * `<when>` accepts, tried in this order:
 * - ISO 8601 with an offset: `2026-03-01T09:00:00Z`, `2026-03-01T10:00+01:00`, or with a
 *   space for the `T` as RFC 3339 allows (`2026-03-01 10:00:00+01:00`) (kept as is);
 * - ISO 8601 without one: `2026-03-01T09:00`, `2026-03-01 09:00`, `2026-03-01` (midnight),
 *   read in the zone given by `--tz` or else the local zone. A local time that does not
 *   exist (clocks jump forward) is refused; one that happens twice (clocks go back) is the
 *   earlier of the two;
 * - `now`; `today`, `tomorrow`, `yesterday`, optionally followed by `HH:MM` (`tomorrow 09:30`);
 *   a bare time of day (`14:00`) is the next one to come, as `2pm` is (below);
 * - an offset from now: `+2h`, `-30m`, `+1d12h`, `+PT90M`;
 * - English as people write it, read by chrono-node in the same zone: `tomorrow 9am`,
 *   `next monday 14:00`, `friday at noon`, `dec 24 3pm`, `in 2 hours`. A day without a year,
 *   a weekday or a time without a day is the next one to come (`forwardDate`): `monday 9am`
 *   on a Monday afternoon is next week's, `9am` after nine is tomorrow's — unless the text
 *   looks back: `last friday`, `past friday`, `previous monday` are the one before (on a
 *   Monday, `last monday` is a week ago). Dates with dots are day first, always, as where
 *   they are written (German, Russian, Finnish, Czech…): `02.01.2027`, `2.1.27` and `02.01.`
 *   are 2 January (chrono alone would read them month first); a month over 12 or a day its
 *   month does not have (`31.02.2027`) is refused.
 *
 * `24:00` (`2026-03-01T24:00`, `tomorrow 24:00`, `24:00`) is the midnight that ends the day,
 * 00:00 of the next, as ISO 8601 has it; any other hour past 23 is refused.
 *
 * What the ISO forms say is kept exactly (seconds included). The other forms are rounded
 * down to the minute: `+2h` at 08:11:54 is 10:11, not 10:11:54.
 *
 * A text is refused, naming the flag and saying what to write, when nothing in it is a time,
 * when it is a length alone (`21h`, `30m`, `2 hours`: a French `21h` is 21:00, and chrono
 * would count it from now; `+21h` and `in 21 hours` are from now, `21:00` the time of day),
 * when words are left over (`tomorrow 9`: `9` of what?), when it is a range (`9am to 10am`:
 * give `--end`), and — where a time is needed, as for an event's `--start` and `--end` — when
 * it names a day without a time (`tomorrow`, `next monday`, `in 3 days`): an event at
 * midnight, or at this minute some days on, is rarely what was meant. Where a day is enough
 * (`--from`, `--to`) a bare day is its midnight.
 *
 * Nor is a text read one way when people write it meaning another (see {@link ambiguity}):
 * a date with slashes whose day and month could be either (`03/04`: 4 March in the US,
 * 3 April in most other places), an hour of 1 to 12 without am/pm nor minutes (`at 5`, five
 * in the morning or the afternoon?), and, where a time is needed, a week, month or year in
 * place of a day (`next week`: which day of it?). Each is refused with the ways to write it
 * that read one way. A local time the clocks go back over happens twice: it is read as the
 * first (RFC 5545), and said so through the context's `note`, with how to write the second
 * (an explicit offset).
 *
 * Durations: `90m`, `90 min`, `1h30m`, `1h30` (minutes after the hours), `1.5h`, `2 hours`,
 * `1d` (24 hours), `2w` (14 days), `90s`, `1:30` (h:mm), or ISO `PT1H30M` / `P1D` / `P2W`.
 */
import { createRequire } from 'node:module';
import { DateTime, Duration, FixedOffsetZone, IANAZone } from 'luxon';
import type * as ChronoEn from 'chrono-node/en';
import { InvalidInput } from '../contract/errors.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/** The zone named by `--tz` (validated), or the machine's local zone. */
export function resolveZone(tz: string | undefined): string {
  if (tz === undefined) return DateTime.local().zoneName;
  if (!IANAZone.isValidZone(tz)) {
    throw new InvalidInput(`"${tz}" is not an IANA time zone (like Europe/Madrid or UTC)`, {
      field: 'tz',
    });
  }
  // Canonical spelling, so `europe/madrid` is sent as `Europe/Madrid`.
  return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
}

/** The current instant, truncated to whole seconds because the API only stores those. */
export function currentInstant(zone: string, nowMs: number = Date.now()): DateTime {
  return DateTime.fromMillis(Math.floor(nowMs / SECOND_MS) * SECOND_MS, { zone });
}

/** What a `<when>` is read against. */
export interface WhenContext {
  /** IANA zone of times written without an offset. */
  readonly zone: string;
  /** "Now", in whole seconds. */
  readonly now: DateTime;
  /** The flag being read, named in error messages (e.g. `start`). */
  readonly field: string;
  /**
   * Whether a time of day must be said (an event's start or end): then a day written in
   * words without a time (`tomorrow`, `next monday`) is refused rather than read as midnight.
   */
  readonly needsTime?: boolean;
  /**
   * For an end: the start it follows. A time written without a day (`10am`, `17:30`) is then
   * the first such time after it, not after now; told to `note` when that is the next day,
   * over 12 hours after it (`--start noon --end 11am`).
   */
  readonly after?: DateTime;
  /**
   * For the bounds of a period to show, a day named without a year (`dec 1`, `nov 3`) is not
   * the next one to come: for a start (`--from`, a view's `--date`) it is the nearest such day,
   * within six months before or after `nearest` (now) — `month --date "dec 1"` typed on
   * 7 December is this month —, and for an end (`--to`) the first such day after `after`
   * (the period's start): `--from "nov 1" --to "nov 30"` is one month, whenever typed.
   */
  readonly dayWithoutYear?: { readonly nearest: DateTime } | { readonly after: DateTime };
  /**
   * Told how a text that could be read two ways was read, when it is accepted all the same (a
   * local time that happens twice): for the command to say so to a person.
   */
  readonly note?: (message: string) => void;
}

const WITH_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/i;
const DAY_WORD = /^(today|tomorrow|yesterday)(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/i;
const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const RELATIVE = /^([+-])(.+)$/;

/** The instant rounded down to the minute: what forms other than ISO ones are read as. */
function toMinute(instant: DateTime): DateTime {
  return instant.startOf('minute');
}

/**
 * Reads a `<when>` (see the module comment for the forms). Throws {@link InvalidInput}
 * naming the flag when the text is not a time, is not a whole second, names a local time
 * that does not exist in the zone, or is not clear enough (see the module comment).
 */
export function parseWhen(text: string, context: WhenContext): DateTime {
  const value = text.trim().replace(/\s+/g, ' ');
  const { zone, now, field } = context;
  const lower = value.toLowerCase();
  if (lower === 'now') return toMinute(now.setZone(zone));

  const relative = RELATIVE.exec(value);
  if (relative !== null) {
    const [, sign, amount = ''] = relative;
    const ms = durationMs(amount);
    // `+0m` is no offset: most likely a slip (write `now`).
    if (ms === undefined || ms === 0) throw notATime(text, field);
    return toMinute(now.setZone(zone).plus({ milliseconds: sign === '-' ? -ms : ms }));
  }

  const day = DAY_WORD.exec(value);
  if (day !== null) {
    const [, word = '', hour, minute, second] = day;
    const offsetDays = { today: 0, tomorrow: 1, yesterday: -1 }[word.toLowerCase()] ?? 0;
    const date = now.setZone(zone).plus({ days: offsetDays });
    if (hour === undefined && context.needsTime === true) {
      throw dayWithoutTime(text, field, context, date);
    }
    return localTime(
      text,
      field,
      zone,
      wallClock(date.year, date.month, date.day, hour, minute, second),
      context.note,
      now,
    );
  }

  const timeOfDay = TIME_OF_DAY.exec(value);
  if (timeOfDay !== null) {
    const [, hour, minute, second] = timeOfDay;
    const clock = (date: DateTime) =>
      wallClock(date.year, date.month, date.day, hour, minute, second);
    return nextTime(text, context, clock);
  }

  const local = LOCAL_DATE_TIME.exec(value);
  if (local !== null) {
    const [, year, month, dayOfMonth, hour, minute, second] = local;
    return localTime(
      text,
      field,
      zone,
      wallClock(Number(year), Number(month), Number(dayOfMonth), hour, minute, second),
      context.note,
      now,
    );
  }

  if (WITH_OFFSET.test(value) && /^\d{4}-/.test(value)) {
    // `2026-12-08 09:00:00+00:00` (RFC 3339, as `date --rfc-3339` prints it) is the `T` form.
    const iso = value.replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, '$1T');
    const parsed = DateTime.fromISO(iso, { setZone: true });
    if (!parsed.isValid) throw notATime(text, field);
    // Luxon reads +99:59 or +09:60 as offsets all the same, and the time lands days away.
    const written = /[+-]\d{2}(?::?(\d{2}))?$/.exec(value);
    if (written !== null && (Number(written[1] ?? 0) >= 60 || Math.abs(parsed.offset) > 14 * 60)) {
      throw new InvalidInput(
        `the ${field} "${text}" has the offset ${written[0]}, which no place uses: offsets run from -12:00 to +14:00, with minutes under 60`,
        { field },
      );
    }
    if (parsed.millisecond !== 0) {
      throw new InvalidInput(`the ${field} "${text}" must be a whole second`, { field });
    }
    return parsed;
  }
  if (/^\d{4}-\d/.test(value)) throw notATime(text, field);
  // `8h`, `21h`, `30m`, `2 hours` alone: a length, which chrono would count from now.
  const length = /^\d/.test(value) && /[a-z]/i.test(value) ? durationMs(value) : undefined;
  if (length !== undefined && length > 0) throw lengthNotTime(text, value, field, length);
  return naturalTime(text, value, context);
}

/**
 * The refusal of a length (`21h`) where a time is expected: a French `21h` is 21:00, and
 * chrono reads it as 21 hours from now. Says how to write the time of day it may mean, and
 * that long from now (each suggestion reads).
 */
function lengthNotTime(text: string, value: string, field: string, ms: number): InvalidInput {
  const clock = /^(\d{1,2})\s*h\s*(\d{2})?$/i.exec(value);
  const hours = Number(clock?.[1] ?? 24);
  const ofDay =
    clock !== null && hours <= 23
      ? `"${String(hours).padStart(2, '0')}:${clock[2] ?? '00'}" for the time of day, or `
      : '';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  // In words only while short to say: "in 1290 minutes" is no help.
  const inWords =
    ms < DAY_MS && ms % HOUR_MS === 0
      ? plural(ms / HOUR_MS, 'hour')
      : ms < 2 * HOUR_MS && ms % MINUTE_MS === 0
        ? plural(ms / MINUTE_MS, 'minute')
        : undefined;
  const fromNow = `"+${value}"${inWords === undefined ? '' : ` or "in ${inWords}"`} from now`;
  const aDay = ms >= DAY_MS ? ', or a day and a time, e.g. "tomorrow 9am"' : '';
  const asLength = field === 'end' ? ` (for how long the event lasts: --duration ${value})` : '';
  return new InvalidInput(
    `the ${field} "${text}" is a length of time, not a time: write ${ofDay}${fromNow}${aDay}${asLength}`,
    { field },
  );
}

/**
 * A time of day written without a day (`03:00`, `3am`, `noon`), however it is spelled: the
 * first such time after the context's `after` (an end's start), else the next one from now
 * on (chrono's `forwardDate`: `03:00` or `3am` typed after three is tomorrow's).
 */
function nextTime(
  text: string,
  context: WhenContext,
  clockOn: (date: DateTime) => WallClock,
): DateTime {
  const { after } = context;
  if (after === undefined)
    return timeAfter(text, context, context.now, clockOn, { inclusive: true });
  const end = timeAfter(text, context, after, clockOn);
  // `--start noon --end 11am` is 23 hours: the rule, but rarely what was meant, so say so.
  const minutes = Math.round(end.diff(after).as('minutes'));
  const nextDay = !end.hasSame(after.setZone(context.zone), 'day');
  if (minutes > 12 * 60 && nextDay && context.note !== undefined) {
    const length = `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? '' : ` ${minutes % 60} min`}`;
    context.note(
      `the ${context.field} "${text}" is read as ${end.toFormat('HH:mm')} the next day (${length} after the start); give a day to mean otherwise`,
    );
  }
  return end;
}

/**
 * The first instant after `after` (or at it, when `inclusive`) whose wall clock `clockOn` a
 * day gives (that day or the next), told to the context's `note` when that wall clock
 * happens twice.
 */
function timeAfter(
  text: string,
  context: WhenContext,
  after: DateTime,
  clockOn: (date: DateTime) => WallClock,
  { inclusive = false }: { readonly inclusive?: boolean } = {},
): DateTime {
  const { field, zone } = context;
  const said = (instant: DateTime, why?: string): DateTime => {
    sayIfRepeated(text, field, zone, instant, context.note, why);
    return instant;
  };
  const comes = (instant: DateTime) => instant > after || (inclusive && instant >= after);
  const clock = clockOn(after.setZone(zone));
  // A wall clock the clocks skipped that day matters only if it was still to come.
  const skipped = DateTime.fromObject(clock, { zone });
  if (!skipped.isValid || sameWallClock(skipped, clock) || comes(skipped)) {
    const sameDay = localTime(text, field, zone, clock, undefined, context.now);
    if (comes(sameDay)) return said(sameDay);
    // A wall clock the clocks turn back over happens twice that night, and localTime gives
    // the first: the second may still come after `after` (01:50 EDT, then 01:10 EST).
    const turnedBack = sameDay.offset - sameDay.plus({ hours: 6 }).offset;
    if (turnedBack > 0) {
      const again = sameDay.plus({ minutes: turnedBack });
      const same = again.hour === sameDay.hour && again.minute === sameDay.minute;
      if (same && comes(again)) {
        return said(again, inclusive ? 'the first has passed' : 'the first is not after the start');
      }
    }
  }
  const nextDay = clockOn(after.setZone(zone).plus({ days: 1 }));
  return said(localTime(text, field, zone, nextDay, undefined, context.now));
}

type Chrono = typeof ChronoEn;
let chronoModule: Chrono | undefined;

/**
 * chrono-node's English parsers, loaded the first time a text needs them: loading them takes
 * a tenth of a second, which commands given ISO times (and `--version`) need not pay.
 */
function chrono(): Chrono {
  chronoModule ??= createRequire(import.meta.url)('chrono-node/en') as Chrono;
  return chronoModule;
}

/** Reads English (`tomorrow 9am`, `in 2 hours`) with chrono-node, in the context's zone. */
function naturalTime(text: string, typed: string, context: WhenContext): DateTime {
  const { zone, field } = context;
  // Days in words (`tomorrow`) count from now, even for an end; only a time without a day
  // follows the start (below).
  const reference = context.now.setZone(zone);
  // Dotted dates are day first (below); chrono would read `02.01.2027` as 1 February.
  // `previous monday` is `last monday`, which chrono reads.
  const value = dottedDateInWords(text, typed, context).replace(PREVIOUS, 'last');
  // `last friday` is the one before: chrono's forwardDate would make it the next one.
  const backward = BACKWARD.test(value);
  const results = chrono().casual.parse(
    value,
    { instant: reference.toJSDate(), timezone: reference.offset },
    { forwardDate: !backward },
  );
  const [result] = results;
  if (result === undefined) throw notATime(text, field, context.now.setZone(zone));
  const leftover = (
    value.slice(0, result.index) +
    ' ' +
    value.slice(result.index + result.text.length)
  ).trim();
  if (results.length > 1 || leftover !== '') {
    throw new InvalidInput(
      `the ${field} "${text}" is not clear: "${leftover === '' ? value.slice(result.index + result.text.length).trim() : leftover}" is left over after "${result.text}". ` +
        'Write one time, with am/pm or as HH:MM: e.g. "tomorrow 9am", "monday 14:00", "in 2 hours"',
      { field },
    );
  }
  if (result.end !== null) {
    throw new InvalidInput(
      `the ${field} "${text}" is a range: give one time here, and the end with --end (or --duration)`,
      { field },
    );
  }
  const unclear = ambiguity(text, result, context);
  if (unclear !== undefined) throw unclear;
  const { start } = result;
  if (start.tags().has('result/relativeDate')) {
    // "in 3 days" where a time is needed: this minute, days on, is rarely what was meant.
    if (context.needsTime === true && !start.isCertain('hour')) {
      throw dayWithoutTime(text, field, context, DateTime.fromJSDate(start.date(), { zone }));
    }
    // "in 2 hours", "in 3 days": counted from now, as an instant (daylight saving cannot
    // make two hours three).
    return toMinute(DateTime.fromJSDate(start.date(), { zone }));
  }
  const hasTime = start.isCertain('hour');
  const hasDay = start.isCertain('day') || start.isCertain('weekday') || start.isCertain('month');
  if (!hasTime && context.needsTime === true) {
    const named = {
      year: start.get('year') ?? undefined,
      month: start.get('month') ?? undefined,
      day: start.get('day') ?? undefined,
    };
    throw dayWithoutTime(text, field, context, DateTime.fromObject(named, { zone }));
  }
  const clockOn = (date: { year: number; month: number; day: number }): WallClock => ({
    year: date.year,
    month: date.month,
    day: date.day,
    hour: hasTime ? (start.get('hour') ?? 0) : 0,
    minute: hasTime ? (start.get('minute') ?? 0) : 0,
    second: 0,
  });
  // A time without a day is the next one (after the start, for an end), as `03:00` is.
  if (!hasDay && hasTime) return nextTime(text, context, clockOn);
  let year = start.get('year') ?? 0;
  const anchor = context.dayWithoutYear;
  if (anchor !== undefined && start.isCertain('month') && !start.isCertain('year')) {
    // chrono gave the next one to come (forwardDate), at most a year from now.
    const on = (y: number) =>
      DateTime.fromObject(
        { year: y, month: start.get('month') ?? 1, day: start.get('day') ?? 1 },
        { zone },
      );
    if ('nearest' in anchor) {
      if (on(year) > anchor.nearest.plus({ months: 6 })) year -= 1;
    } else {
      // Back while the year before is still after the start (dates stop at 1970).
      while (year > 1970 && on(year - 1) > anchor.after) year -= 1;
    }
  }
  return localTime(
    text,
    field,
    zone,
    clockOn({ year, month: start.get('month') ?? 0, day: start.get('day') ?? 0 }),
    context.note,
    context.now,
  );
}

type ParsedText = ReturnType<Chrono['casual']['parse']>[number];

/** A text that looks back (`last friday`, `past monday`; `previous` is read as `last`). */
const BACKWARD = /\b(?:last|past)\b/i;
const PREVIOUS = /\bprevious(?=\s+(?:mon|tue|wed|thu|fri|sat|sun|week|month|year))/gi;

/**
 * A date written with dots (`02.01.2027`, `2.1.27`, `02.01.`), not part of a longer one: day
 * first, as everywhere dots are used (German, Russian, Finnish, Czech…). A time written with
 * a dot (`9.30`) has no second dot.
 */
const DOTTED_DATE = /(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?![\d.])/;

/**
 * `typed` with its dotted date, if any, written as chrono reads it one way (`02.01.2027 9am`:
 * `2 January 2027 9am`; chrono itself reads dots month first). A month over 12 or a day its
 * month does not have is refused, naming the day-first order.
 */
function dottedDateInWords(text: string, typed: string, context: WhenContext): string {
  const dotted = DOTTED_DATE.exec(typed);
  if (dotted === null) return typed;
  const { field } = context;
  const [written = '', dayText = '', monthText = '', yearText] = dotted;
  const [day, month] = [Number(dayText), Number(monthText)];
  const year =
    yearText === undefined ? undefined : Number(yearText.length === 2 ? `20${yearText}` : yearText);
  if (month < 1 || month > 12 || day < 1) {
    const swapped =
      day >= 1 && day <= 12 && month >= 1 && month <= 31
        ? ` (${monthText}.${dayText}.${yearText ?? ''} is ${month} ${MONTH_NAMES[day - 1] ?? ''})`
        : '';
    throw new InvalidInput(
      `the ${field} "${text}" is not a date: dates with dots are read day first (day.month.year), and ${written} has no month ${month}${swapped}`,
      { field },
    );
  }
  const words = `${day} ${MONTH_NAMES[month - 1] ?? ''}${year === undefined ? '' : ` ${year}`}`;
  const inWords = typed.replace(written, words);
  const missing = dayThatDoesNotExist(text, field, context.now.setZone(context.zone), inWords);
  if (missing !== undefined) throw missing;
  return inWords;
}

/** A date of two numbers with slashes (`03/04`, `3/4/26`), not part of a longer one. */
const SLASHED_DATE = /(?<![\d/])(\d{1,2})\/(\d{1,2})(?:\/(\d{4}|\d{2}))?(?![\d/])/;
/** A period where a day is meant (`next week`): chrono reads it as this moment, a week on. */
const PERIOD = /\b(?:this|next|last|past|coming)\s+(week(?:end)?|month|year)\b/i;
/** Minutes written (`9:30`, `9.30`) or an hour with a leading zero (`05`): a 24-hour clock. */
const TWENTY_FOUR_HOUR = /\d[:.]\d{2}|(?<!\d)0\d(?!\d)/;

/**
 * Why `result` (chrono's reading of `text`) cannot be taken as read, as the refusal to give,
 * when people write it meaning different things (see the module comment); else undefined.
 * chrono reads each of them one way without a word: `03/04` month first, `at 5` as 05:00,
 * `next week` as this moment seven days on.
 */
function ambiguity(
  text: string,
  result: ParsedText,
  context: WhenContext,
): InvalidInput | undefined {
  const { field } = context;
  const slashed = SLASHED_DATE.exec(result.text);
  if (slashed !== null) {
    const [written = '', first = '', second = '', year] = slashed;
    const [a, b] = [Number(first), Number(second)];
    if (a !== b && a >= 1 && a <= 12 && b >= 1 && b <= 12) {
      const now = context.now.setZone(context.zone);
      const us = dayNamed(b, a, year, now);
      const elsewhere = dayNamed(a, b, year, now);
      // Each way to write it keeps the rest of what was typed (the time: without it, a start
      // written as suggested would be refused as a day without a time).
      const typed = text.trim().replace(/\s+/g, ' ');
      const { start } = result;
      const time = start.isCertain('hour')
        ? ` ${String(start.get('hour') ?? 0).padStart(2, '0')}:${String(start.get('minute') ?? 0).padStart(2, '0')}`
        : '';
      const ways = (day: { short: string; iso: string }) => {
        const iso = `${day.iso}${time}`;
        return `"${typed.replace(written, day.short)}" or ${time === '' ? iso : `"${iso}"`}`;
      };
      return new InvalidInput(
        `the ${field} "${text}" is ambiguous: ${written} is ${us.words} with the month first (as in the US), ${elsewhere.words} with the day first. ` +
          `Write the month in letters or the date in ISO form: ${ways(us)} for ${us.words}, ${ways(elsewhere)} for ${elsewhere.words}`,
        { field },
      );
    }
  }
  if (context.needsTime === true) {
    const period = PERIOD.exec(result.text);
    if (period !== null) {
      const unit = (period[1] ?? '').toLowerCase() as PeriodUnit;
      return new PeriodWithoutDay(
        `the ${field} "${text}" names a ${unit}, not a day: say which day, and the time, e.g. "next monday 9am" or "dec 24 3pm"`,
        {
          field,
          unit,
          within: DateTime.fromJSDate(result.start.date(), { zone: context.zone }),
          hasTime: result.start.isCertain('hour'),
        },
      );
    }
  }
  const { start } = result;
  const hour = start.get('hour') ?? 0;
  const clockWords = ['casualReference/noon', 'casualReference/midnight'];
  if (
    start.isCertain('hour') &&
    !start.isCertain('meridiem') &&
    hour >= 1 &&
    hour <= 12 &&
    !start.tags().has('result/relativeDate') &&
    !clockWords.some((tag) => start.tags().has(tag)) &&
    !TWENTY_FOUR_HOUR.test(result.text)
  ) {
    const hh = (n: number) => String(n).padStart(2, '0');
    return new InvalidInput(
      hour === 12
        ? `the ${field} "${text}" is ambiguous: 12 noon or midnight? Write noon or midnight, or a 24-hour time (12:00 or 00:00)`
        : `the ${field} "${text}" is ambiguous: ${hour} in the morning or the afternoon? Write ${hour}am or ${hour}pm, or a 24-hour time (${hh(hour)}:00 or ${hour + 12}:00)`,
      { field },
    );
  }
  return undefined;
}

/**
 * Day `day` of month `month` as messages name it (`4 March`, `"4 mar"`, `2026-03-04`): in
 * `year` when written (two digits: this century), else the next one to come after `now`.
 */
function dayNamed(
  day: number,
  month: number,
  year: string | undefined,
  now: DateTime,
): { words: string; short: string; iso: string } {
  const name = MONTH_NAMES[month - 1] ?? '';
  const written = year === undefined ? undefined : Number(year.length === 2 ? `20${year}` : year);
  const comesThisYear = month > now.month || (month === now.month && day >= now.day);
  const inYear = written ?? (comesThisYear ? now.year : now.year + 1);
  const iso = `${inYear}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const short = `${day} ${name.slice(0, 3).toLowerCase()}${written === undefined ? '' : ` ${written}`}`;
  return { words: `${day} ${name}`, short, iso };
}

/** A wall-clock reading: what a clock on the wall of the zone shows. */
interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function wallClock(
  year: number,
  month: number,
  day: number,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): WallClock {
  if (Number(hour) === 24 && Number(minute ?? 0) === 0 && Number(second ?? 0) === 0) {
    // 24:00 is the midnight that ends the day (ISO 8601): 00:00 of the next.
    const next = DateTime.utc(year, month, day).plus({ days: 1 });
    return { year: next.year, month: next.month, day: next.day, hour: 0, minute: 0, second: 0 };
  }
  return {
    year,
    month,
    day,
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
  };
}

function sameWallClock(instant: DateTime, clock: WallClock): boolean {
  return (
    instant.year === clock.year &&
    instant.month === clock.month &&
    instant.day === clock.day &&
    instant.hour === clock.hour &&
    instant.minute === clock.minute &&
    instant.second === clock.second
  );
}

/** The shifts of clocks going back, in minutes (Lord Howe's is half an hour). */
const SHIFTS = [30, 60, 120];

/**
 * The instant at which the zone's clocks show `clock`; refuses readings that never happen
 * (saying what to write instead: see {@link skippedTime}). One that happens twice is the
 * first, told to `note` when given.
 */
function localTime(
  text: string,
  field: string,
  zone: string,
  clock: WallClock,
  note?: (message: string) => void,
  now?: DateTime,
): DateTime {
  if (clock.hour > 23 || clock.minute > 59 || clock.second > 59) {
    // Luxon carries 24:30 over to the next day, which would be refused as skipped.
    throw new InvalidInput(
      `the ${field} "${text}" is not a time of day: hours run from 00 to 23 and minutes from 00 to 59 (24:00 is 00:00 of the next day)`,
      { field },
    );
  }
  const instant = DateTime.fromObject(clock, { zone });
  if (!instant.isValid) throw notATime(text, field);
  if (!sameWallClock(instant, clock)) {
    // Luxon moves a reading inside a spring-forward gap past the gap; scheduling at a time
    // that the user's clock never shows would surprise them, so say so instead.
    throw skippedTime(text, field, zone, instant, now);
  }
  // When clocks go back the reading happens twice and Luxon picks the later one; people mean
  // the first (as RFC 5545 does), so step back by the usual size of a shift if it reads the same.
  let first = instant;
  for (const minutes of SHIFTS) {
    const earlier = instant.minus({ minutes });
    if (sameWallClock(earlier, clock)) {
      first = earlier;
      break;
    }
  }
  sayIfRepeated(text, field, zone, first, note);
  return first;
}

/**
 * The refusal of a wall clock the clocks skip as they go forward: when and by how much they
 * jump, and the times the person most likely meant, written so that they read one way: the
 * same instant as the clocks show it (`02:30` read before the jump is `03:30`: luxon's
 * `shifted`), and the time as far before the jump, unless that is past (`now`).
 */
function skippedTime(
  text: string,
  field: string,
  zone: string,
  shifted: DateTime,
  now: DateTime | undefined,
): InvalidInput {
  const before = shifted.minus({ hours: 12 }).offset;
  const gap = shifted.offset - before;
  // The jump: the last instant with the old offset, searched to the second.
  let [low, high] = [shifted.minus({ hours: 12 }).toMillis(), shifted.toMillis()];
  while (high - low > SECOND_MS) {
    const middle = Math.floor((low + high) / 2 / SECOND_MS) * SECOND_MS;
    if (DateTime.fromMillis(middle, { zone }).offset === before) low = middle;
    else high = middle;
  }
  const jump = DateTime.fromMillis(high, { zone });
  const from = jump.setZone(FixedOffsetZone.instance(before)).toFormat('HH:mm');
  const seconds = shifted.second === 0 ? '' : ':ss';
  const written = (at: DateTime) => at.toFormat(`yyyy-MM-dd HH:mm${seconds}`);
  const later = written(shifted);
  const earlier = shifted.minus({ minutes: gap });
  const length = gap === 60 ? 'an hour' : gap === 30 ? 'half an hour' : `${gap} minutes`;
  // The earlier time only while both are to come: a start just missed is no suggestion.
  const missed = now !== undefined && earlier < now.startOf('minute') && shifted >= now;
  const alternative = missed ? '' : ` (or ${written(earlier)}, ${length} earlier)`;
  return new InvalidInput(
    `the ${field} "${text}" does not exist in ${zone}: on ${jump.setLocale('en-GB').toFormat('d MMMM yyyy')} the clocks go forward from ${from} to ${jump.toFormat('HH:mm')} (daylight saving); did you mean ${later}, ${length} later${alternative}?`,
    { field },
  );
}

/**
 * Tells `note` how `instant` was read when its wall clock happens twice in `zone` (the
 * clocks go back over it): which of the two it is, why (`why`, else RFC 5545's rule for the
 * first), and how to write the other, with its offset.
 */
function sayIfRepeated(
  text: string,
  field: string,
  zone: string,
  instant: DateTime,
  note: ((message: string) => void) | undefined,
  why?: string,
): void {
  if (note === undefined) return;
  const clock = instant.toFormat('yyyy-MM-dd HH:mm:ss');
  const other = SHIFTS.flatMap((minutes) => [
    instant.minus({ minutes }),
    instant.plus({ minutes }),
  ]).find((candidate) => candidate.toFormat('yyyy-MM-dd HH:mm:ss') === clock);
  if (other === undefined) return;
  const which = other > instant ? 'first' : 'second';
  const seconds = instant.second === 0 ? '' : ':ss';
  const named = (at: DateTime) =>
    `${at.toFormat(`HH:mm${seconds} ZZ`)} (${at.setLocale('en-US').toFormat('ZZZZ')})`;
  const written = other.toFormat(`yyyy-MM-dd'T'HH:mm${seconds}ZZ`);
  note(
    `the ${field} "${text}" happens twice in ${zone}, as the clocks go back: read as the ${which}, ${named(instant)}${
      why === undefined ? (which === 'first' ? ', as RFC 5545 says' : '') : `, as ${why}`
    }; for the ${which === 'first' ? 'second' : 'first'}, ${named(other)}, write ${written}`,
  );
}

function notATime(text: string, field: string, now?: DateTime): InvalidInput {
  const missing = dayThatDoesNotExist(text, field, now);
  if (missing !== undefined) return missing;
  return new InvalidInput(
    `the ${field} "${text}" is not a time: write e.g. "tomorrow 9am", "next monday 14:00", ` +
      '"dec 24 3pm", "in 2 hours", +2h, or ISO 8601 (2026-03-01T09:00, with or without an offset)',
    { field },
  );
}

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\\.?';
const DAY = '(\\d{1,2})(?:st|nd|rd|th)?';
const YEAR = '(?:,?\\s+(\\d{4}))?';
const MONTH_THEN_DAY = new RegExp(`\\b${MONTH}\\s+${DAY}\\b${YEAR}`, 'i');
const DAY_THEN_MONTH = new RegExp(`\\b${DAY}\\s+(?:of\\s+)?${MONTH}${YEAR}`, 'i');
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})/;

/**
 * Why `text` names no day, when it writes a day of a month that month does not have (`feb
 * 29` in a year that is not a leap year, `apr 31`, `2027-02-29`), as the refusal to give:
 * such a text is otherwise refused as "not a time", which sends a person looking for what
 * is wrong with how they wrote it. A day without a year is in the year it comes next after
 * `now` (as it is read), else undefined.
 */
function dayThatDoesNotExist(
  text: string,
  field: string,
  now: DateTime | undefined,
  value = text.trim(),
): InvalidInput | undefined {
  let year: number | undefined;
  let month: number;
  let day: number;
  let named: RegExpExecArray | undefined;
  const iso = ISO_DAY.exec(value);
  const monthThenDay = MONTH_THEN_DAY.exec(value);
  const dayThenMonth = DAY_THEN_MONTH.exec(value);
  const monthOf = (name: string) =>
    MONTH_NAMES.findIndex((m) => m.toLowerCase().startsWith(name.toLowerCase())) + 1;
  if (iso !== null) {
    [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  } else if (monthThenDay !== null) {
    named = monthThenDay;
    month = monthOf(monthThenDay[1] ?? '');
    day = Number(monthThenDay[2]);
    year = monthThenDay[3] === undefined ? undefined : Number(monthThenDay[3]);
  } else if (dayThenMonth !== null) {
    named = dayThenMonth;
    day = Number(dayThenMonth[1]);
    month = monthOf(dayThenMonth[2] ?? '');
    year = dayThenMonth[3] === undefined ? undefined : Number(dayThenMonth[3]);
  } else {
    return undefined;
  }
  if (month < 1 || month > 12 || day < 1) return undefined;
  if (year === undefined) {
    if (now === undefined) return undefined;
    // The next such day to come: this year's unless its month is over.
    year = month < now.month ? now.year + 1 : now.year;
  }
  const length = DateTime.local(year, month, 1).daysInMonth ?? 31;
  if (day <= length) return undefined;
  const name = MONTH_NAMES[month - 1] ?? '';
  if (month === 2 && day === 29) {
    let leap = year + 1;
    while ((DateTime.local(leap, 2, 1).daysInMonth ?? 28) < 29) leap += 1;
    return new InvalidInput(
      `the ${field} "${text}" is 29 February ${year}, a day that does not exist: ${year} is not a leap year (the next 29 February is in ${leap}: write ${inLeapYear(value, leap, named)})`,
      { field },
    );
  }
  return new InvalidInput(
    `the ${field} "${text}" names a day that does not exist: ${name} ${year} has ${length} days`,
    { field },
  );
}

/**
 * How to write 29 February of the `leap` year, as `value` (which names it in a common year)
 * writes it, the rest kept (`feb 29 2027 9am`: `"feb 29 2028 9am"`; `2027-02-29T09:00`:
 * `2028-02-29T09:00`); `named` is the date in words where it is not ISO.
 */
function inLeapYear(value: string, leap: number, named: RegExpExecArray | undefined): string {
  const typed = value.replace(/\s+/g, ' ');
  if (named === undefined) {
    const iso = `${leap}${typed.slice(4)}`;
    return iso.includes(' ') ? `"${iso}"` : iso;
  }
  const date = named[0].replace(/,?\s+\d{4}$/, '');
  const words = `"${typed.replace(named[0], `${date} ${leap}`)}"`;
  // A date alone has an ISO form too; with more (a time), the words keep it.
  return typed.trim() === named[0].trim() ? `${words} or ${leap}-02-29` : words;
}

type PeriodUnit = 'week' | 'weekend' | 'month' | 'year';

/**
 * A week, month or year (`next week`) where a day and a time are needed; a range's bound
 * ({@link parseRangeBound}) takes it as the whole period.
 */
class PeriodWithoutDay extends InvalidInput {
  readonly unit: PeriodUnit;
  /** An instant in the period, as chrono read the text (`next week`: now, 7 days on). */
  readonly within: DateTime;
  readonly hasTime: boolean;
  constructor(
    message: string,
    options: { field: string; unit: PeriodUnit; within: DateTime; hasTime: boolean },
  ) {
    super(message, { field: options.field });
    this.unit = options.unit;
    this.within = options.within;
    this.hasTime = options.hasTime;
  }
}

/** A day written in words where a time is needed; {@link parseDayOrTime} takes it as a day. */
class DayWithoutTime extends InvalidInput {}

function dayWithoutTime(
  text: string,
  field: string,
  context: WhenContext,
  day: DateTime,
): InvalidInput {
  const typed = text.trim().replace(/\s+/g, ' ');
  const examples = timeExamples(typed, context, day).map((example) => `"${example}"`);
  return new DayWithoutTime(
    `the ${field} "${text}" names a day but no time: add one` +
      (examples.length === 0 ? ' (HH:MM, or with am/pm)' : `, e.g. ${examples.join(' or ')}`),
    { field },
  );
}

/**
 * Up to two ways to write the day `typed` names (`day`) with a time (`today 5pm`, `today
 * 18:00`), each of which reads, as a different time of that day, and none in the past unless
 * the day is: 9am and 14:00, else the next whole hours of today (`today 9am` in the afternoon
 * would be warned about as past; `tonight 9am` reads as this morning, `this evening 9am` as
 * tomorrow's).
 */
/** Parts of the day in words, the hours they cover, and times within them to suggest. */
const PARTS_OF_DAY: readonly {
  readonly words: RegExp;
  readonly from: number;
  readonly to: number;
  readonly times: readonly string[];
}[] = [
  { words: /\bmorning\b/i, from: 5, to: 12, times: ['9am', '10:30'] },
  { words: /\bafternoon\b/i, from: 12, to: 18, times: ['2pm', '15:30'] },
  { words: /\b(?:evening|tonight|night)\b/i, from: 17, to: 24, times: ['8pm', '19:30'] },
];

function timeExamples(typed: string, context: WhenContext, day: DateTime): string[] {
  const now = context.now.setZone(context.zone);
  const hour12 = (h: number) => `${h % 12 === 0 ? 12 : h % 12}${h < 12 ? 'am' : 'pm'}`;
  // A part of the day named (`tonight`, `tomorrow morning`) takes times within it only:
  // `tonight 9am` reads as this morning, `tomorrow morning 14:00` as the afternoon.
  const part = PARTS_OF_DAY.find(({ words }) => words.test(typed));
  // chrono (forwardDate) reads `this morning` after the morning's start as tomorrow's.
  const onDay = /\b(?:this|tonight)\b/i.test(typed) ? now : day.setZone(context.zone);
  const nextHours = [now.hour + 1, now.hour + 2].filter((h) => h < 24);
  const candidates = [
    ...(part?.times ?? ['9am', '14:00']),
    ...nextHours.map((h, i) => (i === 0 ? hour12(h) : `${String(h).padStart(2, '0')}:00`)),
  ];
  const read: { example: string; at: DateTime }[] = [];
  for (const time of candidates) {
    const example = `${typed} ${time}`;
    let at: DateTime;
    try {
      at = parseWhen(example, { zone: context.zone, now, field: context.field, needsTime: true });
    } catch {
      continue;
    }
    const dayPast = at.startOf('day') < now.startOf('day');
    const within = part === undefined || (at.hour >= part.from && at.hour < part.to);
    const fits = at.hasSame(onDay, 'day') && (at >= now || dayPast) && within;
    if (fits && !read.some((r) => r.at.equals(at))) read.push({ example, at });
  }
  return read.slice(0, 2).map((r) => r.example);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  d: DAY_MS,
  day: DAY_MS,
  days: DAY_MS,
  h: HOUR_MS,
  hr: HOUR_MS,
  hrs: HOUR_MS,
  hour: HOUR_MS,
  hours: HOUR_MS,
  m: MINUTE_MS,
  min: MINUTE_MS,
  mins: MINUTE_MS,
  minute: MINUTE_MS,
  minutes: MINUTE_MS,
  w: WEEK_MS,
  wk: WEEK_MS,
  wks: WEEK_MS,
  week: WEEK_MS,
  weeks: WEEK_MS,
  s: SECOND_MS,
  sec: SECOND_MS,
  secs: SECOND_MS,
  second: SECOND_MS,
  seconds: SECOND_MS,
};
/** One part of a duration: a number and its unit (`1.5h`, `30 min`); the unit may be missing. */
const DURATION_PART = /(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:,|and)?\s*/gy;
const HOURS_MINUTES = /^(\d+):([0-5]\d)$/;

/** Milliseconds of the parts of a duration (`1h30`, `90 min`, `1.5h`), or undefined. */
function partsMs(value: string): number | undefined {
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let previousUnit: number | undefined;
  const seen = new Set<number>();
  while (DURATION_PART.lastIndex < value.length) {
    const match = DURATION_PART.exec(value);
    if (match === null) return undefined;
    const [, amount = '', unitText = ''] = match;
    let unit: number | undefined;
    if (unitText === '') {
      // A bare number only after hours or minutes, and last: `1h30` is 1 h 30 min.
      if (DURATION_PART.lastIndex < value.length) return undefined;
      if (previousUnit === HOUR_MS) unit = MINUTE_MS;
      else if (previousUnit === MINUTE_MS) unit = SECOND_MS;
      else return undefined;
    } else {
      unit = DURATION_UNITS[unitText];
    }
    if (unit === undefined || seen.has(unit)) return undefined;
    seen.add(unit);
    previousUnit = unit;
    total += Number(amount) * unit;
  }
  return total;
}

/** Milliseconds of a duration text, or undefined when it is not one (zero included). */
function durationMs(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  let ms: number | undefined;
  const hoursMinutes = HOURS_MINUTES.exec(value);
  if (hoursMinutes !== null) {
    ms = Number(hoursMinutes[1]) * HOUR_MS + Number(hoursMinutes[2]) * MINUTE_MS;
  } else if (/^p/.test(value)) {
    const iso = Duration.fromISO(value.toUpperCase());
    // Months and years have no fixed length, so they cannot be an event's length.
    if (iso.isValid && iso.years === 0 && iso.months === 0) {
      ms = iso.toMillis();
    }
  } else if (/^0+$/.test(value)) {
    // Nothing at all, without a unit: `0` (a unit is asked of any other bare number).
    ms = 0;
  } else if (/^\d/.test(value)) {
    ms = partsMs(value);
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.round(ms);
}

/**
 * Reads a duration (`90m`, `90 min`, `1h30`, `1.5h`, `2 hours`, `1d`, `PT1H30M`) as a
 * positive number of whole seconds, and returns it as ISO 8601 hours/minutes/seconds (`PT1H30M`, `PT24H`), the form
 * the API accepts unambiguously. With `zero`, none at all (`0`, `0m`) is read too, as 0 ms
 * (an event's length: an instant; a reminder at the start); else it is refused, saying so.
 */
export function parseDuration(
  text: string,
  field = 'duration',
  { zero = false }: { readonly zero?: boolean } = {},
): { ms: number; iso: string } {
  const ms = durationMs(text);
  if (ms === 0 && !zero) {
    throw new InvalidInput(`the ${field} cannot be zero: give a length, e.g. 30m or 1h`, {
      field,
    });
  }
  if (ms === undefined) {
    throw new InvalidInput(
      `the ${field} "${text}" is not a duration: write e.g. 45m, 90 min, 1h30, 1.5h, 2 hours or 1d`,
      {
        field,
      },
    );
  }
  if (ms % SECOND_MS !== 0) {
    throw new InvalidInput(`the ${field} must be a whole number of seconds`, { field });
  }
  const iso = Duration.fromMillis(ms).shiftTo('hours', 'minutes', 'seconds').toISO();
  return { ms, iso };
}

/**
 * An event's `--duration`: {@link parseDuration} with none at all read (an instant), in whole
 * minutes. Seconds are refused rather than rounded, as for reminders and free-time slots: a
 * length of `30s` or `1m30s` was typed on purpose, and an event that silently lasts another
 * length than the one asked for is worse than a refusal saying what to write.
 * @throws InvalidInput naming the flag.
 */
export function parseEventDuration(text: string): { ms: number; iso: string } {
  const duration = parseDuration(text, 'duration', { zero: true });
  if (duration.ms % MINUTE_MS !== 0) {
    throw new InvalidInput(
      `the duration "${text}" is not a whole number of minutes: an event lasts whole minutes (write e.g. 1m, 30m or 1h30)`,
      { field: 'duration' },
    );
  }
  return duration;
}

/** A `<when>` that may name a whole day: `2026-12-14`, `dec 14`, `monday`, `tomorrow`. */
export type DayOrTime =
  | { readonly kind: 'day'; readonly start: DateTime; readonly end: DateTime }
  | { readonly kind: 'time'; readonly at: DateTime };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Reads a `<when>` that names either a time (as {@link parseWhen}) or a whole day in the
 * zone: an ISO date or a day in words without a time. A day is `[its midnight, the next)`.
 */
export function parseDayOrTime(text: string, context: WhenContext): DayOrTime {
  const asDay = (): DayOrTime => {
    const start = parseWhen(text, { ...context, needsTime: false }).startOf('day');
    return { kind: 'day', start, end: start.plus({ days: 1 }) };
  };
  if (ISO_DATE.test(text.trim())) return asDay();
  try {
    return { kind: 'time', at: parseWhen(text, { ...context, needsTime: true }) };
  } catch (error) {
    if (error instanceof DayWithoutTime) return asDay();
    throw error;
  }
}

/** The instant as the API wants it: ISO 8601 with the offset of its zone, whole seconds. */
export function toApiInstant(instant: DateTime): string {
  return instant.toISO({ suppressMilliseconds: true }) ?? instant.toUTC().toISO() ?? '';
}

/**
 * A bound of a range (`--from` or `--to`, as `bound` says): a time as {@link parseWhen} reads
 * it, or else the whole of the day or period the text names, from its start (`--from
 * tomorrow`, `--from 2026-04-01`: 00:00 in the zone; `--from "next week"`: Monday 00:00,
 * `"next month"`: the 1st) or to its end (`--to friday`, `--to 2026-04-08`: the next day's
 * 00:00, so that the day is in the range; `--to "next month"`: the 1st of the month after).
 */
export function parseRangeBound(
  text: string,
  context: Pick<WhenContext, 'zone' | 'now' | 'note'>,
  bound: 'from' | 'to',
  from?: DateTime,
): DateTime {
  const whole = (start: DateTime, length: { days?: number; months?: number; years?: number }) =>
    bound === 'from' ? start : start.plus(length);
  const day = (start: DateTime) => whole(start.startOf('day'), { days: 1 });
  const read = {
    ...context,
    field: bound,
    dayWithoutYear:
      bound === 'to' && from !== undefined ? { after: from } : { nearest: context.now },
  };
  if (ISO_DATE.test(text.trim())) return day(parseWhen(text, read));
  try {
    return parseWhen(text, { ...read, needsTime: true });
  } catch (error) {
    if (error instanceof DayWithoutTime) return day(parseWhen(text, read));
    if (!(error instanceof PeriodWithoutDay) || error.hasTime) throw error;
    const { unit, within } = error;
    if (unit === 'weekend') {
      const saturday = within.startOf('week').plus({ days: 5 });
      return whole(saturday, { days: 2 });
    }
    if (unit === 'week') return whole(within.startOf('week'), { days: 7 });
    if (unit === 'month') return whole(within.startOf('month'), { months: 1 });
    return whole(within.startOf('year'), { years: 1 });
  }
}

/**
 * A `--from`/`--to` pair, defaulting to now → `--from` + `defaultSpanDays`; each bound read by
 * {@link parseRangeBound} (a day is the whole day).
 */
export function parseInterval(
  from: string | undefined,
  to: string | undefined,
  context: Pick<WhenContext, 'zone' | 'now' | 'note'>,
  defaultSpanDays = 7,
): { from: DateTime; to: DateTime } {
  const start =
    from === undefined ? context.now.setZone(context.zone) : parseRangeBound(from, context, 'from');
  const end =
    to === undefined
      ? start.plus({ days: defaultSpanDays })
      : parseRangeBound(to, context, 'to', start);
  requireEndAfterStart(start, end, { start: 'from', end: 'to' });
  return { from: start, to: end };
}

/**
 * Refuses an event whose end is before its start ({@link InvalidInput} of `--end`, naming
 * both). An end at the start is an instant (a deadline), which the server keeps as such.
 */
export function requireEndNotBeforeStart(start: DateTime, end: DateTime): void {
  if (end < start) {
    throw new InvalidInput(
      `--end (${toApiInstant(end)}) is before --start (${toApiInstant(start)}): an event ends at or after its start (at it, it is an instant)`,
      { field: 'end' },
    );
  }
}

/** The two flags that bound an interval: an event's `--start`/`--end` or a range's `--from`/`--to`. */
export type BoundFlags =
  { readonly start: 'start'; readonly end: 'end' } | { readonly start: 'from'; readonly end: 'to' };

/**
 * Refuses an interval whose end is not after its start, as an {@link InvalidInput} of the end's
 * flag naming both instants. The CLI checks it before asking the server, which checks it
 * again on its own (server/domain/validation.ts): the server is the authority, this only
 * saves a person a round trip and names the flags they typed.
 */
export function requireEndAfterStart(
  start: DateTime,
  end: DateTime,
  flags: BoundFlags = { start: 'start', end: 'end' },
): void {
  if (end <= start) {
    throw new InvalidInput(
      `--${flags.end} (${toApiInstant(end)}) must be after --${flags.start} (${toApiInstant(start)})`,
      { field: flags.end },
    );
  }
}
