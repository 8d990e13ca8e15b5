/**
 * Working hours for `agenda free`: the server answers every free gap of the interval, night
 * included; people meet within working hours. The CLI cuts the gaps to the working hours of
 * each day in the user's zone (`--tz`, else the local one) and keeps the pieces still long
 * enough. Cutting maximal gaps to windows gives every free stretch inside the windows, so
 * nothing is lost by asking the server once for the whole interval.
 *
 * The default is 08:00–18:00, Monday to Friday; `--hours 09:30-17` changes the hours,
 * `--weekends` adds Saturday and Sunday, and `--hours any` looks at every hour of every day.
 */
import type { DateTime, Zone } from 'luxon';
import { InvalidInput } from '../contract/errors.js';
import type { SlotView } from '../contract/views.js';

/** Hours of a working day, as minutes after midnight: `[start, end)`. */
export interface WorkingHours {
  readonly start: number;
  readonly end: number;
}

export const DEFAULT_WORKING_HOURS = '08:00-18:00';

const HOURS = /^(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?$/;

/** Reads `--hours`: `09:00-18:00`, `9-17`, `8:30-12`; `any` (or `all`) for none. */
export function parseWorkingHours(text: string): WorkingHours | null {
  const value = text.trim().toLowerCase();
  if (value === 'any' || value === 'all') return null;
  const match = HOURS.exec(value);
  const minutes = (h: string | undefined, m: string | undefined) =>
    Number(h ?? 0) * 60 + Number(m ?? 0);
  if (match !== null) {
    const [, h1, m1, h2, m2] = match;
    const start = minutes(h1, m1);
    const end = minutes(h2, m2);
    const valid = (h: string | undefined, m: string | undefined, max: number) =>
      Number(m ?? 0) < 60 && minutes(h, m) <= max;
    if (valid(h1, m1, 24 * 60 - 1) && valid(h2, m2, 24 * 60) && start < end) {
      return { start, end };
    }
  }
  throw new InvalidInput(
    `--hours "${text}" is not a span of hours within a day: write e.g. 08:00-18:00 or 9-17 (or any, for every hour)`,
    { field: 'hours' },
  );
}

/**
 * The working windows between `from` and `to`, day by day in `zone`: the instants whose
 * wall-clock time that day lies within `hours`. Setting the hours on the day instead would
 * let the zone's rules move an hour that does not exist (the night clocks go forward) to one
 * that does, outside the hours asked, and would see only the first of an hour that happens
 * twice (the night they go back). So each day is read as stretches of one UTC offset, and
 * each stretch keeps the instants whose wall-clock time is within the hours: a window that
 * falls in the skipped hour gives nothing, and one in the repeated hour both times it passes.
 */
export function workingWindows(
  from: DateTime,
  to: DateTime,
  hours: WorkingHours,
  options: { readonly zone: string; readonly weekends: boolean },
): { start: number; end: number }[] {
  const windows: { start: number; end: number }[] = [];
  const last = to.setZone(options.zone).startOf('day');
  for (
    let day = from.setZone(options.zone).startOf('day');
    day <= last;
    day = day.plus({ days: 1 }).startOf('day')
  ) {
    // Luxon: 6 is Saturday, 7 Sunday.
    if (!options.weekends && day.weekday >= 6) continue;
    // The day's midnight on the wall clock, counted as if it were UTC; a wall-clock time of
    // the day is this plus its minutes, and an instant's is the instant plus its offset.
    const wallMidnight = Date.UTC(day.year, day.month - 1, day.day);
    const wallStart = wallMidnight + hours.start * MINUTE;
    const wallEnd = wallMidnight + hours.end * MINUTE;
    const next = day.plus({ days: 1 }).startOf('day').toMillis();
    for (const stretch of sameOffsetStretches(day.zone, day.toMillis(), next)) {
      const start = Math.max(wallStart - stretch.offset, stretch.start, from.toMillis());
      const end = Math.min(wallEnd - stretch.offset, stretch.end, to.toMillis());
      if (start >= end) continue;
      // The stretches of a day touch, so a window across a change of offset is one window.
      const previous = windows.at(-1);
      if (previous !== undefined && previous.end === start) previous.end = end;
      else windows.push({ start, end });
    }
  }
  return windows;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * `[start, end)` cut where the zone's UTC offset changes, each piece with its offset in
 * milliseconds. Zones change offset at most a few times a year and never twice within an
 * hour, so looking once an hour finds every change, and halving finds its instant.
 */
function sameOffsetStretches(
  zone: Zone,
  start: number,
  end: number,
): { start: number; end: number; offset: number }[] {
  const offsetAt = (ms: number) => zone.offset(ms) * MINUTE;
  const stretches: { start: number; end: number; offset: number }[] = [];
  let stretchStart = start;
  let offset = offsetAt(start);
  for (let probe = start; probe < end;) {
    const nextProbe = Math.min(probe + HOUR, end - 1);
    if (nextProbe <= probe) break;
    if (offsetAt(nextProbe) !== offset) {
      // The offset is `offset` at `low` and another at `high`: halve down to the millisecond.
      let low = probe;
      let high = nextProbe;
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (offsetAt(middle) === offset) low = middle;
        else high = middle;
      }
      stretches.push({ start: stretchStart, end: high, offset });
      stretchStart = high;
      offset = offsetAt(high);
    }
    probe = nextProbe;
  }
  stretches.push({ start: stretchStart, end, offset });
  return stretches;
}

/** The parts of `slots` inside `windows` that last at least `minMs`, in order. */
export function withinWindows(
  slots: readonly SlotView[],
  windows: readonly { start: number; end: number }[],
  minMs: number,
): SlotView[] {
  const kept: SlotView[] = [];
  for (const slot of slots) {
    const slotStart = Date.parse(slot.start);
    const slotEnd = Date.parse(slot.end);
    for (const window of windows) {
      const start = Math.max(slotStart, window.start);
      const end = Math.min(slotEnd, window.end);
      if (end - start >= minMs) {
        kept.push({ start: new Date(start).toISOString(), end: new Date(end).toISOString() });
      }
    }
  }
  return kept;
}
