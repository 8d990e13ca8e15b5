/**
 * `agenda.export` a page at a time. An export used to be one reply holding the whole agenda:
 * 5,000 series made the store worker build ~20 MB of iCalendar in one go, other users' reads
 * waited behind it for over a minute, and the reply was past what the services pass on. Now
 * each page costs O(its events), whatever the agenda holds:
 *
 * - The first page begins the calendar: its properties, and a VTIMEZONE per zone the export
 *   uses, from one aggregate over the user's time indexes (no event text decoded), by zone
 *   name; pages go on after a zone's when they are many.
 * - Then the events in the order of the two time indexes (short events by start, then series
 *   and long events by the end of their last occurrence), each page after the previous
 *   page's last row (keyset paging: no offset to skip, nothing read twice), at most
 *   {@link EXPORT_PAGE_EVENTS} events and about {@link EXPORT_PAGE_BYTES} of text.
 * - Each event is written on its own ({@link exportPieceOf}): a series with its EXDATEs, a
 *   live occurrence changed on its own as a RECURRENCE-ID of its series when the export
 *   carries that series — the same choices as a whole-agenda export, each decided from the
 *   event and the series' detached events (at most a series' bound of them).
 * - The last page, whose `next` is null, ends the calendar.
 *
 * The pages are read at different moments, as any paged list's: an event changed between
 * two pages appears as it was when its page was read, once (its key may move it past the
 * cursor, or before it, where it is not read again). The gateway streams the pages to the
 * client as one calendar (routes.ts).
 */
import { InvalidInput } from '../../contract/errors.js';
import { MAX_DETACHED_PER_SERIES } from '../../contract/limits.js';
import {
  CALENDAR_TAIL,
  calendarHead,
  exportPieceOf,
  exportPieceText,
  vtimezoneText,
  zoneSpan,
  type EventRecord,
  type ExportedDetached,
  type Interval,
  type Millis,
  type Username,
} from '../domain/index.js';
import {
  ALL_TIME,
  type CalendarRows,
  type ExportPhase,
  type ExportPosition,
} from './calendar-rows.js';
import type { QueryOf, QueryResults } from './protocol.js';

/** Most events one export page carries. */
export const EXPORT_PAGE_EVENTS = 100;
/**
 * Text after which a page ends (the event that crosses it is the page's last): one event is
 * at most ~30 KB (its texts at their limits, 100 attendees), so a page stays far below what
 * the services pass on (4 MB).
 */
export const EXPORT_PAGE_BYTES = 256 * 1024;
/**
 * Years of VTIMEZONE one page writes (the first zone of a page whatever its years): a
 * zone's transitions are read day by day, ~3 ms a year here (a 30-year zone is ~100 ms of
 * the store worker), so a page holds about one long-covered zone or several short ones.
 */
export const EXPORT_PAGE_ZONE_YEARS = 32;
/** Guard on the detached events loaded for one series (no more than its bound are made). */
const DETACHED_LOAD_LIMIT = 4 * MAX_DETACHED_PER_SERIES;

/**
 * Where the next page starts: the VTIMEZONEs after a zone's, or an index after a row (null:
 * at its start).
 */
type ExportCursor =
  | { readonly phase: 'zones'; readonly after: string }
  | { readonly phase: ExportPhase; readonly after: ExportPosition | null };

const ROW_CURSOR = /^([sl])(?::(-?\d{1,17}):([A-Za-z0-9_-]{1,64}))?$/;
// IANA zone names (validation.ts admits no others).
const ZONE_CURSOR = /^z:([A-Za-z0-9_+\-/]{1,64})$/;

export function encodeExportCursor(cursor: ExportCursor): string {
  if (cursor.phase === 'zones') return `z:${cursor.after}`;
  const phase = cursor.phase === 'short' ? 's' : 'l';
  return cursor.after === null ? phase : `${phase}:${cursor.after.key}:${cursor.after.id}`;
}

/** @throws InvalidInput for anything an export page did not answer as `next`. */
export function decodeExportCursor(text: string): ExportCursor {
  const zone = ZONE_CURSOR.exec(text)?.[1];
  if (zone !== undefined) return { phase: 'zones', after: zone };
  const match = ROW_CURSOR.exec(text);
  const key = match?.[2] === undefined ? null : Number(match[2]);
  if (match === null || (key !== null && !Number.isSafeInteger(key))) {
    throw new InvalidInput('the export cursor is malformed', { field: 'after' });
  }
  const phase: ExportPhase = match[1] === 's' ? 'short' : 'long';
  const id = match[3];
  return {
    phase,
    after: key === null || id === undefined ? null : { phase, key, id },
  };
}

/** What an export page reads and when it is made. */
export interface ExportPageEnvironment {
  readonly rows: Pick<
    CalendarRows,
    'exportPage' | 'exportZoneUses' | 'exportedDetachedOf' | 'exportedEvent'
  >;
  readonly now: Millis;
  /** A page's bounds; {@link EXPORT_PAGE_EVENTS} and {@link EXPORT_PAGE_BYTES} unless tests say. */
  readonly pageLimits?: { readonly events: number; readonly bytes: number };
}

/** One page of `actor`'s export (see the module's comment). */
export function exportPage(
  actor: Username,
  body: QueryOf<'agenda.export'>,
  env: ExportPageEnvironment,
): QueryResults['agenda.export'] {
  const window: Interval = { start: body.from ?? ALL_TIME.start, end: body.to ?? ALL_TIME.end };
  const pieces = new PieceChooser(actor, window, env);
  let cursor: ExportCursor | null =
    body.after === undefined ? null : decodeExportCursor(body.after);
  const limits = env.pageLimits ?? { events: EXPORT_PAGE_EVENTS, bytes: EXPORT_PAGE_BYTES };
  const parts: string[] = [];
  let bytes = 0;
  const add = (text: string): boolean => {
    parts.push(text);
    bytes += Buffer.byteLength(text);
    return bytes >= limits.bytes;
  };
  if (cursor === null) add(calendarHead({ now: env.now, calendarName: `Agenda of ${actor}` }));
  if (cursor === null || cursor.phase === 'zones') {
    // Hundreds of zones, each with 30 years of transitions, would make a first page of
    // megabytes and seconds: the VTIMEZONEs are paged too, by zone name, within a page's
    // bytes and EXPORT_PAGE_ZONE_YEARS.
    const after = cursor?.after;
    const uses = env.rows
      .exportZoneUses(actor, window)
      .filter((use) => after === undefined || use.zone > after);
    let years = 0;
    let previous: string | null = null;
    for (const use of uses) {
      const span = zoneSpan(use, env.now);
      if (span === null) continue;
      const cost = span.to - span.from + 1;
      // A page's first zone is written whatever it costs; the others while it has room.
      if (previous !== null && (years + cost > EXPORT_PAGE_ZONE_YEARS || bytes >= limits.bytes)) {
        return {
          ics: parts.join(''),
          next: encodeExportCursor({ phase: 'zones', after: previous }),
        };
      }
      add(vtimezoneText(use.zone, span));
      years += cost;
      previous = use.zone;
    }
    cursor = { phase: 'short', after: null };
  }
  let events = 0;
  for (;;) {
    const asked = limits.events - events;
    const rows = env.rows.exportPage(actor, window, cursor.phase, cursor.after, asked);
    for (const { record, position } of rows) {
      const full = add(exportPieceText(pieces.of(record), env.now));
      events += 1;
      cursor = { phase: cursor.phase, after: position };
      if (full) return { ics: parts.join(''), next: encodeExportCursor(cursor) };
    }
    if (rows.length === asked) return { ics: parts.join(''), next: encodeExportCursor(cursor) };
    // This index is read to its end: the other one next, or the calendar's end.
    if (cursor.phase === 'long') return { ics: parts.join('') + CALENDAR_TAIL, next: null };
    cursor = { phase: 'long', after: null };
  }
}

/** How each event of a page goes out, with what it needs of its series loaded once a page. */
class PieceChooser {
  private readonly series = new Map<
    string,
    { readonly event: EventRecord['event']; readonly detached: readonly ExportedDetached[] } | null
  >();

  constructor(
    private readonly actor: Username,
    private readonly window: Interval,
    private readonly env: ExportPageEnvironment,
  ) {}

  of(record: EventRecord): ReturnType<typeof exportPieceOf> {
    const { event } = record;
    if (event.recurrence !== null) {
      return exportPieceOf(record, { detachedOfSeries: this.detachedOf(event.id) });
    }
    const from = event.detachedFrom;
    if (from === undefined || event.status === 'cancelled') return exportPieceOf(record, {});
    return exportPieceOf(record, { series: this.seriesOf(from.seriesId) });
  }

  private detachedOf(seriesId: string): ExportedDetached[] {
    return this.env.rows.exportedDetachedOf(seriesId, this.actor, this.window, DETACHED_LOAD_LIMIT);
  }

  private seriesOf(seriesId: string): {
    readonly event: EventRecord['event'];
    readonly detached: readonly ExportedDetached[];
  } | null {
    let known = this.series.get(seriesId);
    if (known === undefined) {
      const record = this.env.rows.exportedEvent(seriesId, this.actor, this.window);
      known =
        record === undefined || record.event.recurrence === null
          ? null
          : { event: record.event, detached: this.detachedOf(seriesId) };
      this.series.set(seriesId, known);
    }
    return known;
  }
}
