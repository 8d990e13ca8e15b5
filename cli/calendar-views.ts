/**
 * What `agenda today`, `week` and `month` share: their flags, the days they fetch, their
 * `--json` result, and the width a grid is drawn in.
 *
 * A grid cannot be drawn without a width, so unlike the lists (which cut nothing off a
 * terminal without `$COLUMNS`) the calendar views always have one: `--width`, else
 * `$COLUMNS`, else the terminal's columns, else 80 — what `khal calendar` and `gcalcli calw`
 * do (Python's terminal size, `$COLUMNS` first).
 */
import { Flags } from '@oclif/core';
import { DateTime } from 'luxon';
import type { EventView } from '../contract/views.js';
import { InvalidInput } from '../contract/errors.js';
import { EARLIEST_INSTANT, LATEST_INSTANT } from '../contract/limits.js';
import { outputColumns } from './terminal.js';
import type { Terminal } from './terminal.js';
import { toApiInstant } from './time.js';
import { MIN_VIEW_WIDTH, dayKey, daysOf } from './ui/calendar.js';
import type { CalendarDay } from './ui/calendar.js';

/** The width used off a terminal, without `--width` or `$COLUMNS`. */
export const DEFAULT_VIEW_WIDTH = 80;

/** What a calendar view prints with `--json`: its days, each with the events on it. */
export interface CalendarViewResult {
  readonly view: 'today' | 'week' | 'month';
  /** The interval shown, ISO instants with the zone's offset. */
  readonly from: string;
  readonly to: string;
  readonly timeZone: string;
  /** Every day of the interval, in order; an event over several days is on each. */
  readonly days: ReadonlyArray<{ readonly date: string; readonly events: readonly EventView[] }>;
}

/** `--date` and `--width`, which every view takes. */
export const viewFlags = {
  date: Flags.string({
    description:
      'A day in the period to show (default: today): 2026-03-02, tomorrow, +7d, -1d… (alias --from).',
    helpValue: '<when>',
    aliases: ['from'],
  }),
  width: Flags.integer({
    description: "Columns to draw in (default: $COLUMNS, else the terminal's, else 80).",
    min: 20,
    max: 1000,
  }),
};

/** The width a view is drawn in; see the module comment. */
export function viewWidth(flag: number | undefined, terminal: Terminal): number {
  return flag ?? outputColumns(terminal) ?? DEFAULT_VIEW_WIDTH;
}

/**
 * The layout a view is drawn in: `asked` (`--layout`), else the grid from `gridFrom`
 * columns on and the list below. A grid needs {@link MIN_VIEW_WIDTH} columns (seven days of
 * four cells and their borders): asked for in fewer, the list is drawn instead, and `note`
 * says why (a warning on stderr), rather than lines running past the terminal's edge.
 */
export function chooseLayout(
  asked: 'grid' | 'list' | undefined,
  width: number,
  gridFrom: number,
): { readonly layout: 'grid' | 'list'; readonly note?: string } {
  const layout = asked ?? (width >= gridFrom ? 'grid' : 'list');
  if (layout === 'grid' && width < MIN_VIEW_WIDTH) {
    return {
      layout: 'list',
      note: `a grid needs ${MIN_VIEW_WIDTH} columns and there are ${width}: the events are listed by day instead`,
    };
  }
  return { layout };
}

/**
 * Whether a view's lists are cut to its width: with `--width`, on a terminal, or with
 * `$COLUMNS` set (as `event list` is); piped without them, lists keep every character.
 */
export function viewCut(flag: number | undefined, terminal: Terminal): boolean {
  return flag !== undefined || outputColumns(terminal) !== undefined;
}

/**
 * The interval to fetch for days `[first, end)` shown for `--date` (`date`, as written; none
 * for today): only the part the server keeps (1970 to 2200; a grid's days outside it are
 * shown empty), so that a day out of it is refused here, naming `--date`, rather than by the
 * server naming a `from` nobody typed.
 * @throws InvalidInput when no day shown is within those years.
 */
export function viewInterval(
  first: DateTime,
  end: DateTime,
  date: string | undefined,
): { from: string; to: string } {
  if (end.toMillis() <= EARLIEST_INSTANT || first.toMillis() >= LATEST_INSTANT) {
    throw new InvalidInput(
      `the --date "${date ?? first.toISODate() ?? ''}" is outside the years Agenda keeps: give a day from 1970 to 2199`,
      { field: 'date' },
    );
  }
  const zone = first.zone;
  return {
    from: toApiInstant(DateTime.max(first, DateTime.fromMillis(EARLIEST_INSTANT, { zone }))),
    to: toApiInstant(DateTime.min(end, DateTime.fromMillis(LATEST_INSTANT, { zone }))),
  };
}

/** `2026-03` as the first of that month in `zone`, else undefined. */
export function parseMonth(text: string, zone: string, now: DateTime): DateTime | undefined {
  const match = /^(\d{4})-(\d{2})$/.exec(text.trim());
  if (match === null) return undefined;
  const month = Number(match[2]);
  if (month < 1 || month > 12) {
    throw new InvalidInput(`"${text}" names no month (01 to 12)`, { field: 'date' });
  }
  return now
    .setZone(zone)
    .set({ year: Number(match[1]), month, day: 1 })
    .startOf('day');
}

/** The days of `[first, first + count days)` with their events, and the JSON result of them. */
export function calendarResult(
  view: CalendarViewResult['view'],
  events: readonly EventView[],
  first: DateTime,
  count: number,
  zone: string,
): { days: CalendarDay[]; result: CalendarViewResult } {
  const days = daysOf(events, first, count, zone);
  const last = days[days.length - 1]?.date ?? first;
  return {
    days,
    result: {
      view,
      from: first.toISO({ suppressMilliseconds: true }) ?? '',
      to: last.plus({ days: 1 }).toISO({ suppressMilliseconds: true }) ?? '',
      timeZone: zone,
      days: days.map((day) => ({ date: dayKey(day.date), events: day.events })),
    },
  };
}
