/**
 * All-day events through an export and back (issue 15): every fixture of test/fixtures/ics/
 * with an all-day event is imported, exported as `agenda export` writes it (the store's
 * pages), and the export imported again, in the same zone. The export writes each all-day
 * event as dates (`VALUE=DATE`: DTSTART, DTEND, UNTIL, EXDATE, RECURRENCE-ID), never at
 * local midnights; and the second import holds the same events with the same occurrences,
 * and exports to the same text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { DateTime } from 'luxon';
import { decodeCalendarFile } from '../../cli/import/decode-calendar.js';
import { importICalendar } from '../../server/domain/index.js';
import { calendarDaysOf } from '../../server/domain/recurrence.js';
import type { CommandBody } from '../../server/store/protocol.js';
import { at, openStore, StoreClient } from '../../server/store/test-support.js';

const FIXTURES = new URL('../fixtures/ics/', import.meta.url);

/** The importer's zone, as the oracle test reads each fixture in; Madrid for the others. */
const ZONES: Record<string, string> = {
  'davx5-alarm-attendees.ics': 'Europe/Vienna',
  'dtstart-only-recurring.ics': 'America/New_York',
  'outlook-w-europe-all-day.ics': 'Europe/Zurich',
  'thunderbird-exdate-all-day.ics': 'Europe/Berlin',
  'apple-no-end.ics': 'Europe/Berlin',
  'eluceo-dates-without-value.ics': 'Europe/Zurich',
  'google-holidays-transparent.ics': 'UTC',
  'ical-1.5-cr-line-ends.ics': 'Europe/Paris',
};

/** The years occurrences are listed over (a list spans at most one): all the fixtures' dates. */
const YEARS = [2024, 2025, 2026, 2027];

function read(name: string): string {
  return decodeCalendarFile(readFileSync(new URL(name, FIXTURES))).text;
}

/** `text` imported into a fresh agenda of alice's, conflicts allowed. */
async function imported(text: string, zone: string) {
  const parsed = importICalendar(text, { defaultTimeZone: zone });
  const c = new StoreClient(await openStore());
  c.register('alice');
  // Fresh ids go where freshIdCount puts them: each event's, then one per changed occurrence.
  const uidOf = new Map<string, string>();
  const ids: string[] = [];
  for (const event of parsed.events) {
    for (let i = 0; i <= (event.occurrences?.length ?? 0); i++) {
      uidOf.set(`x${ids.length}`, event.uid);
      ids.push(`x${ids.length}`);
    }
  }
  const body: CommandBody = { type: 'event.import', events: parsed.events, allowConflict: true };
  const outcome = c.ok('alice', body, { ids });
  return { c, parsed, uidOf, failed: outcome.failed };
}

/** The export, page by page, as `agenda export` reads it. */
function exported(c: StoreClient): string {
  let text = '';
  let after: string | undefined;
  do {
    const page = c.read('alice', {
      type: 'agenda.export',
      ...(after === undefined ? {} : { after }),
    });
    text += page.ics;
    after = page.next ?? undefined;
  } while (after !== undefined);
  return text;
}

/**
 * Every occurrence alice's agenda lists, as what it shows (its id replaced by its UID), in a
 * stable order. An UNTIL is shown as the day it falls on in the event's zone: an all-day
 * series' UNTIL goes out as that day (RFC 5545 wants a DATE there), which reads back as its
 * end (Exchange's `UNTIL=20250430T000000Z` comes back as 23:59:59 on 30 April), bounding the
 * same occurrences.
 */
function listing(c: StoreClient, uidOf: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  for (const year of YEARS) {
    let after: string | undefined;
    do {
      const page = c.read('alice', {
        type: 'event.list',
        from: at(`${year}-01-01T00:00:00Z`),
        to: at(`${year + 1}-01-01T00:00:00Z`),
        ...(after === undefined ? {} : { after }),
      });
      for (const e of page.events) {
        const recurrence = e.recurrence?.replace(
          /UNTIL=(\d{8}T\d{6}Z)/,
          (_, until: string) =>
            `UNTIL-DAY=${DateTime.fromFormat(until, "yyyyMMdd'T'HHmmss'Z'", { zone: 'UTC' })
              .setZone(e.timeZone)
              .toISODate()}`,
        );
        lines.push(JSON.stringify({ ...e, id: uidOf.get(e.id) ?? e.id, recurrence }));
      }
      after = page.next ?? undefined;
    } while (after !== undefined);
  }
  return lines.sort();
}

/** An export without what changes from one import to the next (timestamps). */
function stable(text: string): string {
  return text.replace(/\r\n(DTSTAMP|CREATED|LAST-MODIFIED):\d{8}T\d{6}Z(?=\r\n)/g, '');
}

const withAllDay = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.ics'))
  .sort()
  .filter((name) =>
    importICalendar(read(name), { defaultTimeZone: ZONES[name] ?? 'Europe/Madrid' }).events.some(
      ({ draft }) => calendarDaysOf(draft.start, draft.end, draft.timeZone ?? 'UTC') !== undefined,
    ),
  );

test('the fixtures with all-day events are the ones expected', (t) => {
  // A fixture that stops being read as all-day would silently leave this test.
  for (const name of [
    'davx5-alarm-attendees.ics',
    'exchange-all-day-occurrence.ics',
    'facebook-birthdays.ics',
    'google-all-day-recurring.ics',
    'google-holidays-transparent.ics',
    'outlook-w-europe-all-day.ics',
    'thunderbird-exdate-all-day.ics',
  ]) {
    t.true(withAllDay.includes(name), name);
  }
});

for (const name of withAllDay) {
  const zone = ZONES[name] ?? 'Europe/Madrid';
  test(`${name}: all-day events go out as dates and come back the same`, async (t) => {
    const first = await imported(read(name), zone);
    const text = exported(first.c);
    const unfolded = text.replace(/\r\n[ \t]/g, '');
    t.regex(unfolded, /\r\nDTSTART;VALUE=DATE:\d{8}\r\n/);
    // No event from a local midnight to a local midnight.
    t.notRegex(unfolded, /\r\nDTSTART;TZID=[^\r\n]*T000000\r\nDTEND;TZID=[^\r\n]*T000000\r\n/);
    // What is tied to a date start is a date too.
    for (const vevent of unfolded.split(/(?=BEGIN:VEVENT\r\n)/).slice(1)) {
      if (!vevent.includes('\r\nDTSTART;VALUE=DATE:')) continue;
      t.notRegex(vevent, /\r\nEXDATE(?!;VALUE=DATE:)/, vevent);
      t.notRegex(vevent, /\r\nRRULE:[^\r\n]*UNTIL=\d{8}T/, vevent);
    }
    for (const match of unfolded.matchAll(
      /BEGIN:VEVENT\r\nUID:([^\r\n]*)\r\nRECURRENCE-ID([;:][^\r\n]*)/g,
    )) {
      const [, uid, value] = match;
      const series = unfolded
        .split(/(?=BEGIN:VEVENT\r\n)/)
        .find((v) => v.includes(`UID:${uid}\r\n`) && !v.includes('RECURRENCE-ID'));
      t.is(
        value?.startsWith(';VALUE=DATE:'),
        series?.includes('\r\nDTSTART;VALUE=DATE:'),
        `the RECURRENCE-ID of ${uid} has its series' value type`,
      );
    }

    const second = await imported(text, zone);
    t.deepEqual(
      second.parsed.skipped.filter((s) => s.part !== true),
      [],
    );
    // Known, and not about dates: the VTIMEZONE an export writes for a bounded series ends
    // with the series' last year, and the import compares a series' zone with it for 13
    // months from its start, so a timed series in its last year is reported as read in a
    // zone the file defines otherwise (the file's definition has no changes past the series).
    t.deepEqual(
      second.parsed.changed.filter((c) => !c.reason.includes('is defined otherwise in the file')),
      [],
    );
    t.deepEqual(second.failed, first.failed);
    const listed = listing(first.c, first.uidOf);
    t.true(listed.length > 0);
    t.deepEqual(listing(second.c, second.uidOf), listed);
    t.is(stable(exported(second.c)), stable(text));
  });
}
