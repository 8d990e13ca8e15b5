/**
 * Wall clocks and the UTC timeline, deterministically. Decisions run inside a replicated
 * state machine, so the same wall-clock reading must map to the same instant on every
 * replica at any time of year. luxon's `DateTime.fromObject` resolves ambiguous readings
 * with an offset guessed from the *current* time, so it is not used for that; these
 * functions ask the zone database (through luxon's `IANAZone`) only about fixed instants.
 *
 * Asking the zone database goes through `Intl` and costs microseconds, which adds up when
 * expanding long series; offsets are therefore memoized per zone and UTC day (a pure
 * cache: answers are the same with or without it).
 */
import { IANAZone } from 'luxon';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function zoneNamed(name: string): IANAZone {
  const zone = IANAZone.create(name);
  if (!zone.isValid) throw new RangeError(`unknown time zone ${name}`);
  return zone;
}

/** A UTC day of a zone: its offset at the start, and where and to what it changes, if it does. */
interface ZoneDay {
  readonly offset: number;
  readonly change: { readonly at: number; readonly offset: number } | null;
}

/** Bound on memoized zone-days (about 60 years of days for a dozen zones). */
const MAX_MEMOIZED_DAYS = 250_000;
/** zone → UTC day → what happens that day (no key strings built on the hot path). */
const zoneDays = new Map<string, Map<number, ZoneDay>>();
let memoizedDays = 0;

/** The first instant in `(low, high]` whose offset differs from `low`'s. */
function firstChange(tz: IANAZone, low: number, high: number): number {
  const before = tz.offset(low);
  let lo = low;
  let hi = high;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (tz.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

function zoneDay(zone: string, day: number): ZoneDay {
  let days = zoneDays.get(zone);
  const known = days?.get(day);
  if (known !== undefined) return known;
  const tz = zoneNamed(zone);
  const start = day * DAY;
  const offset = tz.offset(start);
  const endOffset = tz.offset(start + DAY);
  // Zones change offset at most once a day, which the zone database bears out since 1970.
  const found: ZoneDay =
    offset === endOffset
      ? { offset, change: null }
      : { offset, change: { at: firstChange(tz, start, start + DAY), offset: endOffset } };
  if (memoizedDays >= MAX_MEMOIZED_DAYS) {
    zoneDays.clear();
    memoizedDays = 0;
    days = undefined;
  }
  if (days === undefined) {
    days = new Map();
    zoneDays.set(zone, days);
  }
  days.set(day, found);
  memoizedDays++;
  return found;
}

/** The UTC offset of `zone` at `instant`, in minutes. */
export function offsetAt(zone: string, instant: number): number {
  const { offset, change } = zoneDay(zone, Math.floor(instant / DAY));
  return change !== null && instant >= change.at ? change.offset : offset;
}

/**
 * What clocks in `zone` read at `instant`, encoded as the UTC instant with the same
 * calendar fields (so `new Date(wall).getUTCHours()` is the local hour).
 */
export function wallClockOf(instant: number, zone: string): number {
  return instant + offsetAt(zone, instant) * MINUTE;
}

/**
 * The instant at which clocks in `zone` read `wall` (encoded as by {@link wallClockOf}).
 * A reading that happens twice (clocks going back) is the earlier instant; a reading that
 * never happens (clocks jumping forward) moves forward by the jump — 02:30 on a
 * spring-forward night becomes 03:30 — as calendar apps do, and as RFC 5545 §3.3.5 asks of
 * a DATE-TIME with a TZID (see {@link instantOfReading}).
 */
export function instantOfWallClock(wall: number, zone: string): number {
  return instantOfReading(wall, (instant) => offsetAt(zone, instant));
}

/**
 * The instant at which clocks read `wall` in a zone whose UTC offset (minutes) at an instant
 * is `offsetAtInstant`: any zone, an IANA one or one only an iCalendar file defines. RFC 5545
 * §3.3.5: a reading that happens twice names the first of the two instants, and one that
 * never happens is read with the offset from before the gap (so it lands after the jump,
 * shifted forward by its length).
 */
export function instantOfReading(
  wall: number,
  offsetAtInstant: (instant: number) => number,
): number {
  // Zones change offset at most once around any given day, so the offsets a day before and
  // a day after are the only candidates.
  const before = offsetAtInstant(wall - DAY);
  const after = offsetAtInstant(wall + DAY);
  const early = wall - before * MINUTE;
  const late = wall - after * MINUTE;
  const earlyValid = offsetAtInstant(early) === before;
  const lateValid = offsetAtInstant(late) === after;
  if (earlyValid && lateValid) return Math.min(early, late);
  if (lateValid) return late;
  // Either only the old offset fits, or the reading falls in a gap: reading it with the old
  // offset lands after the jump, shifted forward by the jump's length.
  return early;
}

/**
 * Whether clocks in `zone` read at `instant` what they read at another instant too, and
 * `instant` is the later of the two: the second pass through an hour repeated when clocks go
 * back (01:30 EST on the night New York leaves summer time). Such a reading, written as a
 * local time with a TZID, names the first pass (RFC 5545 §3.3.5), an hour earlier.
 */
export function isSecondPassOfReading(instant: number, zone: string): boolean {
  return instantOfWallClock(wallClockOf(instant, zone), zone) !== instant;
}

/** An instant at which a zone's UTC offset changes, with the offsets (minutes) around it. */
export interface OffsetChange {
  readonly at: number;
  readonly from: number;
  readonly to: number;
}

/**
 * How far apart {@link offsetChanges} first looks. No zone in the database changes its
 * offset and changes it back within a week (the shortest such spells, Ramadan suspensions
 * of daylight saving, last weeks): a week whose ends read the same offset has no change.
 */
const CHANGE_SCAN_STEP = 7 * DAY;

/**
 * Every offset change of `zone` in `[from, to)`, in order: a week at a time, then day by day
 * through a week whose ends differ, then to the millisecond (a VTIMEZONE of 30 years reads
 * ~2,000 offsets this way, where reading every day took ~22,000: ~100 ms of the store
 * worker per zone in an export). It leaves the per-day memo of the expansions alone.
 */
export function offsetChanges(zone: string, from: number, to: number): OffsetChange[] {
  const tz = zoneNamed(zone);
  const changes: OffsetChange[] = [];
  let at = from;
  let offset = tz.offset(from);
  while (at < to) {
    const next = Math.min(at + CHANGE_SCAN_STEP, to);
    const nextOffset = tz.offset(next);
    if (nextOffset !== offset) {
      for (let day = at; day < next; day += DAY) {
        const end = Math.min(day + DAY, next);
        const before = tz.offset(day);
        const after = tz.offset(end);
        if (before === after) continue;
        const change = firstChange(tz, day, end);
        if (change < to) changes.push({ at: change, from: before, to: after });
      }
    }
    at = next;
    offset = nextOffset;
  }
  return changes;
}
