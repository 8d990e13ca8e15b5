/**
 * What other tools write, read as they mean it (issue 15): files shaped as Facebook, PHP
 * libraries, Outlook and Exchange, Google, Apple and Thunderbird write them
 * (test/fixtures/ics/), read by the domain's parser and imported by the store as the users
 * service does.
 */
import test from 'ava';
import { DateTime } from 'luxon';
import { importICalendar } from '../../server/domain/index.js';
import { at } from '../../server/store/test-support.js';
import { aliceAlone, fixture, importText, listed } from './support.js';

/** The local date and time of an instant in a zone, `2025-05-02 00:00`. */
function local(instant: number, zone: string): string {
  return DateTime.fromMillis(instant, { zone }).toFormat('yyyy-MM-dd HH:mm');
}

test('Facebook birthdays: DTSTART:20250502 without VALUE=DATE is a date, a yearly all-day series', async (t) => {
  const parsed = importICalendar(fixture('facebook-birthdays.ics'), {
    defaultTimeZone: 'Europe/Madrid',
  });
  t.deepEqual(parsed.skipped, []);
  t.deepEqual(
    parsed.events.map((e) => [
      e.uid,
      e.draft.title,
      local(e.draft.start, 'Europe/Madrid'),
      local(e.draft.end, 'Europe/Madrid'),
      e.draft.recurrence,
    ]),
    [
      [
        'b100000416765123@facebook.com',
        "Ana Pérez's birthday",
        '2025-05-02 00:00',
        '2025-05-03 00:00',
        'FREQ=YEARLY',
      ],
      [
        'b100002287340991@facebook.com',
        "Tomás Ruiz's birthday",
        '2025-11-13 00:00',
        '2025-11-14 00:00',
        'FREQ=YEARLY',
      ],
    ],
  );
  const c = await aliceAlone();
  const { outcome } = importText(c, fixture('facebook-birthdays.ics'), 'Europe/Madrid');
  t.deepEqual(outcome.failed, []);
  t.deepEqual(
    listed(c, '2026-05-01T00:00:00Z', '2026-05-04T00:00:00Z').map(([, title]) => title),
    ["Ana Pérez's birthday"],
  );
});

test('a PHP library (eluceo/ical): DTSTART:20251006 and DTEND:20251011 without VALUE=DATE span those days', (t) => {
  const { events, skipped } = importICalendar(fixture('eluceo-dates-without-value.ics'), {
    defaultTimeZone: 'Europe/Zurich',
  });
  t.deepEqual(skipped, []);
  t.is(events.length, 1);
  const draft = events[0]?.draft;
  t.is(local(draft?.start ?? 0, 'Europe/Zurich'), '2025-10-06 00:00');
  t.is(local(draft?.end ?? 0, 'Europe/Zurich'), '2025-10-11 00:00');
  // A value of eight digits is a date wherever an import reads one: EXDATE and RECURRENCE-ID too.
  const weekly = importICalendar(
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Tests//EN',
      'BEGIN:VEVENT',
      'UID:w',
      'DTSTART:20250303',
      'DTEND:20250304',
      'RRULE:FREQ=WEEKLY;COUNT=4',
      'EXDATE:20250310,20250317',
      'SUMMARY:Gym',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:w',
      'RECURRENCE-ID:20250324',
      'DTSTART:20250325',
      'DTEND:20250326',
      'SUMMARY:Gym (Tuesday)',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(weekly.skipped, []);
  t.deepEqual(weekly.events[0]?.draft.exceptions, [
    at('2025-03-10T00:00:00Z'),
    at('2025-03-17T00:00:00Z'),
  ]);
  t.like(weekly.events[0]?.occurrences?.[0], {
    occurrenceStart: at('2025-03-24T00:00:00Z'),
    draft: { start: at('2025-03-25T00:00:00Z') },
  });
});

test('Exchange: meetings in Windows zone names are read in the IANA zones CLDR maps them to, recurring ones across the change to summer time', async (t) => {
  const parsed = importICalendar(fixture('exchange-windows-zones.ics'), {
    defaultTimeZone: 'UTC',
  });
  t.deepEqual(
    parsed.skipped.filter((s) => s.component === 'VEVENT'),
    [],
  );
  t.deepEqual(
    parsed.events.map((e) => [e.draft.title, e.draft.timeZone]),
    [
      ['Team sync', 'Europe/Berlin'],
      ['West coast standup', 'America/Los_Angeles'],
      ["Review Megan's docs", 'America/Los_Angeles'],
    ],
  );
  const c = await aliceAlone();
  const { outcome } = importText(c, fixture('exchange-windows-zones.ics'), 'UTC');
  t.deepEqual(outcome.failed, []);
  t.deepEqual(listed(c, '2025-03-01T00:00:00Z', '2025-04-15T00:00:00Z'), [
    // 09:00 in Los Angeles: PST, then PDT from 9 March.
    ['2025-03-03T17:00:00.000Z', 'West coast standup'],
    ['2025-03-10T16:00:00.000Z', 'West coast standup'],
    // 10:00 in Berlin: CET, then CEST from 30 March; UNTIL ends it on 7 April.
    ['2025-03-17T09:00:00.000Z', 'Team sync'],
    ['2025-03-17T16:00:00.000Z', 'West coast standup'],
    ['2025-03-24T09:00:00.000Z', 'Team sync'],
    ['2025-03-31T08:00:00.000Z', 'Team sync'],
    ['2025-04-07T08:00:00.000Z', 'Team sync'],
    ['2025-04-09T21:00:00.000Z', "Review Megan's docs"],
  ]);
});

test('Outlook 2007: "Canberra, Melbourne, Sydney" is Australia/Sydney, a weekly meeting keeps 15:00 when daylight saving ends', async (t) => {
  const c = await aliceAlone();
  const { parsed, outcome } = importText(c, fixture('outlook-2007-sydney.ics'), 'UTC');
  t.deepEqual(
    parsed.skipped.filter((s) => s.component === 'VEVENT'),
    [],
  );
  t.is(parsed.events[0]?.draft.timeZone, 'Australia/Sydney');
  t.deepEqual(outcome.failed, []);
  t.deepEqual(listed(c, '2025-03-20T00:00:00Z', '2025-04-20T00:00:00Z'), [
    ['2025-03-27T04:00:00.000Z', 'Planning'],
    ['2025-04-03T04:00:00.000Z', 'Planning'],
    // Daylight saving ended on 6 April: 15:00 is 05:00 UTC.
    ['2025-04-10T05:00:00.000Z', 'Planning'],
  ]);
});

test('Outlook 2010: "(UTC-03:00) Brasília" is America/Sao_Paulo, a monthly meeting at 10:00', async (t) => {
  const c = await aliceAlone();
  const { parsed, outcome } = importText(c, fixture('outlook-2010-brasilia.ics'), 'UTC');
  t.deepEqual(parsed.skipped, []);
  t.is(parsed.events[0]?.draft.timeZone, 'America/Sao_Paulo');
  t.deepEqual(outcome.failed, []);
  t.deepEqual(listed(c, '2025-05-01T00:00:00Z', '2025-08-01T00:00:00Z'), [
    ['2025-05-13T13:00:00.000Z', 'Reunião mensal'],
    ['2025-06-10T13:00:00.000Z', 'Reunião mensal'],
    ['2025-07-08T13:00:00.000Z', 'Reunião mensal'],
  ]);
});

test("a zone's name wins over the file's definition of it: a stale Outlook's Brasília keeps its events at 10:00 in America/Sao_Paulo, each reported as changed saying where they differ", (t) => {
  // Brazil ended daylight saving in 2019; this Outlook still defines it.
  const { events, skipped, changed } = importICalendar(fixture('outlook-2010-stale-brasilia.ics'), {
    defaultTimeZone: 'UTC',
  });
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => [e.draft.title, e.draft.start, e.draft.timeZone, e.draft.recurrence ?? null]),
    [
      // In May both say UTC-03:00.
      ['Autumn review', at('2025-05-13T13:00:00Z'), 'America/Sao_Paulo', null],
      // In November the file says UTC-02:00; 10:00 in São Paulo is 13:00 UTC.
      ['Spring review', at('2025-11-20T13:00:00Z'), 'America/Sao_Paulo', null],
      // The series expands in the real zone, all year at 09:00 there.
      ['Weekly call', at('2025-05-06T12:00:00Z'), 'America/Sao_Paulo', 'FREQ=WEEKLY;BYDAY=TU'],
    ],
  );
  t.deepEqual(
    changed.map((c) => [c.uid, c.summary]),
    [
      ['stale-brasilia-2', 'Spring review'],
      ['stale-brasilia-3', 'Weekly call'],
    ],
  );
  t.regex(
    changed[0]?.reason ?? '',
    /^its zone "\(UTC-03:00\) Brasília", a Windows name for America\/Sao_Paulo, is defined otherwise in the file \(on 2025-11-20 the file's definition is at UTC-0200, America\/Sao_Paulo at UTC-0300\): its times are read in America\/Sao_Paulo, as the zone's name says, not by the file's definition$/,
  );
  t.regex(changed[1]?.reason ?? '', /on 2025-\d\d-\d\d the file's definition is at UTC-0200/);
});

test("an IANA zone name wins over the file's definition of it by the same rule, reported as changed", (t) => {
  // A VTIMEZONE named Europe/Berlin that keeps summer time all year (a broken generator).
  const text = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Tests//EN',
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Berlin',
    'BEGIN:STANDARD',
    'DTSTART:19700101T000000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0200',
    'END:STANDARD',
    'END:VTIMEZONE',
    'BEGIN:VEVENT',
    'UID:winter',
    'DTSTART;TZID=Europe/Berlin:20250115T100000',
    'DTEND;TZID=Europe/Berlin:20250115T110000',
    'SUMMARY:Winter meeting',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:summer',
    'DTSTART;TZID=Europe/Berlin:20250715T100000',
    'DTEND;TZID=Europe/Berlin:20250715T110000',
    'SUMMARY:Summer meeting',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const { events, changed } = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(
    events.map((e) => [e.uid, e.draft.start, e.draft.timeZone]),
    [
      ['winter', at('2025-01-15T09:00:00Z'), 'Europe/Berlin'],
      ['summer', at('2025-07-15T08:00:00Z'), 'Europe/Berlin'],
    ],
  );
  // Only where the two differ: in July the file agrees with Berlin.
  t.deepEqual(
    changed.map((c) => [c.uid, c.reason]),
    [
      [
        'winter',
        "its zone Europe/Berlin is defined otherwise in the file (on 2025-01-15 the file's definition is at UTC+0200, Europe/Berlin at UTC+0100): its times are read in Europe/Berlin, as the zone's name says, not by the file's definition",
      ],
    ],
  );
});

test('CLASS: none (or an empty one, as Exchange CDO writes) is PUBLIC as RFC 5545 says, and goes back out as CLASS:PUBLIC, never PRIVATE', async (t) => {
  let hour = 8;
  const vevent = (uid: string, ...lines: string[]) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTART:20250602T${String((hour += 1)).padStart(2, '0')}0000Z`,
    'DURATION:PT1H',
    `SUMMARY:${uid}`,
    ...lines,
    'END:VEVENT',
  ];
  const text = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Tests//EN',
    ...vevent('none'),
    ...vevent('empty', 'CLASS:'),
    ...vevent('public', 'CLASS:PUBLIC'),
    ...vevent('private', 'CLASS:PRIVATE'),
    ...vevent('confidential', 'CLASS:confidential'),
    ...vevent('unknown', 'CLASS:X-SECRET'),
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const { events } = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(
    events.map((e) => [e.uid, e.draft.visibility]),
    [
      ['none', 'public'],
      ['empty', 'public'],
      ['public', 'public'],
      ['private', 'busy'],
      ['confidential', 'private'],
      // Unknown values are PRIVATE (RFC 5545 §3.8.1.3).
      ['unknown', 'busy'],
    ],
  );
  const c = await aliceAlone();
  importText(c, text, 'UTC');
  const { ics } = c.read('alice', { type: 'agenda.export' });
  const classes = new Map(
    [...ics.matchAll(/UID:([a-z]+)[\s\S]*?CLASS:([A-Z]+)/g)].map((m) => [m[1], m[2]]),
  );
  t.deepEqual(Object.fromEntries(classes), {
    none: 'PUBLIC',
    empty: 'PUBLIC',
    public: 'PUBLIC',
    private: 'PRIVATE',
    confidential: 'CONFIDENTIAL',
    unknown: 'PRIVATE',
  });
});

test('Google: zero-length events (DTEND = DTSTART) are instants, imported over a meeting without a conflict, listed, and never busy', async (t) => {
  const c = await aliceAlone();
  c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'Workshop',
      start: at('2025-06-12T14:00:00Z'),
      end: at('2025-06-12T16:00:00Z'),
    },
  });
  const { parsed, outcome } = importText(c, fixture('google-zero-length.ics'), 'UTC');
  t.deepEqual(parsed.skipped, []);
  t.like(parsed.events[0]?.draft, {
    start: at('2025-06-12T15:00:00Z'),
    end: at('2025-06-12T15:00:00Z'),
  });
  // No allowConflict: an instant inside the workshop is no conflict.
  t.deepEqual(outcome.failed, []);
  t.deepEqual(
    outcome.events.map((e) => e.action),
    ['created', 'created'],
  );
  // Listed from its very instant on, and never flagged (nor is what it lies in).
  const list = c.read('alice', {
    type: 'event.list',
    from: at('2025-06-12T15:00:00Z'),
    to: at('2025-06-12T16:00:00Z'),
  }).events;
  t.deepEqual(
    list.map((e) => [e.title, e.start, e.end, e.conflict]),
    [
      ['Workshop', '2025-06-12T14:00:00.000Z', '2025-06-12T16:00:00.000Z', false],
      ['Submit report', '2025-06-12T15:00:00.000Z', '2025-06-12T15:00:00.000Z', false],
    ],
  );
  const day = { from: at('2025-06-12T00:00:00Z'), to: at('2025-06-13T00:00:00Z') };
  t.deepEqual(c.read('alice', { type: 'conflicts.list', ...day }).conflicts, []);
  const { slots } = c.read('alice', {
    type: 'free.find',
    users: ['alice'],
    from: at('2025-06-12T11:00:00Z'),
    to: at('2025-06-12T18:00:00Z'),
    duration: 30 * 60_000,
  });
  // Busy only during the workshop: the pill at 12:00 and the report at 15:00 take no time.
  t.deepEqual(
    slots.map((s) => [s.start, s.end]),
    [
      ['2025-06-12T11:00:00.000Z', '2025-06-12T14:00:00.000Z'],
      ['2025-06-12T16:00:00.000Z', '2025-06-12T18:00:00.000Z'],
    ],
  );
  // A daily series of instants: 08:00 in New York (EDT) each day.
  t.deepEqual(
    listed(c, '2025-06-09T00:00:00Z', '2025-06-16T00:00:00Z')
      .filter(([, title]) => title === 'Take the pill')
      .map(([start]) => start),
    [
      '2025-06-09T12:00:00.000Z',
      '2025-06-10T12:00:00.000Z',
      '2025-06-11T12:00:00.000Z',
      '2025-06-12T12:00:00.000Z',
      '2025-06-13T12:00:00.000Z',
    ],
  );
  // Importing again changes nothing.
  t.deepEqual(
    importText(c, fixture('google-zero-length.ics'), 'UTC').outcome.events.map((e) => e.action),
    ['unchanged', 'unchanged'],
  );
});

test('Apple: a VEVENT with neither DTEND nor DURATION is an instant at a time, and lasts its day on a date (RFC 5545 §3.6.1)', (t) => {
  const { events, skipped } = importICalendar(fixture('apple-no-end.ics'), {
    defaultTimeZone: 'Europe/Berlin',
  });
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => [e.draft.title, e.draft.start, e.draft.end]),
    [
      ['Tax return due', at('2025-06-12T15:00:00Z'), at('2025-06-12T15:00:00Z')],
      ['Street festival', at('2025-06-13T22:00:00Z'), at('2025-06-14T22:00:00Z')],
    ],
  );
});

test('an instant goes out without DTEND and reads back as the same instant', async (t) => {
  const c = await aliceAlone();
  importText(c, fixture('apple-no-end.ics'), 'Europe/Berlin');
  const { ics } = c.read('alice', { type: 'agenda.export' });
  const tax =
    /BEGIN:VEVENT\r\n(?:(?!END:VEVENT)[\s\S])*?SUMMARY:Tax return due[\s\S]*?END:VEVENT/.exec(
      ics.replace(/\r\n[ \t]/g, ''),
    )?.[0];
  t.truthy(tax);
  t.regex(tax ?? '', /DTSTART;TZID=Europe\/Berlin:20250612T170000/);
  t.notRegex(tax ?? '', /DTEND/);
  const again = importICalendar(ics, { defaultTimeZone: 'UTC' });
  t.like(again.events.find((e) => e.draft.title === 'Tax return due')?.draft, {
    start: at('2025-06-12T15:00:00Z'),
    end: at('2025-06-12T15:00:00Z'),
  });
});

test('Google holidays (TRANSP:TRANSPARENT) take no time: no conflicts, free in free time, hidden from those who would see a busy block, kept on export', async (t) => {
  const c = await aliceAlone();
  c.register('bob');
  c.ok('alice', { type: 'group.create', name: 'pals', kind: 'flat' });
  c.ok('alice', { type: 'group.addMember', group: 'pals', username: 'bob' });
  c.ok('bob', { type: 'group.join', group: 'pals' });
  const { parsed, outcome } = importText(
    c,
    fixture('google-holidays-transparent.ics'),
    'Europe/Madrid',
  );
  t.deepEqual(parsed.skipped, []);
  t.true(parsed.events.every((e) => e.draft.transparent === true));
  t.deepEqual(outcome.failed, []);
  const holiday = outcome.events[0]?.id ?? '';
  // Lunch on the holiday: no conflict, without allowConflict.
  const lunch = c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Lunch', start: at('2025-10-12T11:00:00Z'), end: at('2025-10-12T12:00:00Z') },
  });
  t.deepEqual(lunch.conflicts, []);
  // Working from home on the 13th, shown as free, details for alice alone (busy visibility).
  c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'Working from home',
      start: at('2025-10-13T07:00:00Z'),
      end: at('2025-10-13T15:00:00Z'),
      transparent: true,
    },
  });
  const october = { from: at('2025-10-01T00:00:00Z'), to: at('2025-11-01T00:00:00Z') };
  t.deepEqual(c.read('alice', { type: 'conflicts.list', ...october }).conflicts, []);
  t.like(c.read('alice', { type: 'event.show', eventId: holiday }).event, {
    transparent: true,
    conflict: false,
  });
  const { slots } = c.read('bob', {
    type: 'free.find',
    users: ['alice'],
    from: at('2025-10-13T08:00:00Z'),
    to: at('2025-10-13T14:00:00Z'),
    duration: 60 * 60_000,
  });
  t.deepEqual(
    slots.map((s) => [s.start, s.end]),
    [['2025-10-13T08:00:00.000Z', '2025-10-13T14:00:00.000Z']],
  );
  // Bob sees the public holiday, marked as free, and a busy block for lunch; the free time
  // he may not look into is not there at all.
  const { agendas } = c.read('bob', {
    type: 'agenda.view',
    targets: { users: ['alice'] },
    from: at('2025-10-11T22:00:00Z'),
    to: at('2025-10-14T00:00:00Z'),
  });
  t.deepEqual(
    (agendas[0]?.entries ?? []).map((e) =>
      'busy' in e ? ['busy', e.start] : [e.title, e.transparent ?? false],
    ),
    [
      ['Hispanic Day', true],
      ['busy', '2025-10-12T11:00:00.000Z'],
    ],
  );
  // Out and back in: TRANSP:TRANSPARENT and TRANSP:OPAQUE.
  const { ics } = c.read('alice', { type: 'agenda.export' });
  const unfolded = ics.replace(/\r\n[ \t]/g, '');
  t.regex(unfolded, /SUMMARY:Hispanic Day\r\n(?:[^\r]*\r\n)*?TRANSP:TRANSPARENT\r\n/);
  t.regex(unfolded, /SUMMARY:Lunch\r\n(?:[^\r]*\r\n)*?TRANSP:OPAQUE\r\n/);
  const back = importICalendar(ics, { defaultTimeZone: 'UTC' });
  // An export goes by event id (server/store/export-pages.ts), not by time: sorted by start.
  t.deepEqual(
    [...back.events]
      .sort((a, b) => a.draft.start - b.draft.start)
      .map((e) => [e.draft.title, e.draft.transparent === true]),
    [
      ['Hispanic Day', true],
      ['Lunch', false],
      ['Working from home', true],
      ["All Saints' Day", true],
    ],
  );
  // Made opaque again, the holiday is in lunch's way.
  const opaque = c.send('alice', {
    type: 'event.update',
    eventId: holiday,
    changes: { transparent: false },
  });
  t.false(opaque.ok);
  if (!opaque.ok) t.is(opaque.error.code, 'conflict');
});

const LONG_TITLE =
  'Quarterly planning with the product, design, engineering, data, support and marketing teams to agree the roadmap for the next quarter, review the results of the last one, and decide who owns each of the twelve initiatives we will present to the board in October';

test('Google: a title over 200 characters is shortened, its whole text beginning the description; attendees and an alarm after the end are reported as left out', async (t) => {
  const { events, skipped, changed } = importICalendar(fixture('google-long-title-attendees.ics'), {
    defaultTimeZone: 'Europe/Madrid',
  });
  const uid = '2n4p6r8t0v2x4z6b8d0f2h4j6l@google.com';
  t.is(LONG_TITLE.length, 261);
  const draft = events[0]?.draft;
  t.is(draft?.title, `${LONG_TITLE.slice(0, 199).trimEnd()}…`);
  t.true((draft?.title.length ?? 0) <= 200);
  t.is(
    draft?.description,
    `${LONG_TITLE}\n\nBring last quarter's numbers.\nAgenda in the shared folder.`,
  );
  // An e-mail alarm a day before and a display one 10 minutes before are reminders.
  t.deepEqual(draft?.reminders, [10, 1440]);
  t.deepEqual(
    changed.map((c) => [c.component, c.uid, c.reason]),
    [
      [
        'VEVENT',
        uid,
        'its title has 261 characters, more than the 200 a title may have: it is shortened, and the whole title begins the description',
      ],
    ],
  );
  t.deepEqual(
    skipped.map((s) => [s.component, s.uid, s.summary, s.reason]),
    [
      [
        'VALARM',
        uid,
        LONG_TITLE,
        'it goes off relative to the end (PT5M); reminders come before the start',
      ],
      [
        'ATTENDEE',
        uid,
        LONG_TITLE,
        // The organizer's own ATTENDEE is not among them: the importer organizes the event.
        'its 4 attendees (Bo Lind <bo@example.com>, cy@example.com, Dee Okafor <dee@example.com> and 1 more) are not kept: an import puts the event in your agenda alone and invites nobody',
      ],
    ],
  );
  // Parts of an event that was imported, not components left out: `agenda import` exits 0.
  t.deepEqual(
    skipped.map((s) => s.part),
    [true, true],
  );
  const c = await aliceAlone();
  const { outcome } = importText(c, fixture('google-long-title-attendees.ics'), 'Europe/Madrid');
  t.deepEqual(outcome.failed, []);
  t.is(
    c.read('alice', { type: 'event.show', eventId: outcome.events[0]?.id ?? '' }).event.title,
    draft?.title ?? '',
  );
  // Again: the same shortened title, so nothing changes.
  t.deepEqual(
    importText(c, fixture('google-long-title-attendees.ics'), 'Europe/Madrid').outcome.events.map(
      (e) => e.action,
    ),
    ['unchanged'],
  );
});

test('a title on several lines is kept on one, reported; a blank one is (untitled)', (t) => {
  const { events, changed } = importICalendar(
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Tests//EN',
      'BEGIN:VEVENT',
      'UID:lines',
      'DTSTART:20250602T090000Z',
      'DURATION:PT1H',
      'SUMMARY:Review\\n  the budget',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:blank',
      'DTSTART:20250602T110000Z',
      'DURATION:PT1H',
      'SUMMARY: ',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(
    events.map((e) => e.draft.title),
    ['Review the budget', '(untitled)'],
  );
  t.deepEqual(
    changed.map((c) => [c.uid, c.reason]),
    [['lines', 'its title is on several lines (or has tabs); it is kept on one line']],
  );
});

test('Apple: a LOCATION on several lines (an address) is kept with its line breaks; an AUDIO alarm is a reminder, ACTION:NONE no alarm', async (t) => {
  const { events, skipped, changed } = importICalendar(fixture('apple-location-lines.ics'), {
    defaultTimeZone: 'UTC',
  });
  t.deepEqual(skipped, []);
  t.deepEqual(changed, []);
  t.is(
    events[0]?.draft.location,
    'Apple Park Visitor Center\n10600 N Tantau Ave, Cupertino CA 95014, United States',
  );
  t.deepEqual(events[0]?.draft.reminders, [30]);
  const c = await aliceAlone();
  const { outcome } = importText(c, fixture('apple-location-lines.ics'), 'UTC');
  t.deepEqual(outcome.failed, []);
  t.is(
    c.read('alice', { type: 'event.show', eventId: outcome.events[0]?.id ?? '' }).event.location,
    'Apple Park Visitor Center\n10600 N Tantau Ave, Cupertino CA 95014, United States',
  );
  // And back out as one escaped LOCATION.
  const { ics } = c.read('alice', { type: 'agenda.export' });
  t.true(
    ics
      .replace(/\r\n[ \t]/g, '')
      .includes(
        '\r\nLOCATION:Apple Park Visitor Center\\n10600 N Tantau Ave\\, Cupertino CA 95014\\, United States\r\n',
      ),
  );
});
