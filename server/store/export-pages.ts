/**
 * `agenda.export` a page at a time. An export used to be one reply holding the whole agenda:
 * 5,000 series made the store worker build ~20 MB of iCalendar in one go, other users' reads
 * waited behind it for over a minute, and the reply was past what the services pass on. Now
 * each page costs O(its events), whatever the agenda holds:
 *
 * - The first page begins the calendar: its properties, and a VTIMEZONE per zone the export
 *   uses, from one aggregate over the user's time indexes (no event text decoded), by zone
 *   name; pages go on after a zone's when they are many.
 * - Then the events the user has not declined, by id (`attendees_by_user_event`), each page
 *   after the previous page's last (keyset paging: no offset to skip, nothing read twice),
 *   at most {@link EXPORT_PAGE_EVENTS} events and about {@link EXPORT_PAGE_BYTES} of text,
 *   from at most {@link EXPORT_PAGE_ENTRIES} index entries: a windowed export passes over the
 *   events outside its window by their times in the index, without reading them.
 * - Each event is written on its own ({@link exportPieceOf}): a series with its EXDATEs, a
 *   live occurrence changed on its own as a RECURRENCE-ID of its series when the export
 *   carries that series — the same choices as a whole-agenda export, each decided from the
 *   event and the series' detached events (at most a series' bound of them). Such an
 *   occurrence is written right after its series, from the same page's reads, wherever its
 *   own id falls: pages apart, a series changed between them no longer matched it.
 * - The last page, whose `next` is null, ends the calendar.
 *
 * The pages are read at different moments, as any paged list's. By id, an event changed
 * between two pages keeps its place: it is written once, as it was when its page was read
 * (paged by start, as before, an event moved during an export was written twice or not at
 * all). An event made during the export is written if its id falls after the cursor; one
 * deleted, if it falls before. The cursor names the zones written so far, and an event that
 * names a zone the export has not written (made or moved there during the export) is
 * preceded by that zone's VTIMEZONE, from the aggregate read again once a page. The gateway streams the
 * pages to the client as one calendar (routes.ts).
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
  type ZoneUse,
} from '../domain/index.js';
import { MAX_EXPORT_CURSOR_LENGTH } from '../domain/paging.js';
import { ALL_TIME, type CalendarRows } from './calendar-rows.js';
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
 * Index entries one page reads at most (a page of a narrow window over a large agenda may
 * then carry no event; the next goes on after the last entry read).
 */
export const EXPORT_PAGE_ENTRIES = 2_000;
/**
 * Years of VTIMEZONE one page writes (the first zone of a page whatever its years): a
 * 30-year zone is ~40 ms of the store worker, so a page holds about one long-covered zone or
 * several short ones.
 */
export const EXPORT_PAGE_ZONE_YEARS = 32;
/** A TZID parameter in an event's text: the zones a piece names. */
const TZID_PARAMETER = /;TZID=([^:;\r\n]+)/g;
/** Guard on the detached events loaded for one series (no more than its bound are made). */
const DETACHED_LOAD_LIMIT = 4 * MAX_DETACHED_PER_SERIES;

/**
 * Where the next page starts — the VTIMEZONEs after a zone's, or the events after an id
 * (null: from the first) — and the zones the export wrote so far.
 */
type ExportCursor =
  | { readonly phase: 'zones'; readonly after: string; readonly zones: readonly string[] }
  | { readonly phase: 'events'; readonly after: string | null; readonly zones: readonly string[] };

// IANA zone names (validation.ts admits no others) and event ids.
const ZONE = '[A-Za-z0-9_+\\-/]{1,64}';
const ID = '[A-Za-z0-9_-]{1,64}';
const CURSOR = new RegExp(`^(?:z:(${ZONE})|e(?::(${ID}))?)(?:\\|(${ZONE}(?:,${ZONE})*))?$`);

export function encodeExportCursor(cursor: ExportCursor): string {
  const position =
    cursor.phase === 'zones'
      ? `z:${cursor.after}`
      : cursor.after === null
        ? 'e'
        : `e:${cursor.after}`;
  return cursor.zones.length === 0 ? position : `${position}|${cursor.zones.join(',')}`;
}

/** @throws InvalidInput for anything an export page did not answer as `next`. */
export function decodeExportCursor(text: string): ExportCursor {
  const match = text.length > MAX_EXPORT_CURSOR_LENGTH ? null : CURSOR.exec(text);
  if (match === null) throw new InvalidInput('the export cursor is malformed', { field: 'after' });
  const zones = match[3] === undefined ? [] : match[3].split(',');
  return match[1] !== undefined
    ? { phase: 'zones', after: match[1], zones }
    : { phase: 'events', after: match[2] ?? null, zones };
}

/** What an export page reads and when it is made. */
export interface ExportPageEnvironment {
  readonly rows: Pick<
    CalendarRows,
    'exportEntries' | 'exportZoneUses' | 'exportedDetachedOf' | 'exportedEvent'
  >;
  readonly now: Millis;
  /** A page's bounds; {@link EXPORT_PAGE_EVENTS} and the others unless tests say. */
  readonly pageLimits?: {
    readonly events: number;
    readonly bytes: number;
    readonly entries?: number;
  };
}

/** One page of `actor`'s export (see the module's comment). */
export function exportPage(
  actor: Username,
  body: QueryOf<'agenda.export'>,
  env: ExportPageEnvironment,
): QueryResults['agenda.export'] {
  const window: Interval = { start: body.from ?? ALL_TIME.start, end: body.to ?? ALL_TIME.end };
  const pieces = new PieceChooser(actor, window, env);
  const cursor = body.after === undefined ? null : decodeExportCursor(body.after);
  const written = new Set(cursor?.zones ?? []);
  const limits = env.pageLimits ?? { events: EXPORT_PAGE_EVENTS, bytes: EXPORT_PAGE_BYTES };
  const parts: string[] = [];
  let bytes = 0;
  const add = (text: string): boolean => {
    parts.push(text);
    bytes += Buffer.byteLength(text);
    return bytes >= limits.bytes;
  };
  const page = (next: ExportCursor | null) => ({
    ics: next === null ? parts.join('') + CALENDAR_TAIL : parts.join(''),
    next: next === null ? null : encodeExportCursor(next),
  });
  if (cursor === null) add(calendarHead({ now: env.now, calendarName: `Agenda of ${actor}` }));
  let after: string | null = null;
  if (cursor === null || cursor.phase === 'zones') {
    // Hundreds of zones, each with 30 years of transitions, would make a first page of
    // megabytes and seconds: the VTIMEZONEs are paged too, by zone name, within a page's
    // bytes and EXPORT_PAGE_ZONE_YEARS.
    const uses = env.rows
      .exportZoneUses(actor, window)
      .filter((use) => cursor === null || use.zone > cursor.after);
    let years = 0;
    let previous: string | null = null;
    for (const use of uses) {
      const span = zoneSpan(use, env.now);
      if (span === null) continue;
      const cost = span.to - span.from + 1;
      // A page's first zone is written whatever it costs; the others while it has room.
      if (previous !== null && (years + cost > EXPORT_PAGE_ZONE_YEARS || bytes >= limits.bytes)) {
        return page({ phase: 'zones', after: previous, zones: [...written] });
      }
      add(vtimezoneText(use.zone, span));
      written.add(use.zone);
      years += cost;
      previous = use.zone;
    }
  } else {
    after = cursor.after;
  }
  const entries = env.rows.exportEntries(actor, after, limits.entries ?? EXPORT_PAGE_ENTRIES);
  // The zones the export carries now, read again only for a piece naming a zone not written.
  let zonesNow: Map<string, ZoneUse> | null = null;
  let events = 0;
  const write = (record: EventRecord): boolean => {
    const text = exportPieceText(pieces.of(record), env.now);
    // Every zone the piece names (its DTSTART's, and a changed occurrence's RECURRENCE-ID in
    // its series' zone) has its VTIMEZONE, before it if the export had not written it yet.
    for (const [, zone] of text.matchAll(TZID_PARAMETER)) {
      if (zone === undefined || written.has(zone)) continue;
      zonesNow ??= new Map(env.rows.exportZoneUses(actor, window).map((use) => [use.zone, use]));
      const use = zonesNow.get(zone);
      const span = use === undefined ? null : zoneSpan(use, env.now);
      if (span !== null) add(vtimezoneText(zone, span));
      written.add(zone);
    }
    events += 1;
    return add(text);
  };
  for (const entry of entries) {
    after = entry.id;
    if (entry.start >= window.end || entry.seriesEnd <= window.start) continue;
    const record = env.rows.exportedEvent(entry.id, actor, window);
    if (record === undefined) continue;
    // A series goes out with its changed occurrences, all read in the same page: written
    // pages apart, a series changed in between did not match its occurrences any more.
    if (pieces.goesWithItsSeries(record)) continue;
    let full = write(record);
    if (record.event.recurrence !== null) {
      for (const changed of pieces.changedOccurrencesOf(record)) full = write(changed) || full;
    }
    if (full || events >= limits.events) {
      return page({ phase: 'events', after, zones: [...written] });
    }
  }
  // Fewer entries than asked for: the index is read to its end.
  if (entries.length < (limits.entries ?? EXPORT_PAGE_ENTRIES)) return page(null);
  return page({ phase: 'events', after, zones: [...written] });
}

/** How each event of a page goes out, with what it needs of its series loaded once a page. */
class PieceChooser {
  /** The series this page read, by id (null: not a series the export carries). */
  private readonly series = new Map<string, SeriesInPage | null>();

  constructor(
    private readonly actor: Username,
    private readonly window: Interval,
    private readonly env: ExportPageEnvironment,
  ) {}

  of(record: EventRecord): ReturnType<typeof exportPieceOf> {
    const { event } = record;
    if (event.recurrence !== null) {
      return exportPieceOf(record, { detachedOfSeries: this.seriesIn(record).detached });
    }
    const from = event.detachedFrom;
    if (from === undefined || event.status === 'cancelled') return exportPieceOf(record, {});
    return exportPieceOf(record, { series: this.seriesOf(from.seriesId) });
  }

  /**
   * Whether `record` is a live occurrence changed on its own whose series the export
   * carries: it is written with its series ({@link changedOccurrencesOf}), not on its own.
   */
  goesWithItsSeries(record: EventRecord): boolean {
    const from = record.event.detachedFrom;
    if (from === undefined || record.event.status === 'cancelled') return false;
    return this.seriesOf(from.seriesId) !== null;
  }

  /** The live occurrences changed on their own of a series the export carries, whole. */
  changedOccurrencesOf(series: EventRecord): EventRecord[] {
    return this.seriesIn(series).detached.flatMap(
      (detached) => this.env.rows.exportedEvent(detached.id, this.actor, this.window) ?? [],
    );
  }

  /** A series this page read, with its detached events, read once a page. */
  private seriesIn(record: EventRecord): SeriesInPage {
    const id = record.event.id;
    let known = this.series.get(id);
    if (known === undefined || known === null) {
      known = {
        event: record.event,
        detached: this.env.rows.exportedDetachedOf(
          id,
          this.actor,
          this.window,
          DETACHED_LOAD_LIMIT,
        ),
      };
      this.series.set(id, known);
    }
    return known;
  }

  private seriesOf(seriesId: string): SeriesInPage | null {
    const known = this.series.get(seriesId);
    if (known !== undefined) return known;
    const record = this.env.rows.exportedEvent(seriesId, this.actor, this.window);
    if (record === undefined || record.event.recurrence === null) {
      this.series.set(seriesId, null);
      return null;
    }
    return this.seriesIn(record);
  }
}

/** A series as a page read it: the event, and the live events detached from it. */
interface SeriesInPage {
  readonly event: EventRecord['event'];
  readonly detached: readonly ExportedDetached[];
}
