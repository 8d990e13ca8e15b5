/**
 * A user's CalDAV resources as the store loads them (server/domain/calendar-resources.ts):
 * the same loading for the `dav.calendar` query and for the writes that check a resource's
 * entity tag before changing it (./dav-writes.ts), so that a tag a client read is the tag
 * a write compares with.
 */
import { calendarResources, MAX_DETACHED_PER_SERIES } from '../domain/index.js';
import type { CalendarResource, EventRecord, Username } from '../domain/index.js';
import type { RowReader } from './decision.js';
import type { DavResourceView } from './protocol.js';

/** The reads resources are loaded with: a query's rows or a command's tracked ones. */
export type ResourceRows = Pick<RowReader, 'event' | 'eventsImportedAs' | 'liveEventsDetachedFrom'>;

/**
 * The resources `found` makes in `actor`'s calendar, each group completed — a changed
 * occurrence's series, a series' live changed occurrences (at most `MAX_DETACHED_PER_SERIES`
 * each) — so that a resource reads the same however it was reached.
 */
export function resourcesOf(
  rows: ResourceRows,
  actor: Username,
  found: readonly EventRecord[],
): CalendarResource[] {
  const loaded = new Map<string, EventRecord>();
  for (const record of found) loaded.set(record.event.id, record);
  for (const record of [...loaded.values()]) {
    const from = record.event.detachedFrom;
    if (from === undefined || loaded.has(from.seriesId)) continue;
    const series = rows.event(from.seriesId);
    if (series !== undefined) loaded.set(series.event.id, series);
  }
  for (const record of [...loaded.values()]) {
    // An occurrence changed on its own is always an exception of its series.
    if ((record.event.recurrence?.exceptions.length ?? 0) === 0) continue;
    const { id, organizer } = record.event;
    for (const changed of rows.liveEventsDetachedFrom(id, organizer, MAX_DETACHED_PER_SERIES)) {
      if (!loaded.has(changed.event.id)) loaded.set(changed.event.id, changed);
    }
  }
  return calendarResources(actor, [...loaded.values()]);
}

/**
 * The resource `name` names in `actor`'s calendar, if any: the series or event of theirs with
 * that UID (found by the organizer/UID index) or, without one, with that id and no UID;
 * else the event with that id they attend — under its own name, an invitation's, or as an
 * alias of a resource now named by its UID (hrefs were event ids before). Absent when it
 * is not in their calendar (declined, cancelled, someone else's).
 */
export function resourceNamed(
  rows: ResourceRows,
  actor: Username,
  name: string,
): CalendarResource | undefined {
  const own = rows.eventsImportedAs(actor, [name]).get(name);
  const record = own ?? rows.event(name);
  if (record === undefined) return undefined;
  const resources = resourcesOf(rows, actor, [record]);
  // By its name, else by its series' id: an href from before resources were named by UID.
  return resources.find((r) => r.name === name) ?? resources.find((r) => r.id === name);
}

/** A resource as a listing or a sync names it (its text apart). */
export function resourceView(resource: CalendarResource): DavResourceView {
  return {
    id: resource.id,
    name: resource.name,
    etag: resource.etag,
    timeZone: resource.records[0]?.event.timeZone ?? 'UTC',
  };
}
