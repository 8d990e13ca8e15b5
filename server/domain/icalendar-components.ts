/**
 * An iCalendar text read into its calendars and their top-level components as they are
 * written, before any value is parsed: so that what is wrong with one component (an
 * impossible date, a line that is not a content line, components nested without end, a
 * time zone offset of 99 hours) costs that component alone, named with its line, and not
 * the whole request it came in (200 events of a file, when `agenda import` splits one).
 *
 * What stays wrong for the whole file: content outside any VCALENDAR, and a VCALENDAR's
 * own properties that cannot be read; a component left open at the end of the file (a
 * file cut short) is that component's problem, and what came before it is read.
 *
 * Line ends may be CRLF, LF or CR alone (as old Mac tools write them); a line beginning with
 * a space or a tab continues the one before (RFC 5545 §3.1), and is read with it.
 */
import { InvalidInput } from '../../contract/errors.js';

/** A top-level component of a calendar (VEVENT, VTIMEZONE, VTODO, …), as written. */
export interface WrittenComponent {
  /** Upper case: `VEVENT`, `VTIMEZONE`, `VTODO`. */
  readonly name: string;
  /** The line of its BEGIN, from 1. */
  readonly line: number;
  /** Its lines as written (folded ones too), CRLF-separated, BEGIN to END. */
  readonly text: string;
  /** Its own UID, SUMMARY and (for a VTIMEZONE) TZID, unescaped, or null. */
  readonly uid: string | null;
  readonly summary: string | null;
  readonly tzid: string | null;
  /** Whether it has a RECURRENCE-ID of its own (a changed occurrence of a series). */
  readonly recurrenceId: boolean;
  /** Why it cannot be read, naming the line; null when it may be parsed. */
  readonly problem: string | null;
}

export interface WrittenCalendar {
  /** `BEGIN:VCALENDAR`, the calendar's own properties and `END:VCALENDAR`, CRLF-separated. */
  readonly header: string;
  /** Its top-level components, in file order. */
  readonly components: readonly WrittenComponent[];
}

/**
 * How deep components may nest: a calendar holds events, zones and to-dos, which hold alarms
 * and observances, so real files go three deep. Deeper is left unparsed: the parse and the
 * walks over its tree recurse, and 20,000 nested VALARMs overflowed the stack.
 */
export const MAX_COMPONENT_DEPTH = 16;

/** Properties whose values are dates or date-times an import reads. */
const DATE_PROPERTIES = new Set(['DTSTART', 'DTEND', 'RECURRENCE-ID', 'EXDATE']);
const DATE_OR_DATE_TIME = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/i;

/** What is impossible about a DATE or DATE-TIME value, or null when it is a real time. */
export function impossibility(value: string): string | null {
  const match = DATE_OR_DATE_TIME.exec(value);
  // Not of this shape at all. ical.js does not refuse every such value: it reads what its
  // pattern finds and rolls the rest over (`20271345T250000ZZ`, `202713-5T250000Z` and
  // `2027134T250000Z` each became some day of 2028), so a value of any other shape is
  // refused here too, with its line, rather than imported as a date nobody wrote.
  if (match === null) return 'it is not of the form YYYYMMDD or YYYYMMDDTHHMMSS[Z]';
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const [year, month, day] = [y ?? 0, mo ?? 0, d ?? 0];
  if (month < 1 || month > 12) return `there is no month ${month}`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return `month ${month} of ${year} has no day ${day}`;
  if (h === undefined || Number.isNaN(h)) return null;
  if (h > 23) return `there is no hour ${h}`;
  if ((mi ?? 0) > 59) return `there is no minute ${mi}`;
  // 60 is a leap second, which RFC 5545 (§3.3.12) allows.
  if ((s ?? 0) > 60) return `there is no second ${s}`;
  return null;
}

/**
 * The largest UTC offset anything may say: ±18:00, the bound of ISO 8601 offsets as Java's
 * ZoneOffset and JavaScript's Temporal keep it. One of 99 hours is a file's error, and would
 * place its events days away.
 */
export const MAX_UTC_OFFSET_MINUTES = 18 * 60;
/**
 * The offsets a zone only the file defines may have: those of today's zones, from −12:00
 * (Baker Island) to +14:00 (Kiribati). ical.js, which places times in such a zone, wraps any
 * other into this range (+18:00 read as −09:00).
 */
export const PLACEABLE_UTC_OFFSETS = { minMinutes: -12 * 60, maxMinutes: 14 * 60 } as const;
const UTC_OFFSET = /^([+-])(\d{2})(\d{2})(\d{2})?$/;

/**
 * What is wrong with a UTC-OFFSET value (RFC 5545 §3.3.14: `+HHMM` or `+HHMMSS`) of a zone's
 * definition, or null: malformed, minutes or seconds past 59, beyond
 * {@link MAX_UTC_OFFSET_MINUTES}, or outside {@link PLACEABLE_UTC_OFFSETS}.
 */
export function offsetProblem(value: string): string | null {
  const match = UTC_OFFSET.exec(value);
  if (match === null) return 'it is not of the form +HHMM or -HHMM';
  const [, sign, hh, mm, ss] = match;
  const [hours, minutes, seconds] = [Number(hh), Number(mm), Number(ss ?? '0')];
  if (minutes > 59 || seconds > 59) return 'its minutes or seconds are past 59';
  const total = (sign === '-' ? -1 : 1) * (hours * 60 + minutes + seconds / 60);
  if (Math.abs(total) > MAX_UTC_OFFSET_MINUTES) {
    return `it is ${hours} hours from UTC, more than the 18 any offset may be`;
  }
  if (total < PLACEABLE_UTC_OFFSETS.minMinutes || total > PLACEABLE_UTC_OFFSETS.maxMinutes) {
    return "it is beyond the offsets of today's zones (-12:00 to +14:00), as far as times in a zone only the file defines can be placed";
  }
  return null;
}

/** The value of a content line (after the first colon outside a quoted parameter). */
function valueOfLine(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === ':' && !quoted) return line.slice(i + 1);
  }
  return '';
}

/** A TEXT value unescaped (RFC 5545 §3.3.11), for naming a component in a report. */
function unescaped(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** What is wrong with one content line of a component at `depth` (2: its own), or null. */
function lineProblem(component: string, depth: number, name: string, line: string): string | null {
  if (DATE_PROPERTIES.has(name) || name === 'RRULE') {
    const values =
      name === 'RRULE'
        ? [...valueOfLine(line).matchAll(/(?:^|;)UNTIL=([^;]*)/gi)].map((m) => m[1] ?? '')
        : valueOfLine(line).split(',');
    for (const value of values) {
      const wrong = impossibility(value.trim());
      if (wrong !== null) {
        const what = name === 'RRULE' ? 'RRULE UNTIL' : name;
        return `${what} ${value.trim()} is not a real date or time (${wrong})`;
      }
    }
  }
  if (component === 'VTIMEZONE' && depth === 3 && /^TZOFFSET(FROM|TO)$/.test(name)) {
    const value = valueOfLine(line).trim();
    const wrong = offsetProblem(value);
    if (wrong !== null) return `${name} ${value} is not a UTC offset (${wrong})`;
  }
  return null;
}

/** A logical (unfolded) content line, and the physical lines it is written on. */
interface ContentLine {
  readonly text: string;
  readonly physical: readonly string[];
  /** The line it starts on, from 1. */
  readonly number: number;
}

function* contentLines(text: string): Generator<ContentLine> {
  const physical = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\n|\r/);
  let lines: string[] = [];
  let first = 0;
  for (const [i, line] of physical.entries()) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) {
      lines.push(line);
      continue;
    }
    if (lines.length > 0) {
      yield {
        text: lines.map((l, k) => (k === 0 ? l : l.slice(1))).join(''),
        physical: lines,
        number: first + 1,
      };
    }
    lines = line === '' ? [] : [line];
    first = i;
  }
  if (lines.length > 0) {
    yield {
      text: lines.map((l, k) => (k === 0 ? l : l.slice(1))).join(''),
      physical: lines,
      number: first + 1,
    };
  }
}

/** A component being read. */
interface Reading {
  name: string;
  line: number;
  lines: string[];
  uid: string | null;
  summary: string | null;
  tzid: string | null;
  recurrenceId: boolean;
  problem: string | null;
}

function written({ lines, ...reading }: Reading): WrittenComponent {
  return { ...reading, text: `${lines.join('\r\n')}\r\n` };
}

/**
 * The calendars of `text` and their top-level components, each with what is wrong with it
 * (see the module comment).
 * @throws InvalidInput (field `file`) for content outside any VCALENDAR.
 */
export function writtenCalendars(text: string): WrittenCalendar[] {
  const calendars: { header: string[]; components: WrittenComponent[] }[] = [];
  let calendar: { header: string[]; components: WrittenComponent[] } | null = null;
  let component: Reading | null = null;
  // Depth within the file: 1 inside a VCALENDAR, 2 inside one of its components, …
  let depth = 0;
  for (const line of contentLines(text)) {
    const name = /^[A-Za-z0-9-]+/.exec(line.text)?.[0].toUpperCase() ?? '';
    const edge = (name === 'BEGIN' || name === 'END') && /^[A-Za-z]+[:;]/.test(line.text);
    const kind = edge ? valueOfLine(line.text).trim().toUpperCase() : '';
    if (depth === 0) {
      if (edge && name === 'BEGIN' && kind === 'VCALENDAR') {
        calendar = { header: [...line.physical], components: [] };
        calendars.push(calendar);
        depth = 1;
        continue;
      }
      throw new InvalidInput(
        edge && name === 'BEGIN'
          ? 'the file is not an iCalendar calendar (no VCALENDAR)'
          : `the file is not valid iCalendar: line ${line.number} is outside any VCALENDAR`,
        { field: 'file' },
      );
    }
    if (calendar === null) continue;
    if (depth === 1) {
      if (edge && name === 'END') {
        calendar.header.push(...line.physical);
        depth = 0;
      } else if (edge && name === 'BEGIN') {
        component = {
          name: kind,
          line: line.number,
          lines: [...line.physical],
          uid: null,
          summary: null,
          tzid: null,
          recurrenceId: false,
          problem: null,
        };
        depth = 2;
      } else {
        calendar.header.push(...line.physical);
      }
      continue;
    }
    if (component === null) continue;
    component.lines.push(...line.physical);
    if (edge && name === 'BEGIN') {
      depth++;
      if (depth > MAX_COMPONENT_DEPTH) {
        component.problem ??= `line ${line.number} opens a component nested more than ${MAX_COMPONENT_DEPTH} deep`;
      }
      continue;
    }
    if (edge && name === 'END') {
      depth--;
      if (depth === 1) {
        calendar.components.push(written(component));
        component = null;
      }
      continue;
    }
    if (depth === 2) {
      const value = () => unescaped(valueOfLine(line.text));
      if (name === 'UID') component.uid ??= value();
      else if (name === 'SUMMARY') component.summary ??= value();
      else if (name === 'TZID') component.tzid ??= value();
      else if (name === 'RECURRENCE-ID') component.recurrenceId = true;
    }
    if (component.problem === null) {
      const wrong = lineProblem(component.name, depth, name, line.text);
      if (wrong !== null) component.problem = `line ${line.number}: ${wrong}`;
      else if (!/^[A-Za-z0-9-]+[;:]/.test(line.text)) {
        component.problem = `line ${line.number} is not an iCalendar content line (NAME:value)`;
      }
    }
  }
  if (component !== null && calendar !== null) {
    component.problem = `its BEGIN:${component.name} on line ${component.line} is never closed (the file ends first)`;
    calendar.components.push(written(component));
  }
  return calendars.map((c) => {
    // A calendar cut short is read as if it were closed.
    const header = /^END:VCALENDAR/i.test(c.header.at(-1) ?? '')
      ? c.header
      : [...c.header, 'END:VCALENDAR'];
    return { header: `${header.join('\r\n')}\r\n`, components: c.components };
  });
}
