/**
 * The export a page at a time: the pages followed through `next` are one calendar holding
 * what the whole-agenda export of the same events holds, whatever the page size, each page
 * within its bounds; a bad cursor is refused.
 */
import test from 'ava';
import ICAL from 'ical.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { exportICalendar, seriesEnd, type Interval } from '../domain/index.js';
import { ALL_TIME, CalendarRows } from './calendar-rows.js';
import { decodeExportCursor, EXPORT_PAGE_EVENTS, exportPage } from './export-pages.js';
import { StatementSet } from './statements.js';
import { at, DAY, HOUR, openStore, StoreClient } from './test-support.js';

const BASE = at('2025-03-03T09:00:00Z');

/**
 * Alice's agenda: short events with tied starts, long events, a series with an occurrence
 * moved twice over and one moved then cancelled, events of Bob's she accepted, declined or
 * has not answered, in several zones; and Bob's own events she is not on.
 */
async function agenda(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];
  for (let i = 0; i < 23; i++) {
    // Five at each start: the pages' cursor must tell tied keys apart.
    const start = BASE + Math.floor(i / 5) * DAY;
    c.ok('alice', {
      type: 'event.create',
      draft: {
        title: `short ${i}`,
        start,
        end: start + HOUR,
        timeZone: zones[i % zones.length],
        description: 'x'.repeat(i * 40),
      },
      allowConflict: true,
    });
  }
  for (let i = 0; i < 4; i++) {
    const start = BASE + (10 + i) * DAY;
    c.ok('alice', {
      type: 'event.create',
      draft: { title: `long ${i}`, start, end: start + 3 * DAY },
      allowConflict: true,
    });
  }
  const series = c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'weekly',
      start: BASE + 2 * HOUR,
      end: BASE + 3 * HOUR,
      timeZone: 'Europe/Berlin',
      recurrence: 'FREQ=WEEKLY;COUNT=10',
    },
    allowConflict: true,
  }).event.id;
  c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'endless',
      start: BASE - 400 * DAY,
      end: BASE - 400 * DAY + HOUR,
      recurrence: 'FREQ=MONTHLY',
      timeZone: 'Asia/Tokyo',
    },
    allowConflict: true,
  });
  const week = 7 * DAY;
  c.ok('alice', {
    type: 'event.updateOccurrence',
    eventId: series,
    occurrenceStart: BASE + 2 * HOUR + week,
    changes: { title: 'moved' },
    allowConflict: true,
  });
  const moved = c.ok('alice', {
    type: 'event.updateOccurrence',
    eventId: series,
    occurrenceStart: BASE + 2 * HOUR + 2 * week,
    changes: { title: 'moved, then cancelled' },
    allowConflict: true,
  });
  c.ok('alice', { type: 'event.cancel', eventId: moved.event.id });
  for (const [title, answer] of [
    ['accepted', 'invitation.accept'],
    ['declined', 'invitation.decline'],
    ['unanswered', null],
  ] as const) {
    const start = BASE + 20 * DAY;
    const invited = c.ok('bob', {
      type: 'event.create',
      draft: { title, start, end: start + HOUR },
      with: ['alice'],
      allowConflict: true,
    }).event.id;
    if (answer === 'invitation.accept') {
      c.ok('alice', { type: answer, eventId: invited, allowConflict: true });
    } else if (answer !== null) {
      c.ok('alice', { type: answer, eventId: invited });
    }
  }
  c.ok('bob', {
    type: 'event.create',
    draft: { title: 'not hers', start: BASE, end: BASE + HOUR },
    allowConflict: true,
  });
  return c;
}

/** The store's rows, read from a copy of its image. */
async function rowsOf(c: StoreClient): Promise<CalendarRows> {
  const SQL = await loadSqlJs();
  return new CalendarRows(new StatementSet(new SQL.Database(c.store.snapshot())));
}

/** The export of the same events at once, as the domain writes it. */
function wholeExport(rows: CalendarRows, window: Interval, now: number): string {
  const records = rows
    .eventsAttending(['alice'], ALL_TIME, 'any')
    .filter((r) => r.attendees.some((a) => a.username === 'alice' && a.status !== 'declined'))
    .filter((r) => r.event.start < window.end && seriesEnd(r.event) > window.start);
  return exportICalendar(records, { now, calendarName: 'Agenda of alice' });
}

/** Each VEVENT of a calendar, as text, sorted. */
function vevents(text: string): string[] {
  return text
    .split(/(?=BEGIN:VEVENT\r\n)/)
    .slice(1)
    .map((c) => c.replace(/END:VCALENDAR\r\n$/, ''))
    .sort();
}

test('pages followed through next make the whole-agenda export, whatever their size', async (t) => {
  const c = await agenda();
  const rows = await rowsOf(c);
  const now = at('2025-06-01T00:00:00Z');
  const windows: Interval[] = [
    ALL_TIME,
    { start: BASE + 1 * DAY + 30 * 60_000, end: BASE + 12 * DAY },
    { start: BASE + 30 * DAY, end: BASE + 400 * DAY },
  ];
  for (const window of windows) {
    const whole = wholeExport(rows, window, now);
    for (const events of [1, 2, 3, 7, EXPORT_PAGE_EVENTS]) {
      for (const bytes of [1, 2_000, 1 << 20]) {
        const pages: string[] = [];
        let after: string | undefined;
        do {
          const page = exportPage(
            'alice',
            {
              type: 'agenda.export',
              ...(window === ALL_TIME ? {} : { from: window.start, to: window.end }),
              ...(after === undefined ? {} : { after }),
            },
            { rows, now, pageLimits: { events, bytes } },
          );
          // A series comes with its changed occurrences (one here), whatever the page's room.
          t.true(vevents(page.ics).length <= events + 1, 'a page holds at most its events');
          pages.push(page.ics);
          after = page.next ?? undefined;
          t.true(pages.length < 200, 'the pages end');
        } while (after !== undefined);
        const paged = pages.join('');
        const what = `window ${window.start}…${window.end}, pages of ${events} events / ${bytes} bytes`;
        t.deepEqual(vevents(paged), vevents(whole), what);
        t.is(
          paged.slice(0, paged.indexOf('BEGIN:VEVENT')),
          whole.slice(0, whole.indexOf('BEGIN:VEVENT')),
          what,
        );
        t.true(paged.endsWith('END:VCALENDAR\r\n'));
      }
    }
  }
  // What the checks above compared: every kind of event the module speaks of.
  const all = wholeExport(rows, ALL_TIME, now);
  t.is(vevents(all).length, 23 + 4 + 2 + 2 + 2);
  t.is(all.split('RECURRENCE-ID').length - 1, 1);
  t.false(all.includes('SUMMARY:declined'));
  t.false(all.includes('SUMMARY:not hers'));
  t.is(all.split('BEGIN:VTIMEZONE').length - 1, 3);
  // The calendar reads back as one.
  const parsed = new ICAL.Component(ICAL.parse(all) as unknown[]);
  t.is(parsed.getAllSubcomponents('vevent').length, 33);
});

test('through the store, a page is the first and the last when the agenda fits it', async (t) => {
  const c = await agenda();
  const page = c.read('alice', { type: 'agenda.export' });
  t.is(page.next, null);
  t.true(page.ics.startsWith('BEGIN:VCALENDAR\r\n'));
  t.true(page.ics.endsWith('END:VCALENDAR\r\n'));
  t.is(vevents(page.ics).length, 33);
});

test('hundreds of zones with decades of transitions are paged too: no page is much over its bound', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const zones = Intl.supportedValuesOf('timeZone').slice(0, 300);
  for (const [i, timeZone] of zones.entries()) {
    // Endless weekly series from 2000: each VTIMEZONE covers 1999 to 2029.
    const start = at('2000-01-03T10:00:00Z') + i * 60_000;
    c.ok('alice', {
      type: 'event.create',
      draft: {
        title: `in ${timeZone}`,
        start,
        end: start + 60_000,
        timeZone,
        recurrence: 'FREQ=WEEKLY',
      },
      allowConflict: true,
    });
  }
  const pages: string[] = [];
  let after: string | undefined;
  do {
    const page = c.read('alice', {
      type: 'agenda.export',
      ...(after === undefined ? {} : { after }),
    });
    pages.push(page.ics);
    after = page.next ?? undefined;
  } while (after !== undefined);
  const whole = pages.join('');
  t.true(pages.length > 2, `${pages.length} pages of ${Buffer.byteLength(whole)} bytes`);
  // A page ends at the first piece past 256 KB: one VTIMEZONE or VEVENT more, a few KB.
  for (const page of pages) t.true(Buffer.byteLength(page) < 256 * 1024 + 16 * 1024);
  const tzids = [...whole.matchAll(/^BEGIN:VTIMEZONE\r\nTZID:([^\r]+)\r$/gm)].map((m) => m[1]);
  t.deepEqual(tzids, zones.filter((z) => z !== 'UTC').sort());
  t.is(vevents(whole).length, zones.length);
  t.true(whole.indexOf('BEGIN:VEVENT') > whole.lastIndexOf('END:VTIMEZONE'));
});

test('a cursor no page answered is refused as invalid, never read', async (t) => {
  const c = await agenda();
  for (const after of [
    'x',
    // The cursors of the pages by start, before exports paged by id.
    'l',
    's:-5:ab_c',
    'e:',
    'e:a/b',
    'e:abc|',
    'e|Europe/Paris,',
    'z:',
    'z:Europe/Paris|Europe/Paris,,UTC',
    `e:abc|${'Europe/Paris,'.repeat(3_000)}UTC`,
  ]) {
    const outcome = c.ask('alice', { type: 'agenda.export', after });
    t.false(outcome.ok, after.slice(0, 40));
    if (!outcome.ok) t.is(outcome.error.code, 'invalid', after.slice(0, 40));
  }
  t.deepEqual(decodeExportCursor('e'), { phase: 'events', after: null, zones: [] });
  t.deepEqual(decodeExportCursor('z:America/Port-au-Prince'), {
    phase: 'zones',
    after: 'America/Port-au-Prince',
    zones: [],
  });
  t.deepEqual(decodeExportCursor('e:ab_c|Etc/GMT+5,Europe/Paris'), {
    phase: 'events',
    after: 'ab_c',
    zones: ['Etc/GMT+5', 'Europe/Paris'],
  });
});

test('an export keeps each event once through changes between its pages, with every zone it names', async (t) => {
  const c = await agenda();
  const now = at('2025-06-01T00:00:00Z');
  const pages: string[] = [];
  let after: string | undefined;
  const page = async () => {
    const answer = exportPage(
      'alice',
      { type: 'agenda.export', ...(after === undefined ? {} : { after }) },
      { rows: await rowsOf(c), now, pageLimits: { events: 3, bytes: 1 << 20 } },
    );
    pages.push(answer.ics);
    after = answer.next ?? undefined;
  };
  await page();
  await page();
  // An event already written moves to the end of the agenda, one not yet written to its
  // start, and another not yet written into a zone the export has not written (paged by
  // start, the first was written twice and the second never).
  const rows = await rowsOf(c);
  const cursorId = after!.split('|')[0]!.slice(2);
  const movable = rows
    .exportEntries('alice', null, 1_000)
    .map((entry) => rows.exportedEvent(entry.id, 'alice', ALL_TIME)!.event)
    .filter(
      (e) =>
        e.organizer === 'alice' &&
        e.recurrence === null &&
        e.detachedFrom === undefined &&
        e.status !== 'cancelled',
    )
    .map((e) => e.id);
  const done = movable.find((id) => id <= cursorId);
  const [early, elsewhere] = movable.filter((id) => id > cursorId);
  t.truthy(done && early && elsewhere);
  c.ok('alice', {
    type: 'event.update',
    eventId: done!,
    changes: { start: BASE + 900 * DAY, end: BASE + 900 * DAY + HOUR },
    allowConflict: true,
  });
  c.ok('alice', {
    type: 'event.update',
    eventId: early!,
    changes: { start: BASE - 900 * DAY, end: BASE - 900 * DAY + HOUR },
    allowConflict: true,
  });
  c.ok('alice', {
    type: 'event.update',
    eventId: elsewhere!,
    changes: { timeZone: 'Pacific/Chatham' },
    allowConflict: true,
  });
  while (after !== undefined) await page();
  const whole = pages.join('');
  // A VEVENT is its UID and, for an occurrence changed on its own, its RECURRENCE-ID.
  const all = vevents(whole).map((v) =>
    [...v.matchAll(/^(?:UID|RECURRENCE-ID)[;:][^\r]+\r$/gm)].map((m) => m[0]).join(' '),
  );
  t.is(new Set(all).size, all.length, 'no event written twice');
  t.is(vevents(whole).length, 33, 'no event left out');
  const tzids = [...whole.matchAll(/^TZID:([^\r]+)\r$/gm)].map((m) => m[1]);
  t.is(new Set(tzids).size, tzids.length, 'each VTIMEZONE once');
  t.true(tzids.includes('Pacific/Chatham'));
  const named = new Set([...whole.matchAll(/;TZID=([^:;]+)[:;]/g)].map((m) => m[1]));
  for (const zone of named) t.true(tzids.includes(zone), `a VTIMEZONE for ${zone}`);
  const parsed = new ICAL.Component(ICAL.parse(whole) as unknown[]);
  t.is(parsed.getAllSubcomponents('vevent').length, 33);
});

test('a narrow window over a large agenda reads at most a page of index entries a page', async (t) => {
  const c = await agenda();
  const rows = await rowsOf(c);
  const now = at('2025-06-01T00:00:00Z');
  const window = { start: BASE + 20 * DAY, end: BASE + 21 * DAY };
  const read: number[] = [];
  const counting = {
    ...rows,
    exportEntries: (username: string, from: string | null, limit: number) => {
      const entries = rows.exportEntries(username, from, limit);
      read.push(entries.length);
      return entries;
    },
    exportZoneUses: rows.exportZoneUses.bind(rows),
    exportedDetachedOf: rows.exportedDetachedOf.bind(rows),
    exportedEvent: rows.exportedEvent.bind(rows),
  };
  const pages: string[] = [];
  let after: string | undefined;
  do {
    const answer = exportPage(
      'alice',
      {
        type: 'agenda.export',
        from: window.start,
        to: window.end,
        ...(after === undefined ? {} : { after }),
      },
      { rows: counting, now, pageLimits: { events: 100, bytes: 1 << 20, entries: 4 } },
    );
    pages.push(answer.ics);
    after = answer.next ?? undefined;
  } while (after !== undefined);
  t.true(read.every((n) => n <= 4));
  const undeclined = rows.exportEntries('alice', null, 1_000).length;
  t.is(
    read.reduce((a, b) => a + b, 0),
    undeclined,
    'each entry read once',
  );
  t.deepEqual(vevents(pages.join('')), vevents(wholeExport(rows, window, now)));
});

test('a series and its changed occurrences go out from one page, however the series changes between pages', async (t) => {
  const c = await agenda();
  const now = at('2025-06-01T00:00:00Z');
  const rows = await rowsOf(c);
  const series = rows
    .exportEntries('alice', null, 1_000)
    .map((entry) => rows.exportedEvent(entry.id, 'alice', ALL_TIME)!.event)
    .find((e) => e.title === 'weekly')?.id;
  t.truthy(series);
  const zones = ['Asia/Tehran', 'Australia/Adelaide', 'America/Caracas', 'Asia/Kathmandu'];
  const pages: string[] = [];
  let after: string | undefined;
  let turn = 0;
  do {
    const answer = exportPage(
      'alice',
      { type: 'agenda.export', ...(after === undefined ? {} : { after }) },
      { rows: await rowsOf(c), now, pageLimits: { events: 1, bytes: 1 << 20 } },
    );
    pages.push(answer.ics);
    after = answer.next ?? undefined;
    // After every page, the series moves to a zone the export has not written.
    c.ok('alice', {
      type: 'event.update',
      eventId: series!,
      changes: { timeZone: zones[turn++ % zones.length] },
      allowConflict: true,
    });
  } while (after !== undefined);
  const whole = pages.join('');
  const tzids = [...whole.matchAll(/^TZID:([^\r]+)\r$/gm)].map((m) => m[1]);
  for (const [, zone] of whole.matchAll(/;TZID=([^:;]+)[:;]/g)) {
    t.true(tzids.includes(zone), `a VTIMEZONE for ${zone}`);
  }
  // The series' own start and its changed occurrence's RECURRENCE-ID name the same zone.
  const mine = vevents(whole).filter((v) => v.includes(`UID:${series!}\r\n`));
  t.is(mine.length, 2);
  const zoneOf = (v: string, property: string) =>
    new RegExp(`^${property};TZID=([^:;]+)`, 'm').exec(v)?.[1];
  const main = mine.find((v) => !v.includes('RECURRENCE-ID'))!;
  const changed = mine.find((v) => v.includes('RECURRENCE-ID'))!;
  t.is(zoneOf(changed, 'RECURRENCE-ID'), zoneOf(main, 'DTSTART'));
});
