/**
 * Calendar views of one's own events, as `agenda`, `agenda today`, `week` and `month` draw
 * them: a week as seven day columns with the events in them (like `gcalcli calw`), a month
 * as a grid of weeks (like `gcalcli calm`) or, narrower, a small calendar with the busy days
 * marked and the events listed by day under it (like `khal calendar`), and day-by-day lists.
 *
 * Pure functions of the events, the zone, "now", a palette and a width. Everything is
 * measured in display cells (base/table.ts), so CJK and emoji titles keep the grid's lines
 * straight, and every line fits the width it is given. Colours never carry meaning alone:
 * `!` marks a conflict, `?` an invitation not answered yet (or a flat group's event not yet
 * accepted by all), `✗` a cancelled event, so the plain text of a pipe says as much.
 */
import { DateTime } from 'luxon';
import type { EventView } from '../../contract/views.js';
import {
  COLUMN_GAP,
  displayWidth,
  layoutTable,
  padToWidth,
  tableWidth,
  truncateToWidth,
} from '../../base/table.js';
import type { TableColumn } from '../../base/table.js';
import type { Paint, Palette } from './palette.js';
import { describeRecurrence } from './recurrence.js';

/** How calendar views show time, and in what width (always known: a grid needs one). */
export interface CalendarContext {
  readonly zone: string;
  readonly now: DateTime;
  readonly palette: Palette;
  readonly width: number;
}

/** One day of a view and the events that overlap it, in start order. */
export interface CalendarDay {
  /** Midnight at the start of the day, in the view's zone. */
  readonly date: DateTime;
  readonly events: readonly EventView[];
}

/** The narrowest a view is drawn; a narrower terminal wraps its lines. */
export const MIN_VIEW_WIDTH = 36;

/**
 * From this width on, `week` draws the grid by default; below, the days' events as a list.
 * Seven day columns of 8 cells hold a time (`09:00`) on one line and a title's first word or
 * two under it; narrower, every title reads `? …`.
 */
export const WEEK_GRID_MIN_WIDTH = 64;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** `yyyy-MM-dd` of a day. */
export function dayKey(day: DateTime): string {
  return day.toFormat('yyyy-MM-dd');
}

function at(iso: string, zone: string): DateTime {
  return DateTime.fromISO(iso, { zone }).setLocale('en-GB');
}

/**
 * `count` days from `first` (a midnight in `zone`) with the events overlapping each, in
 * start order: an event over several days is on each of them.
 */
export function daysOf(
  events: readonly EventView[],
  first: DateTime,
  count: number,
  zone: string,
): CalendarDay[] {
  const days: CalendarDay[] = [];
  for (let i = 0; i < count; i++) {
    const date = first.setZone(zone).startOf('day').plus({ days: i }).setLocale('en-GB');
    const start = date.toMillis();
    const end = date.plus({ days: 1 }).toMillis();
    days.push({
      date,
      events: events.filter((event) => {
        const s = Date.parse(event.start);
        const e = Date.parse(event.end);
        // A zero-length event is on the day it happens.
        return s < end && (e > start || (s === e && s >= start));
      }),
    });
  }
  return days;
}

/** The marker an event carries in plain text (see the module comment), or ''. */
export function eventMarker(event: EventView): string {
  if (event.status === 'cancelled') return '✗';
  if (event.conflict) return '!';
  if (event.status === 'pending' || event.myStatus !== 'accepted') return '?';
  return '';
}

const GROUP_PAINTS = ['cyan', 'magenta', 'blue', 'green'] as const;

/** The colour of an event: its status when it needs attention, else its group's. */
export function eventPaint(event: EventView, palette: Palette): Paint {
  if (event.status === 'cancelled') return (text) => palette.dim(palette.strike(text));
  if (event.conflict) return palette.red;
  if (event.status === 'pending' || event.myStatus !== 'accepted') return palette.yellow;
  if (event.group === null) return palette.bold;
  let hash = 0;
  for (const char of event.group) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return palette[GROUP_PAINTS[hash % GROUP_PAINTS.length] ?? 'cyan'];
}

/**
 * Whether the zone's clocks show `at`'s reading twice: the hour repeated when they go back
 * (02:00–03:00 on the last Sunday of October in Madrid), where `02:30` alone names two
 * instants an hour apart.
 */
export function isRepeatedReading(at: DateTime): boolean {
  const before = at.minus({ hours: 3 }).offset;
  const after = at.plus({ hours: 3 }).offset;
  // Only a turn back repeats readings; a spring forward skips them.
  if (before <= after) return false;
  const shift = before - after;
  return [at.plus({ minutes: shift }), at.minus({ minutes: shift })].some(
    (other) => other.day === at.day && other.hour === at.hour && other.minute === at.minute,
  );
}

/** The zone's short name at `at` (`CEST`, `EDT`), else its offset from GMT (`GMT+11`). */
function zoneAbbreviation(at: DateTime): string {
  const names = ['en-GB', 'en-US'].map((locale) => at.setLocale(locale).offsetNameShort ?? '');
  return names.find((name) => /^[A-Z]{2,5}$/.test(name)) ?? names[0] ?? at.toFormat('ZZ');
}

/**
 * `at` as `format` shows it (`HH:mm`, `ccc d LLL HH:mm`), followed by its zone's short name
 * where the reading alone names two instants ({@link isRepeatedReading}): `02:30 CEST`, then
 * `02:30 CET` an hour later.
 */
export function wallTime(at: DateTime, format: string): string {
  const text = at.toFormat(format);
  return isRepeatedReading(at) ? `${text} ${zoneAbbreviation(at)}` : text;
}

/** Whether an event fills whole days: from a midnight to a midnight. */
function isAllDay(start: DateTime, end: DateTime): boolean {
  return end > start && start.equals(start.startOf('day')) && end.equals(end.startOf('day'));
}

/** The event's time as seen on `day`: `09:00`, `→11:00` (began before), `all day`. */
export function timeOnDay(event: EventView, day: DateTime, zone: string): string {
  const start = at(event.start, zone);
  const end = at(event.end, zone);
  const dayEnd = day.plus({ days: 1 });
  if (isAllDay(start, end) || (start < day && end >= dayEnd)) return 'all day';
  if (start < day) return `→${wallTime(end, 'HH:mm')}`;
  return wallTime(start, 'HH:mm');
}

/**
 * A span of time as a list shows it: `09:00–09:15`, `09:00 → Wed 4 Mar 18:00`, `all day`,
 * and an instant (an event that ends when it starts) as its time alone, `17:00`. Listed under
 * `day` (the day a list shows it on, when it began before: `today`'s, the first of a month),
 * an event that began before that day names the day it began, `Tue 5 Jan 10:00 → Thu 7 Jan
 * 10:00` (all day: `Tue 5 Jan → Thu 7 Jan`): its start time alone would read as that day's,
 * and on the day it ends as an event of no length (outside attack 5).
 */
export function spanText(event: EventView, zone: string, day?: DateTime): string {
  const start = at(event.start, zone);
  const end = at(event.end, zone);
  if (end.toMillis() === start.toMillis()) return wallTime(start, 'HH:mm');
  const shownOn = day?.setZone(zone).startOf('day');
  const began = shownOn !== undefined && start < shownOn;
  // The year where it is not the year of the day listed.
  const year = (t: DateTime): string => (t.year === (shownOn ?? start).year ? '' : ' yyyy');
  if (isAllDay(start, end)) {
    const last = end.minus({ days: 1 });
    if (began) {
      return `${start.toFormat(`ccc d LLL${year(start)}`)} → ${last.toFormat(`ccc d LLL${year(last)}`)}`;
    }
    const days = Math.round(end.diff(start, 'days').days);
    return days === 1 ? 'all day' : `${days} days`;
  }
  if (began) {
    return `${wallTime(start, `ccc d LLL${year(start)} HH:mm`)} → ${wallTime(end, `ccc d LLL${year(end)} HH:mm`)}`;
  }
  if (start.hasSame(end, 'day') || end.equals(start.plus({ days: 1 }).startOf('day'))) {
    return `${wallTime(start, 'HH:mm')}–${wallTime(end, 'HH:mm')}`;
  }
  return `${wallTime(start, 'HH:mm')} → ${wallTime(end, 'ccc d LLL HH:mm')}`;
}

/**
 * `text` broken into lines of at most `width` display cells, at spaces where it can and
 * inside a word (between whole characters) where it must; at most `maxLines`, the last one
 * ending in `…` when text was left over.
 */
export function wrapToWidth(text: string, width: number, maxLines: number): string[] {
  if (width <= 0 || maxLines <= 0) return [];
  const lines: string[] = [];
  let rest = text.trim();
  while (rest !== '' && lines.length < maxLines) {
    if (displayWidth(rest) <= width) {
      lines.push(rest);
      rest = '';
      break;
    }
    if (lines.length === maxLines - 1) {
      lines.push(truncateToWidth(rest, width));
      rest = '';
      break;
    }
    // The longest prefix that fits, in whole characters.
    let fit = '';
    let used = 0;
    for (const { segment } of graphemes.segment(rest)) {
      const cells = displayWidth(segment);
      if (used + cells > width) break;
      fit += segment;
      used += cells;
    }
    // A line that ends where a word does needs no earlier break.
    const space = rest[fit.length] === ' ' ? fit.length : fit.lastIndexOf(' ');
    // Break at the last space when it keeps a fair part of the line; else inside the word.
    const cut = space > 0 && displayWidth(fit.slice(0, space)) >= width / 3 ? space : fit.length;
    if (cut === 0) {
      // Not even one character fits (a wide one in a one-cell column).
      lines.push('');
      break;
    }
    lines.push(fit.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  return lines;
}

/** A piece of a line: its text, and how it is painted. */
interface Piece {
  readonly text: string;
  readonly paint?: Paint;
}
type Line = readonly Piece[];

function lineWidth(line: Line): number {
  return line.reduce((sum, piece) => sum + displayWidth(piece.text), 0);
}

function paintLine(line: Line): string {
  return line.map((piece) => (piece.paint ? piece.paint(piece.text) : piece.text)).join('');
}

/** `line` padded with blanks to `width` cells (it must fit). */
function padLine(line: Line, width: number): Line {
  const blanks = width - lineWidth(line);
  return blanks > 0 ? [...line, { text: ' '.repeat(blanks) }] : line;
}

/**
 * An event's title with the marker of its status alone (`✗` cancelled, `?` an answer
 * awaited), for a table that shows whether it conflicts in a column of its own but has no
 * room for its status.
 */
export function statusMarkedTitle(event: EventView): string {
  const marker = eventMarker({ ...event, conflict: false });
  return marker === '' ? event.title : `${marker} ${event.title}`;
}

/** An event's title with its marker: `! Standup`. */
export function markedTitle(event: EventView): string {
  const marker = eventMarker(event);
  return marker === '' ? event.title : `${marker} ${event.title}`;
}

/**
 * The lines an event takes in a day column `width` cells wide, at most `maxLines`: the time
 * then the title on one line when the column is wide enough, else the time on its own line
 * above the title (or, in one line, the title alone).
 */
function eventCell(
  event: EventView,
  day: DateTime,
  width: number,
  maxLines: number,
  context: CalendarContext,
): Line[] {
  const { palette } = context;
  const time = timeOnDay(event, day, context.zone);
  const paint = eventPaint(event, palette);
  const title = markedTitle(event);
  const timeWidth = displayWidth(time);
  if (width >= 12 && timeWidth + 1 + 4 <= width) {
    // `09:00 Standup with`, `      the team`.
    const indent = timeWidth + 1;
    return wrapToWidth(title, width - indent, maxLines).map((text, i): Line =>
      i === 0
        ? [{ text: time, paint: palette.dim }, { text: ' ' }, { text, paint }]
        : [{ text: ' '.repeat(indent) }, { text, paint }],
    );
  }
  // One line in a narrow column: the title says more than the time.
  if (maxLines === 1) return [[{ text: truncateToWidth(title, width), paint }]];
  const lines: Line[] = [[{ text: truncateToWidth(time, width), paint: palette.dim }]];
  if (maxLines > 1) {
    for (const text of wrapToWidth(title, width, maxLines - 1)) lines.push([{ text, paint }]);
  }
  return lines;
}

/** The width of each day column of a 7-column grid in `width` cells (with 8 borders). */
export function dayColumnWidth(width: number): number {
  return Math.max(4, Math.floor((Math.max(width, MIN_VIEW_WIDTH) - 8) / 7));
}

/** A border line: `┌──┬──┐` and the like, for columns `w` wide. */
function border(w: number, [left, middle, right]: readonly [string, string, string]): string {
  return left + Array.from({ length: 7 }, () => '─'.repeat(w)).join(middle) + right;
}

/** Seven cells side by side between `│`. */
function gridRow(cells: readonly Line[], w: number, palette: Palette): string {
  const bar = palette.dim('│');
  return bar + cells.map((cell) => paintLine(padLine(cell, w))).join(bar) + bar;
}

/** The header of a day column: `Mon 2`, `Mon 2 Mar` when it fits; today inverted. */
function dayHeader(day: DateTime, w: number, context: CalendarContext): Line {
  const long = day.toFormat('ccc d LLL');
  const text = truncateToWidth(displayWidth(long) <= w ? long : day.toFormat('ccc d'), w);
  const today = day.hasSame(context.now.setZone(context.zone), 'day');
  const weekend = day.weekday >= 6;
  const { palette } = context;
  const paint: Paint = today
    ? (t) => palette.inverse(palette.bold(t))
    : weekend
      ? palette.dim
      : palette.bold;
  return [{ text: padToWidth(text, w), paint }];
}

/**
 * What the legend explains, for the markers that appear among `events`: on one line, or one
 * a line when that is wider than `width`.
 */
export function legend(events: readonly EventView[], palette: Palette, width?: number): string {
  const shown = new Set(events.map(eventMarker));
  const parts = [
    shown.has('!') ? (['!', palette.red, 'conflict'] as const) : undefined,
    shown.has('?') ? (['?', palette.yellow, 'awaiting an answer'] as const) : undefined,
    shown.has('✗') ? (['✗', palette.dim, 'cancelled'] as const) : undefined,
  ].filter((part) => part !== undefined);
  const oneLine = parts.map(([marker, , meaning]) => `${marker} ${meaning}`).join('   ');
  const separator = width !== undefined && displayWidth(oneLine) > width ? '\n' : '   ';
  return parts
    .map(([marker, paint, meaning]) => palette.dim(`${paint(marker)} ${meaning}`))
    .join(separator);
}

/**
 * `Week 10  2–8 Mar 2026  Europe/Madrid`: what a week's view opens with, in at most
 * `context.width` cells: without the zone, then without the week's number, then cut.
 */
export function weekTitle(days: readonly CalendarDay[], context: CalendarContext): string {
  const { palette, width } = context;
  const first = days[0]?.date ?? context.now;
  const last = days[days.length - 1]?.date ?? first;
  const week = `Week ${first.weekNumber}`;
  const range = rangeText(first, last);
  if (displayWidth(`${week}  ${range}  ${context.zone}`) <= width) {
    return `${palette.bold(week)}  ${range}  ${palette.dim(context.zone)}`;
  }
  if (displayWidth(`${week}  ${range}`) <= width) return `${palette.bold(week)}  ${range}`;
  return palette.bold(truncateToWidth(range, width));
}

/**
 * `text` after `indent` in at most `width` cells a line: as it is when it fits, else broken
 * at spaces into lines (inside a word only where one is wider than the line), each after
 * `indent` and painted with `paint`. Without a width (a pipe), one line as it is.
 */
export function fitText(
  text: string,
  width: number | undefined,
  paint?: Paint,
  indent = '',
): string {
  const room = width === undefined ? undefined : Math.max(1, width - displayWidth(indent));
  const lines =
    room === undefined || displayWidth(text) <= room
      ? [text]
      : wrapToWidth(text, room, Number.MAX_SAFE_INTEGER);
  return lines.map((line) => indent + (paint === undefined ? line : paint(line))).join('\n');
}

/**
 * A week as seven day columns between box lines, each day's events under its header (the
 * time, then the title, wrapped to two lines at most), every line `context.width` cells at
 * most. `days` are the seven days, Monday first.
 */
export function renderWeekGrid(days: readonly CalendarDay[], context: CalendarContext): string {
  const { palette } = context;
  const w = dayColumnWidth(context.width);
  const columns = days.map((day) =>
    day.events.flatMap((event) => eventCell(event, day.date, w, 2, context)),
  );
  const lines = [
    weekTitle(days, context),
    palette.dim(border(w, ['┌', '┬', '┐'])),
    gridRow(
      days.map((day) => dayHeader(day.date, w, context)),
      w,
      palette,
    ),
    palette.dim(border(w, ['├', '┼', '┤'])),
    ...cellRows(columns, w, palette),
  ];
  return closeGrid(lines, days, w, palette);
}

/**
 * The grid lines of one row of cells, as tall as its tallest cell (at least one line): each
 * line holds each cell's line of that height, or nothing where a cell is shorter.
 */
function cellRows(cells: readonly (readonly Line[])[], w: number, palette: Palette): string[] {
  const height = Math.max(1, ...cells.map((cell) => cell.length));
  return Array.from({ length: height }, (_, row) =>
    gridRow(
      cells.map((cell) => cell[row] ?? []),
      w,
      palette,
    ),
  );
}

/** A grid's bottom border, then the legend of the markers its events show, if any. */
function closeGrid(
  lines: string[],
  days: readonly CalendarDay[],
  w: number,
  palette: Palette,
): string {
  lines.push(palette.dim(border(w, ['└', '┴', '┘'])));
  const note = legend(
    days.flatMap((day) => day.events),
    palette,
  );
  if (note !== '') lines.push(note);
  return lines.join('\n');
}

/** `2–8 Mar 2026`, `30 Mar – 5 Apr 2026`, `29 Dec 2025 – 4 Jan 2026`. */
function rangeText(first: DateTime, last: DateTime): string {
  if (first.hasSame(last, 'month')) return `${first.day}–${last.toFormat('d LLL yyyy')}`;
  if (first.hasSame(last, 'year'))
    return `${first.toFormat('d LLL')} – ${last.toFormat('d LLL yyyy')}`;
  return `${first.toFormat('d LLL yyyy')} – ${last.toFormat('d LLL yyyy')}`;
}

/** How many event lines a month grid's day shows before `+n more`. */
const MONTH_CELL_LINES = 3;

/**
 * A month as a grid of weeks, Monday first: each day its number (today inverted, days of
 * the months around dimmed) and up to three events, one line each (`09:00 Title` when the
 * column is wide enough), then `+n more`. `days` are whole weeks covering the month.
 */
export function renderMonthGrid(
  month: DateTime,
  days: readonly CalendarDay[],
  context: CalendarContext,
): string {
  const { palette } = context;
  const w = dayColumnWidth(context.width);
  const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const name = month.toFormat('LLLL yyyy');
  const lines = [
    displayWidth(`${name}  ${context.zone}`) <= context.width
      ? `${palette.bold(name)}  ${palette.dim(context.zone)}`
      : palette.bold(name),
    palette.dim(border(w, ['┌', '┬', '┐'])),
    gridRow(
      names.map((name, i): Line => [
        { text: truncateToWidth(name, w), paint: i >= 5 ? palette.dim : palette.bold },
      ]),
      w,
      palette,
    ),
  ];
  const today = context.now.setZone(context.zone);
  for (let week = 0; week * 7 < days.length; week++) {
    const slice = days.slice(week * 7, week * 7 + 7);
    lines.push(palette.dim(border(w, ['├', '┼', '┤'])));
    const cells = slice.map((day): Line[] => {
      const inMonth = day.date.hasSame(month, 'month');
      const number = String(day.date.day);
      const numberPaint: Paint = day.date.hasSame(today, 'day')
        ? (t) => palette.inverse(palette.bold(t))
        : inMonth
          ? palette.bold
          : palette.dim;
      const cell: Line[] = [[{ text: number, paint: numberPaint }]];
      const shown = day.events.length > MONTH_CELL_LINES ? MONTH_CELL_LINES - 1 : day.events.length;
      for (const event of day.events.slice(0, shown)) {
        cell.push(eventCell(event, day.date, w, 1, context)[0] ?? []);
      }
      if (shown < day.events.length) {
        cell.push([
          { text: truncateToWidth(`+${day.events.length - shown} more`, w), paint: palette.dim },
        ]);
      }
      return cell;
    });
    lines.push(...cellRows(cells, w, palette));
  }
  return closeGrid(lines, days, w, palette);
}

/** The width of {@link renderMonthCalendar} with room for its markers: `cal`'s. */
const MONTH_CALENDAR_WIDTH = 27;

/**
 * A month as a small calendar (`cal`'s), days with events in bold and marked `•`, today
 * inverted: 27 cells wide, or, on a narrower terminal, its days one cell closer (20 cells:
 * `Mo Tu We…`), the mark after a day where it fits — below 21 cells a Sunday's would not,
 * so there the days with events are only bold, as the list under the calendar names them.
 */
export function renderMonthCalendar(
  month: DateTime,
  days: readonly CalendarDay[],
  context: CalendarContext,
): string {
  const { palette } = context;
  const busy = new Set(
    days
      .filter((day) => day.events.some((e) => e.status !== 'cancelled'))
      .map((d) => dayKey(d.date)),
  );
  const today = context.now.setZone(context.zone);
  const compact = context.width < MONTH_CALENDAR_WIDTH;
  const width = compact ? 20 : MONTH_CALENDAR_WIDTH;
  const marks = !compact || context.width > 20;
  const heading = truncateToWidth(month.toFormat(compact ? 'LLL yyyy' : 'LLLL yyyy'), width);
  const lines = [
    palette.bold(
      padToWidth(
        ' '.repeat(Math.max(0, Math.floor((width - displayWidth(heading)) / 2))) + heading,
        width,
      ).trimEnd(),
    ),
    palette.dim(compact ? 'Mo Tu We Th Fr Sa Su' : ' Mo  Tu  We  Th  Fr  Sa  Su'),
  ];
  for (let week = 0; week * 7 < days.length; week++) {
    const slice = days.slice(week * 7, week * 7 + 7);
    if (!slice.some((day) => day.date.hasSame(month, 'month'))) continue;
    const cells = slice.map((day) => {
      if (!day.date.hasSame(month, 'month')) return compact ? '   ' : '    ';
      const number = String(day.date.day).padStart(compact ? 2 : 3);
      const marked = busy.has(dayKey(day.date));
      let text = marked ? palette.bold(number) : number;
      if (day.date.hasSame(today, 'day')) text = palette.inverse(text);
      return text + (marked && marks ? palette.cyan('•') : ' ');
    });
    lines.push(cells.join('').trimEnd());
  }
  return lines.join('\n');
}

/** One row of a day list: the event, its number for `#n`, the day it is listed under. */
export interface ListedRow {
  readonly event: EventView;
  readonly number: number;
}

/** How day lists show ids: the first 8 characters, enough to tell one's events apart. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * Events listed under the day they start on (or under `from`'s day, for those that began
 * before it), numbered `#1…` in order from `firstNumber`, so that `agenda event show '#2'`
 * names one: the number, the time span, the title with its marker, the recurrence in words,
 * the location, and the short id. With `context.cut`, every line fits `context.width`: the
 * columns a narrow terminal can do without go first (the id, what repeats, where), free text
 * is cut, and where even the span leaves no room for a title (under about 40 columns) a line
 * holds the number, the start time (`all day`, `→11:00` for one that began before) and the
 * title, as `event list` does; below about 14 cells the time goes too.
 */
export function renderDayList(
  events: readonly EventView[],
  context: CalendarContext & { readonly cut: boolean },
  options: {
    readonly firstNumber?: number;
    readonly from?: DateTime;
    /** Whether each day's events come under a heading (true); else one list. */
    readonly headings?: boolean;
    /** What each event's line starts with: two blanks under headings, else none. */
    readonly indent?: string;
    /** What each heading (and the legend) starts with: nothing by default. */
    readonly headingIndent?: string;
  } = {},
): string {
  const { palette, zone } = context;
  const firstNumber = options.firstNumber ?? 1;
  const rows: ListedRow[] = events.map((event, i) => ({ event, number: firstNumber + i }));
  const dayOf = (event: EventView): DateTime => {
    const start = at(event.start, zone);
    const from = options.from?.setZone(zone);
    return (from !== undefined && start < from ? from : start).startOf('day');
  };
  const headings = options.headings ?? true;
  const indent = options.indent ?? (headings ? '  ' : '');
  const headingIndent = options.headingIndent ?? '';
  const number: TableColumn<ListedRow, Paint> = {
    key: 'n',
    header: '#',
    text: (r) => `#${r.number}`,
    style: () => palette.dim,
    align: 'right',
  };
  const title: TableColumn<ListedRow, Paint> = {
    key: 'title',
    header: 'TITLE',
    text: (r) => markedTitle(r.event),
    style: (r) => eventPaint(r.event, palette),
    truncate: true,
    minWidth: 10,
  };
  const columns: TableColumn<ListedRow, Paint>[] = [
    number,
    { key: 'when', header: 'WHEN', text: (r) => spanText(r.event, zone, dayOf(r.event)) },
    title,
    {
      key: 'repeats',
      header: 'REPEATS',
      text: (r) =>
        r.event.recurrence === null ? '' : describeRecurrence(r.event.recurrence, zone),
      style: () => palette.dim,
      truncate: true,
      minWidth: 6,
    },
    {
      key: 'where',
      header: 'WHERE',
      // An address on several lines, on one: `Room 4, Main St 1`.
      text: (r) => r.event.location.split(/\s*\n\s*/).join(', '),
      truncate: true,
      minWidth: 5,
    },
    { key: 'id', header: 'ID', text: (r) => shortId(r.event.id), style: () => palette.dim },
  ];
  // Columns nobody has anything in are left out.
  const used = columns.filter(
    (column) =>
      !['repeats', 'where'].includes(column.key) || rows.some((r) => column.text(r) !== ''),
  );
  const room = context.cut ? Math.max(1, context.width - displayWidth(indent)) : undefined;
  let layout = layoutTable(rows, used, {
    header: false,
    ...(room === undefined ? {} : { width: room }),
    // On a narrow terminal: `#n` names an event as well as its id does.
    dropFirst: ['id', 'repeats', 'where'],
  });
  if (room !== undefined && tableWidth(layout.widths) > room) {
    const narrow: TableColumn<ListedRow, Paint>[] = [
      number,
      {
        key: 'time',
        header: 'TIME',
        text: (r) => timeOnDay(r.event, dayOf(r.event), zone),
        style: () => palette.dim,
      },
      { ...title, minWidth: 1 },
    ];
    layout = layoutTable(rows, narrow, { header: false, width: room, dropFirst: ['time'] });
  }
  const headingRoom = context.cut
    ? Math.max(1, context.width - displayWidth(headingIndent))
    : undefined;
  const now = context.now.setZone(zone);
  const lines: string[] = [];
  let current = '';
  layout.rows.forEach((cells, i) => {
    const row = rows[i];
    if (row === undefined) return;
    const day = dayOf(row.event);
    if (headings && dayKey(day) !== current) {
      current = dayKey(day);
      lines.push(headingIndent + palette.bold(fittedHeading(day, now, headingRoom)));
    }
    lines.push(
      indent +
        cells
          .map((cell) => (cell.style === undefined ? cell.text : cell.style(cell.text)))
          .join(COLUMN_GAP),
    );
  });
  const note = legend(events, palette, headingRoom);
  if (note !== '') lines.push(...note.split('\n').map((line) => headingIndent + line));
  return lines.join('\n');
}

/**
 * A day's heading ({@link dayHeading}) in at most `width` cells: `Today, Mon 2 Mar`, else
 * `Mon 2 Mar`, else cut; as it is without a width.
 */
export function fittedHeading(day: DateTime, now: DateTime, width: number | undefined): string {
  const heading = dayHeading(day, now);
  if (width === undefined || displayWidth(heading) <= width) return heading;
  const date = day.toFormat(day.year === now.year ? 'ccc d LLL' : 'ccc d LLL yyyy');
  return truncateToWidth(date, width);
}

/** `Today, Mon 2 Mar`, `Tomorrow, Tue 3 Mar`, `Wed 4 Mar`, `Thu 4 Mar 2027`. */
export function dayHeading(day: DateTime, now: DateTime): string {
  const date = day.toFormat(day.year === now.year ? 'ccc d LLL' : 'ccc d LLL yyyy');
  const today = now.startOf('day');
  if (day.hasSame(today, 'day')) return `Today, ${date}`;
  if (day.hasSame(today.plus({ days: 1 }), 'day')) return `Tomorrow, ${date}`;
  if (day.hasSame(today.minus({ days: 1 }), 'day')) return `Yesterday, ${date}`;
  return date;
}
