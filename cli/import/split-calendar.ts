/**
 * Splits an iCalendar file into texts that each fit one import request
 * (`IMPORT_REQUEST_MAX_EVENTS` events, `IMPORT_REQUEST_MAX_BYTES`), line by line, without
 * parsing values — fast on files of tens of megabytes, and faithful: every line of a
 * component goes out exactly as it came in, folded lines included.
 *
 * Guarantees:
 * - The top-level components of the file's calendars are grouped by UID, across calendars:
 *   a recurring event, its changed occurrences (RECURRENCE-ID) and any other version of it
 *   always travel in the same request, so the server sees the whole event at once.
 * - Every request text is a VCALENDAR (one per calendar it draws from) with that calendar's
 *   header properties (VERSION, PRODID, METHOD, X-WR-TIMEZONE, …) and all its VTIMEZONEs, so
 *   it reads exactly as the part of the file it comes from.
 * - A file that fits one request is sent as it is, byte for byte.
 * - An event too big for any request on its own (with its changed occurrences) is not sent;
 *   it is listed in {@link SplitCalendar.tooBig}.
 * Line folding (a line that begins with a space or a tab continues the previous one), CRLF,
 * LF or CR line ends, a byte-order mark, blank lines and several VCALENDARs are all read;
 * request texts use CRLF.
 */
import { InvalidInput } from '../../contract/errors.js';
import {
  MAX_IMPORT_CHUNK_BYTES as IMPORT_REQUEST_MAX_BYTES,
  MAX_IMPORT_CHUNK_EVENTS as IMPORT_REQUEST_MAX_EVENTS,
} from '../../contract/limits.js';

/** What one request may carry. */
export interface RequestLimits {
  /** VEVENTs that are not changed occurrences. */
  readonly maxEvents: number;
  readonly maxBytes: number;
}

/** The server's limits (contract/api.ts). */
export const REQUEST_LIMITS: RequestLimits = {
  maxEvents: IMPORT_REQUEST_MAX_EVENTS,
  maxBytes: IMPORT_REQUEST_MAX_BYTES,
};

/** The text of one import request. */
export interface CalendarChunk {
  readonly text: string;
  /** VEVENTs that are not changed occurrences: what the server counts, and what progress counts. */
  readonly events: number;
  /** The UIDs of the components it carries, in order (for naming them when the request fails whole). */
  readonly uids: readonly string[];
}

/** An event (with its changed occurrences) that no request can carry. */
export interface OversizedEvent {
  readonly uid: string | null;
  readonly events: number;
  readonly bytes: number;
}

export interface SplitCalendar {
  /** Request texts, in file order. */
  readonly chunks: readonly CalendarChunk[];
  /** Events in the file (VEVENTs that are not changed occurrences), those too big included. */
  readonly events: number;
  /** VEVENTs in the file, changed occurrences included: a file of none holds no events at all. */
  readonly vevents: number;
  readonly tooBig: readonly OversizedEvent[];
}

/** One content line as written: its physical lines (the first, then its continuations). */
interface ContentLine {
  readonly lines: readonly string[];
  /** The property or keyword, upper case: `BEGIN`, `DTSTART`, `X-WR-CALNAME`. */
  readonly name: string;
  /** The unfolded value (after the first colon outside quotes). */
  readonly value: string;
  /** 1-based number of its first physical line. */
  readonly lineNumber: number;
  readonly bytes: number;
}

interface Calendar {
  readonly begin: ContentLine;
  end: ContentLine | null;
  readonly header: ContentLine[];
  readonly timezones: ContentLine[];
  /** Bytes of a section of this calendar without any component: what each request pays for it. */
  overhead: number;
}

interface TopComponent {
  readonly calendar: number;
  readonly kind: string;
  readonly lines: ContentLine[];
  uid: string | null;
  changedOccurrence: boolean;
}

interface Group {
  readonly uid: string | null;
  readonly components: TopComponent[];
}

const LINE_BREAK = /\r\n|\n|\r/;

function byteLength(line: string): number {
  return Buffer.byteLength(line, 'utf8') + 2;
}

/** The physical lines of `text` gathered into content lines (unfolded), blank lines dropped. */
function contentLines(text: string): ContentLine[] {
  const physical = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(LINE_BREAK);
  const result: ContentLine[] = [];
  let lines: string[] = [];
  let first = 0;
  const close = () => {
    if (lines.length === 0) return;
    const unfolded = lines.map((l, i) => (i === 0 ? l : l.slice(1))).join('');
    const { name, value } = nameAndValue(unfolded);
    const bytes = lines.reduce((sum, l) => sum + byteLength(l), 0);
    result.push({ lines, name, value, lineNumber: first + 1, bytes });
    lines = [];
  };
  for (const [i, line] of physical.entries()) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) {
      lines.push(line);
      continue;
    }
    close();
    if (line.trim() === '') continue;
    lines = [line];
    first = i;
  }
  close();
  return result;
}

function nameAndValue(line: string): { name: string; value: string } {
  const nameEnd = line.search(/[;:]/);
  const name = (nameEnd === -1 ? line : line.slice(0, nameEnd)).trim().toUpperCase();
  let quoted = false;
  for (let i = Math.max(nameEnd, 0); i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === ':' && !quoted) return { name, value: line.slice(i + 1) };
  }
  return { name, value: '' };
}

function malformed(line: ContentLine | undefined, reason: string): InvalidInput {
  const where = line === undefined ? 'at the end of the file' : `line ${line.lineNumber}`;
  return new InvalidInput(`the file is not valid iCalendar (${where}: ${reason})`, {
    field: 'file',
  });
}

/** The calendars of the file and their top-level components, in order. */
function readCalendars(lines: readonly ContentLine[]): {
  calendars: Calendar[];
  components: TopComponent[];
} {
  const calendars: Calendar[] = [];
  const components: TopComponent[] = [];
  const open: string[] = [];
  let calendar: Calendar | null = null;
  let component: TopComponent | null = null;
  let timezone: ContentLine[] | null = null;
  for (const line of lines) {
    if (line.name === 'BEGIN' || line.name === 'END') {
      const kind = line.value.trim().toUpperCase();
      if (line.name === 'BEGIN') {
        if (open.length === 0) {
          if (kind !== 'VCALENDAR') throw malformed(line, `BEGIN:${kind} outside a VCALENDAR`);
          calendar = { begin: line, end: null, header: [], timezones: [], overhead: 0 };
          calendars.push(calendar);
        } else if (open.length === 1 && calendar !== null) {
          if (kind === 'VTIMEZONE') timezone = [line];
          else {
            component = {
              calendar: calendars.length - 1,
              kind,
              lines: [line],
              uid: null,
              changedOccurrence: false,
            };
          }
        } else {
          (timezone ?? component?.lines)?.push(line);
        }
        open.push(kind);
        continue;
      }
      const innermost = open.pop();
      if (innermost !== kind) {
        throw malformed(
          line,
          `END:${kind} closes ${innermost === undefined ? 'nothing' : `BEGIN:${innermost}`}`,
        );
      }
      if (open.length === 0 && calendar !== null) {
        calendar.end = line;
      } else if (open.length === 1 && calendar !== null) {
        if (timezone !== null) {
          calendar.timezones.push(...timezone, line);
          timezone = null;
        } else if (component !== null) {
          component.lines.push(line);
          components.push(component);
          component = null;
        }
      } else {
        (timezone ?? component?.lines)?.push(line);
      }
      continue;
    }
    if (open.length === 0) throw malformed(line, `${line.name} outside a VCALENDAR`);
    if (open.length === 1) {
      calendar?.header.push(line);
    } else if (timezone !== null) {
      timezone.push(line);
    } else if (component !== null) {
      component.lines.push(line);
      // Only the component's own properties: a VALARM inside has a UID of its own.
      if (open.length === 2 && line.name === 'UID' && line.value !== '') component.uid = line.value;
      if (open.length === 2 && line.name === 'RECURRENCE-ID') component.changedOccurrence = true;
    }
  }
  if (open.length > 0) throw malformed(undefined, `BEGIN:${open.at(-1) ?? ''} is never closed`);
  for (const c of calendars) {
    c.overhead = [c.begin, ...c.header, ...c.timezones, ...(c.end === null ? [] : [c.end])].reduce(
      (sum, l) => sum + l.bytes,
      0,
    );
  }
  return { calendars, components };
}

function eventsOf(components: readonly TopComponent[]): number {
  return components.filter((c) => c.kind === 'VEVENT' && !c.changedOccurrence).length;
}

/** Groups components by UID (across calendars), in order of first appearance. */
function groupByUid(components: readonly TopComponent[]): Group[] {
  const groups: Group[] = [];
  const byUid = new Map<string, Group>();
  for (const component of components) {
    const held = component.uid === null ? undefined : byUid.get(component.uid);
    if (held !== undefined) {
      held.components.push(component);
      continue;
    }
    const group = { uid: component.uid, components: [component] };
    groups.push(group);
    if (component.uid !== null) byUid.set(component.uid, group);
  }
  return groups;
}

/** A request text being filled. */
class ChunkBuilder {
  readonly sections = new Map<number, TopComponent[]>();
  bytes = 0;
  events = 0;
  readonly uids: string[] = [];

  constructor(private readonly calendars: readonly Calendar[]) {}

  /** What adding `group` would add to the request's size. */
  cost(group: Group): number {
    let bytes = 0;
    const added = new Set<number>();
    for (const c of group.components) {
      bytes += c.lines.reduce((sum, l) => sum + l.bytes, 0);
      if (!this.sections.has(c.calendar) && !added.has(c.calendar)) {
        added.add(c.calendar);
        bytes += this.calendars[c.calendar]?.overhead ?? 0;
      }
    }
    return bytes;
  }

  add(group: Group, cost: number): void {
    for (const c of group.components) {
      const section = this.sections.get(c.calendar) ?? [];
      section.push(c);
      this.sections.set(c.calendar, section);
    }
    this.bytes += cost;
    this.events += eventsOf(group.components);
    if (group.uid !== null) this.uids.push(group.uid);
  }

  get empty(): boolean {
    return this.sections.size === 0;
  }

  build(): CalendarChunk {
    const out: string[] = [];
    for (const index of [...this.sections.keys()].sort((a, b) => a - b)) {
      const calendar = this.calendars[index];
      if (calendar === undefined) continue;
      for (const line of [calendar.begin, ...calendar.header, ...calendar.timezones]) {
        out.push(...line.lines);
      }
      for (const component of this.sections.get(index) ?? []) {
        for (const line of component.lines) out.push(...line.lines);
      }
      out.push(...(calendar.end?.lines ?? ['END:VCALENDAR']));
    }
    return { text: `${out.join('\r\n')}\r\n`, events: this.events, uids: [...this.uids] };
  }
}

/**
 * Splits `text` into request texts within `limits` (guarantees in the module comment).
 * @throws InvalidInput when a file too big for one request is not well-formed iCalendar
 *   (BEGIN/END not matching, content outside a VCALENDAR), naming the line.
 */
export function splitCalendar(text: string, limits: RequestLimits = REQUEST_LIMITS): SplitCalendar {
  const lines = contentLines(text);
  let parsed: { calendars: Calendar[]; components: TopComponent[] };
  try {
    parsed = readCalendars(lines);
  } catch (error) {
    // A file that fits goes as it is: the server says best what is wrong with it.
    if (Buffer.byteLength(text, 'utf8') <= limits.maxBytes) {
      return { chunks: [{ text, events: 0, uids: [] }], events: 0, vevents: 0, tooBig: [] };
    }
    throw error;
  }
  const { calendars, components } = parsed;
  const events = eventsOf(components);
  const vevents = components.filter((c) => c.kind === 'VEVENT').length;
  const groups = groupByUid(components);
  if (events <= limits.maxEvents && Buffer.byteLength(text, 'utf8') <= limits.maxBytes) {
    const uids = groups.flatMap((g) => (g.uid === null ? [] : [g.uid]));
    return { chunks: [{ text, events, uids }], events, vevents, tooBig: [] };
  }

  const chunks: CalendarChunk[] = [];
  const tooBig: OversizedEvent[] = [];
  let chunk = new ChunkBuilder(calendars);
  for (const group of groups) {
    const groupEvents = eventsOf(group.components);
    let cost = chunk.cost(group);
    if (
      !chunk.empty &&
      (chunk.events + groupEvents > limits.maxEvents || chunk.bytes + cost > limits.maxBytes)
    ) {
      chunks.push(chunk.build());
      chunk = new ChunkBuilder(calendars);
      cost = chunk.cost(group);
    }
    if (groupEvents > limits.maxEvents || cost > limits.maxBytes) {
      tooBig.push({ uid: group.uid, events: groupEvents, bytes: cost });
      continue;
    }
    chunk.add(group, cost);
  }
  if (!chunk.empty) chunks.push(chunk.build());
  return { chunks, events, vevents, tooBig };
}
