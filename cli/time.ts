/**
 * How the CLI reads the times and durations a person types, and how it names instants to
 * the API. Every instant leaves the CLI with an explicit UTC offset (the API refuses local
 * times: only the client knows the user's zone), in whole seconds.
 *
 * `<when>` accepts:
 * - ISO 8601 with an offset: `2026-03-01T09:00:00Z`, `2026-03-01T10:00+01:00` (kept as is);
 * - ISO 8601 without one: `2026-03-01T09:00`, `2026-03-01 09:00`, `2026-03-01` (midnight),
 *   read in the zone given by `--tz` or else the local zone. A local time that does not
 *   exist (clocks jump forward) is refused; one that happens twice (clocks go back) is the
 *   earlier of the two;
 * - `now`; `today`, `tomorrow`, `yesterday` (midnight), optionally followed by a time of
 *   day (`tomorrow 09:30`); a bare time of day (`14:00`) is today;
 * - an offset from now: `+2h`, `-30m`, `+1d12h`, `+PT90M`.
 *
 * Durations: `1h30m`, `45m`, `2h`, `1d`, `90s`, `1d2h` or ISO `PT1H30M` / `P1D`; a day is
 * 24 hours.
 */
import { DateTime, Duration, IANAZone } from 'luxon';
import { InvalidInput } from '../contract/errors.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

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
}

const WITH_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/i;
const DAY_WORD = /^(today|tomorrow|yesterday)(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/i;
const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const RELATIVE = /^([+-])(.+)$/;

/**
 * Reads a `<when>` (see the module comment for the forms). Throws {@link InvalidInput}
 * naming the flag when the text is not a time, is not a whole second, or names a local time
 * that does not exist in the zone.
 */
export function parseWhen(text: string, context: WhenContext): DateTime {
  const value = text.trim();
  const { zone, now, field } = context;
  const lower = value.toLowerCase();
  if (lower === 'now') return now.setZone(zone);

  const relative = RELATIVE.exec(value);
  if (relative !== null) {
    const [, sign, amount = ''] = relative;
    const ms = durationMs(amount);
    if (ms === undefined) throw notATime(text, field);
    return now.setZone(zone).plus({ milliseconds: sign === '-' ? -ms : ms });
  }

  const day = DAY_WORD.exec(value);
  if (day !== null) {
    const [, word = '', hour, minute, second] = day;
    const offsetDays = { today: 0, tomorrow: 1, yesterday: -1 }[word.toLowerCase()] ?? 0;
    const date = now.setZone(zone).plus({ days: offsetDays });
    return localTime(
      text,
      field,
      zone,
      wallClock(date.year, date.month, date.day, hour, minute, second),
    );
  }

  const timeOfDay = TIME_OF_DAY.exec(value);
  if (timeOfDay !== null) {
    const [, hour, minute, second] = timeOfDay;
    const today = now.setZone(zone);
    return localTime(
      text,
      field,
      zone,
      wallClock(today.year, today.month, today.day, hour, minute, second),
    );
  }

  const local = LOCAL_DATE_TIME.exec(value);
  if (local !== null) {
    const [, year, month, dayOfMonth, hour, minute, second] = local;
    return localTime(
      text,
      field,
      zone,
      wallClock(Number(year), Number(month), Number(dayOfMonth), hour, minute, second),
    );
  }

  if (WITH_OFFSET.test(value) && /^\d{4}-/.test(value)) {
    const parsed = DateTime.fromISO(value, { setZone: true });
    if (!parsed.isValid) throw notATime(text, field);
    if (parsed.millisecond !== 0) {
      throw new InvalidInput(`the ${field} "${text}" must be a whole second`, { field });
    }
    return parsed;
  }
  throw notATime(text, field);
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

/** The instant at which the zone's clocks show `clock`; refuses readings that never happen. */
function localTime(text: string, field: string, zone: string, clock: WallClock): DateTime {
  const instant = DateTime.fromObject(clock, { zone });
  if (!instant.isValid) throw notATime(text, field);
  if (!sameWallClock(instant, clock)) {
    // Luxon moves a reading inside a spring-forward gap past the gap; scheduling at a time
    // that the user's clock never shows would surprise them, so say so instead.
    throw new InvalidInput(
      `the ${field} "${text}" does not exist in ${zone}: the clocks skip it (daylight saving)`,
      { field },
    );
  }
  // When clocks go back the reading happens twice and Luxon picks the later one; people mean
  // the first (as RFC 5545 does), so step back by the usual size of a shift if it reads the same.
  for (const minutes of [30, 60, 120]) {
    const earlier = instant.minus({ minutes });
    if (sameWallClock(earlier, clock)) return earlier;
  }
  return instant;
}

function notATime(text: string, field: string): InvalidInput {
  return new InvalidInput(
    `the ${field} "${text}" is not a time: use ISO 8601 (2026-03-01T09:00, with or without an offset), ` +
      'now, today, tomorrow [HH:MM], HH:MM or an offset like +2h',
    { field },
  );
}

const SHORT_DURATION = /^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$/i;

/** Milliseconds of a duration text, or undefined when it is not one (zero included). */
function durationMs(text: string): number | undefined {
  const value = text.trim();
  const short = SHORT_DURATION.exec(value);
  let ms: number | undefined;
  if (short !== null && value !== '') {
    const [, d, h, m, s] = short;
    ms =
      Number(d ?? 0) * DAY_MS +
      Number(h ?? 0) * HOUR_MS +
      Number(m ?? 0) * MINUTE_MS +
      Number(s ?? 0) * SECOND_MS;
  } else if (/^P/i.test(value)) {
    const iso = Duration.fromISO(value.toUpperCase());
    // Months and years have no fixed length, so they cannot be an event's length.
    if (iso.isValid && iso.years === 0 && iso.months === 0) {
      ms = iso.toMillis();
    }
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return undefined;
  return ms;
}

/**
 * Reads a duration (`1h30m`, `45m`, `2h`, `1d`, `PT1H30M`) as a positive number of whole
 * seconds, and returns it as ISO 8601 hours/minutes/seconds (`PT1H30M`, `PT24H`), the form
 * the API accepts unambiguously.
 */
export function parseDuration(text: string, field = 'duration'): { ms: number; iso: string } {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new InvalidInput(`the ${field} "${text}" is not a duration (use e.g. 45m, 1h30m, 2d)`, {
      field,
    });
  }
  if (ms % SECOND_MS !== 0) {
    throw new InvalidInput(`the ${field} must be a whole number of seconds`, { field });
  }
  const iso = Duration.fromMillis(ms).shiftTo('hours', 'minutes', 'seconds').toISO();
  return { ms, iso };
}

/** The instant as the API wants it: ISO 8601 with the offset of its zone, whole seconds. */
export function toApiInstant(instant: DateTime): string {
  return instant.toISO({ suppressMilliseconds: true }) ?? instant.toUTC().toISO() ?? '';
}

/** A `--from`/`--to` pair, defaulting to now → now + `defaultSpanDays`. */
export function parseInterval(
  from: string | undefined,
  to: string | undefined,
  context: { readonly zone: string; readonly now: DateTime },
  defaultSpanDays = 7,
): { from: DateTime; to: DateTime } {
  const start =
    from === undefined
      ? context.now.setZone(context.zone)
      : parseWhen(from, { ...context, field: 'from' });
  const end =
    to === undefined
      ? start.plus({ days: defaultSpanDays })
      : parseWhen(to, { ...context, field: 'to' });
  requireEndAfterStart(start, end, { start: 'from', end: 'to' });
  return { from: start, to: end };
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
