import test from 'ava';
import ICAL from 'ical.js';
import { InvalidInput } from '../../contract/errors.js';
import {
  CALENDAR_TAIL,
  calendarHead,
  derivedUid,
  exportICalendar,
  exportPieceOf,
  exportPieceText,
  importICalendar,
  zoneText,
  zoneUsesOf,
  zoneSpan,
} from './icalendar.js';
import { expandOccurrences } from './recurrence.js';
import { at, record } from './test-fixtures.js';
import { validateEventDraft } from './validation.js';
import type { EventDraft } from './validation.js';
import type { EventRecord } from './types.js';

const now = at('2025-06-01T12:00:00Z');

function fromDraft(
  id: string,
  draft: EventDraft,
  others: Parameters<typeof record>[1] = {},
): EventRecord {
  return record(
    {
      id,
      ...validateEventDraft(draft),
      createdAt: at('2025-05-01T00:00:00Z'),
      updatedAt: at('2025-05-02T00:00:00Z'),
      revision: 3,
    },
    others,
  );
}

const originals: EventRecord[] = [
  fromDraft('utc-one-off', {
    title: 'Dentist',
    start: at('2025-06-02T09:00:00Z'),
    end: at('2025-06-02T09:45:00Z'),
    visibility: 'public',
  }),
  fromDraft(
    'madrid-weekly',
    {
      title: 'Standup; daily, short',
      start: at('2025-03-17T08:00:00Z'),
      end: at('2025-03-17T08:15:00Z'),
      timeZone: 'Europe/Madrid',
      description: 'Line one,\nline two; with "quotes" and \\ backslash',
      location: 'Room 4, floor 2',
      recurrence: 'FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20251231T230000Z',
      exceptions: [at('2025-04-02T07:00:00Z'), at('2025-03-19T08:00:00Z')],
      visibility: 'private',
    },
    { bob: 'accepted', carol: 'pending', dan: 'declined' },
  ),
  fromDraft('ny-monthly', {
    title: 'Last Friday review',
    start: at('2025-01-31T20:00:00Z'),
    end: at('2025-01-31T21:30:00Z'),
    timeZone: 'America/New_York',
    recurrence: 'FREQ=MONTHLY;BYDAY=-1FR;COUNT=12',
  }),
  fromDraft('tokyo-yearly', {
    title: 'Anniversary',
    start: at('2025-04-01T00:00:00Z'),
    end: at('2025-04-01T03:00:00Z'),
    timeZone: 'Asia/Tokyo',
    recurrence: 'FREQ=YEARLY;INTERVAL=2;BYMONTHDAY=1',
    visibility: 'busy',
  }),
];

test('an export imports back to the same events', (t) => {
  const text = exportICalendar(originals, { now });
  const { events, skipped, changed } = importICalendar(text, { defaultTimeZone: 'UTC' });
  // Its invitees are not invited by an import, and the report says so; its organizer, who
  // imports it, is no one left out.
  t.deepEqual(
    skipped.map((s) => [s.component, s.uid, s.reason]),
    [
      [
        'ATTENDEE',
        'madrid-weekly',
        'its 3 attendees (bob <bob@agenda.invalid>, carol <carol@agenda.invalid>, dan <dan@agenda.invalid>) are not kept: an import puts the event in your agenda alone and invites nobody',
      ],
    ],
  );
  t.deepEqual(changed, []);
  t.deepEqual(
    events.map((e) => e.uid),
    originals
      .map((r) => r.event.id)
      .sort(
        (a, b) =>
          (originals.find((r) => r.event.id === a)?.event.start ?? 0) -
          (originals.find((r) => r.event.id === b)?.event.start ?? 0),
      ),
  );
  for (const imported of events) {
    const original = originals.find((r) => r.event.id === imported.uid)?.event;
    if (original === undefined) return t.fail(`unexpected ${imported.uid ?? 'no uid'}`);
    const { title, start, end, timeZone, description, location, visibility, recurrence } = original;
    t.deepEqual(
      validateEventDraft(imported.draft),
      { title, start, end, timeZone, description, location, visibility, recurrence },
      original.id,
    );
  }
});

test('the export says what calendar apps need', (t) => {
  const folded = exportICalendar(originals, { now, calendarName: 'Agenda of alice' });
  t.true(
    folded.split('\r\n').every((line) => Buffer.byteLength(line) <= 75),
    'lines are folded',
  );
  const text = folded.replace(/\r\n[ \t]/g, '');
  t.true(text.startsWith('BEGIN:VCALENDAR\r\n'));
  for (const line of [
    'VERSION:2.0',
    'X-WR-CALNAME:Agenda of alice',
    'TZID:Europe/Madrid',
    'DTSTART;TZID=Europe/Madrid:20250317T090000',
    'DTEND;TZID=Europe/Madrid:20250317T091500',
    'EXDATE;TZID=Europe/Madrid:20250402T090000',
    'RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20251231T230000Z',
    'DTSTART:20250602T090000Z',
    'CLASS:PUBLIC',
    'CLASS:CONFIDENTIAL',
    'CLASS:PRIVATE',
    'STATUS:CONFIRMED',
    'SEQUENCE:3',
    'DTSTAMP:20250601T120000Z',
    'ORGANIZER;CN=alice:mailto:alice@agenda.invalid',
    'ATTENDEE;CN=carol;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:carol@agenda.invalid',
    'ATTENDEE;CN=dan;PARTSTAT=DECLINED;ROLE=REQ-PARTICIPANT:mailto:dan@agenda.invalid',
  ]) {
    t.true(text.includes(`\r\n${line}\r\n`), line);
  }
  t.true(text.includes('DESCRIPTION:Line one\\,\\nline two\\; with "quotes" and \\\\ backslash'));
});

test('the generated VTIMEZONE places times like the zone database does', (t) => {
  const text = exportICalendar(originals, { now });
  const calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  for (const zoneComponent of calendar.getAllSubcomponents('vtimezone')) {
    const zone = new ICAL.Timezone(zoneComponent);
    const tzid = String(zoneComponent.getFirstPropertyValue('tzid'));
    for (const event of calendar.getAllSubcomponents('vevent')) {
      const dtstart = event.getFirstProperty('dtstart');
      if (dtstart?.getParameter('tzid') !== tzid) continue;
      const time = dtstart.getFirstValue() as InstanceType<typeof ICAL.Time>;
      const placed = ICAL.Time.fromData(
        {
          year: time.year,
          month: time.month,
          day: time.day,
          hour: time.hour,
          minute: time.minute,
          second: time.second,
        },
        zone,
      );
      const original = originals.find((r) => r.event.id === event.getFirstPropertyValue('uid'));
      t.is(placed.toUnixTime() * 1000, original?.event.start ?? Number.NaN, tzid);
    }
    // A summer instant too, not only the (winter) event starts.
    const summer = ICAL.Time.fromData(
      { year: 2025, month: 7, day: 1, hour: 12, minute: 0, second: 0 },
      zone,
    );
    const expected = {
      'Europe/Madrid': '2025-07-01T10:00:00Z',
      'America/New_York': '2025-07-01T16:00:00Z',
      'Asia/Tokyo': '2025-07-01T03:00:00Z',
    }[tzid];
    t.is(summer.toUnixTime() * 1000, at(expected ?? 'invalid'), tzid);
  }
});

const foreign = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Someone//Else//EN',
  'BEGIN:VTIMEZONE',
  'TZID:W. Europe Standard Time',
  'BEGIN:STANDARD',
  'DTSTART:16010101T030000',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:16010101T020000',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:google-weekly',
  'DTSTART;TZID=Europe/Madrid:20250303T100000',
  'DTEND;TZID=Europe/Madrid:20250303T110000',
  'RRULE:FREQ=WEEKLY;WKST=SU;BYDAY=MO',
  'SUMMARY:Weekly sync',
  'CLASS:PRIVATE',
  'BEGIN:VALARM',
  'ACTION:DISPLAY',
  'TRIGGER:-PT10M',
  'END:VALARM',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:outlook',
  'DTSTART;TZID=W. Europe Standard Time:20250702T100000',
  'DURATION:PT45M',
  'SUMMARY:Outlook meeting',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:holiday',
  'DTSTART;VALUE=DATE:20250815',
  'SUMMARY:Holiday',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:floating',
  'DTSTART:20250610T090000',
  'DTEND:20250610T100000',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:google-weekly',
  'RECURRENCE-ID;TZID=Europe/Madrid:20250310T100000',
  'DTSTART;TZID=Europe/Madrid:20250310T120000',
  'DTEND;TZID=Europe/Madrid:20250310T130000',
  'SUMMARY:Weekly sync (moved)',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:hourly',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T091000Z',
  'RRULE:FREQ=HOURLY',
  'SUMMARY:Hourly ping',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:rdate',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T091000Z',
  'RDATE:20250612T090000Z',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:rdate-period',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T091000Z',
  'RDATE;VALUE=PERIOD:20250612T090000Z/PT1H',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:rdate-kinds',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T091000Z',
  'RDATE;VALUE=DATE:20250612',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:gone',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T091000Z',
  'STATUS:CANCELLED',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:no-start',
  'SUMMARY:When?',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:backwards',
  'DTSTART:20250610T090000Z',
  'DTEND:20250610T080000Z',
  'END:VEVENT',
  'BEGIN:VTODO',
  'UID:todo',
  'SUMMARY:Buy milk',
  'END:VTODO',
  'END:VCALENDAR',
  '',
].join('\r\n');

test('a foreign file: what we support is imported, the rest reported', (t) => {
  const { events, skipped } = importICalendar(foreign, { defaultTimeZone: 'Europe/Madrid' });
  const byUid = new Map(events.map((e) => [e.uid, e.draft]));
  t.deepEqual([...byUid.keys()], ['google-weekly', 'outlook', 'holiday', 'floating', 'rdate']);
  // RDATE without RRULE: DTSTART once, and the added dates.
  t.like(byUid.get('rdate'), {
    start: at('2025-06-10T09:00:00Z'),
    recurrence: 'FREQ=DAILY;COUNT=1',
    additions: [at('2025-06-12T09:00:00Z')],
  });
  t.like(byUid.get('google-weekly'), {
    title: 'Weekly sync',
    start: at('2025-03-03T09:00:00Z'),
    end: at('2025-03-03T10:00:00Z'),
    timeZone: 'Europe/Madrid',
    visibility: 'busy',
  });
  t.is(
    validateEventDraft(byUid.get('google-weekly') as EventDraft).recurrence?.rule.freq,
    'WEEKLY',
  );
  // A Windows zone name, read as the IANA zone CLDR maps it to, which the file's own
  // VTIMEZONE agrees with (summer: +02:00).
  t.like(byUid.get('outlook'), {
    start: at('2025-07-02T08:00:00Z'),
    end: at('2025-07-02T08:45:00Z'),
    timeZone: 'Europe/Berlin',
  });
  // An all-day date lasts the day in the importer's zone.
  t.like(byUid.get('holiday'), {
    start: at('2025-08-14T22:00:00Z'),
    end: at('2025-08-15T22:00:00Z'),
    timeZone: 'Europe/Madrid',
  });
  t.like(byUid.get('floating'), {
    title: '(untitled)',
    start: at('2025-06-10T07:00:00Z'),
    timeZone: 'Europe/Madrid',
  });

  // Its moved occurrence comes with the series, by the start the rule gave it.
  t.like(events[0]?.occurrences?.[0], {
    occurrenceStart: at('2025-03-10T09:00:00Z'),
    draft: { title: 'Weekly sync (moved)', start: at('2025-03-10T11:00:00Z') },
  });

  const reasons = new Map(skipped.map((s) => [`${s.component}:${s.uid ?? ''}`, s.reason]));
  t.regex(reasons.get('VEVENT:hourly') ?? '', /FREQ=HOURLY is not supported/);
  t.regex(reasons.get('VEVENT:rdate-period') ?? '', /RDATE period .* lasts otherwise/);
  t.regex(
    reasons.get('VEVENT:rdate-kinds') ?? '',
    /RDATE .* is a date and DTSTART a date and time/,
  );
  t.regex(reasons.get('VEVENT:gone') ?? '', /cancelled/);
  t.regex(reasons.get('VEVENT:no-start') ?? '', /no start/);
  t.regex(reasons.get('VEVENT:backwards') ?? '', /end cannot be before the start/);
  t.regex(reasons.get('VTODO:todo') ?? '', /only events/);
  t.is(skipped.length, 7);
});

test('files that are not iCalendar are refused clearly', (t) => {
  for (const text of [
    '',
    'hello',
    '{"json": true}',
    'BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n',
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\ngarbage after it\r\n',
    'BEGIN:VCALENDAR\r\nnot a content line\r\nEND:VCALENDAR\r\n',
  ]) {
    const error = t.throws(
      () => importICalendar(text, { defaultTimeZone: 'UTC' }),
      undefined,
      JSON.stringify(text),
    );
    t.true(error instanceof InvalidInput, JSON.stringify(text));
  }
  t.throws(
    () =>
      importICalendar('BEGIN:VCALENDAR\r\n' + 'X'.repeat(6 * 1024 * 1024), {
        defaultTimeZone: 'UTC',
      }),
    {
      instanceOf: InvalidInput,
      message: /at most 200 events and 1 MB; this one has 6\.0 MB: split/,
    },
  );
  t.throws(() => importICalendar(foreign, { defaultTimeZone: 'Nowhere/Land' }), {
    instanceOf: InvalidInput,
  });
});

test('a component that cannot be read costs itself alone: nested 20,000 deep, cut short, or with a line that is no content line', (t) => {
  const good =
    'BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20270101T090000Z\r\nSUMMARY:Good\r\nEND:VEVENT\r\n';
  // 20,000 nested VALARMs (520 KB) overflowed the stack: an internal error, exit 5.
  const deep =
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\n' +
    good +
    'BEGIN:VEVENT\r\nUID:deep\r\nDTSTART:20270101T100000Z\r\n' +
    'BEGIN:VALARM\r\n'.repeat(20_000) +
    'END:VALARM\r\n'.repeat(20_000) +
    'END:VEVENT\r\nBEGIN:VEVENT\r\nUID:broken\r\nSUMMARY:Broken\r\nno colon here\r\nEND:VEVENT\r\n' +
    'BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:nope\r\n';
  const { events, skipped } = importICalendar(deep, { defaultTimeZone: 'UTC' });
  t.deepEqual(
    events.map((e) => e.uid),
    ['good'],
  );
  t.deepEqual(
    skipped.map((s) => [s.component, s.uid, s.reason]),
    [
      ['VEVENT', 'deep', 'line 25 opens a component nested more than 16 deep'],
      ['VEVENT', 'broken', 'line 40015 is not an iCalendar content line (NAME:value)'],
      ['VEVENT', 'cut', 'its BEGIN:VEVENT on line 40017 is never closed (the file ends first)'],
    ],
  );
});

test('a calendar written a piece at a time, in any order, holds what the whole-agenda export does', (t) => {
  const series = originals.find((r) => r.event.id === 'madrid-weekly');
  if (series === undefined) throw new Error('fixture missing');
  const [moved, cancelled] = series.event.recurrence?.exceptions ?? [];
  if (moved === undefined || cancelled === undefined) throw new Error('fixture missing');
  const detached = (id: string, occurrenceStart: number, fields: object = {}): EventRecord =>
    record({
      id,
      title: `Moved ${id}`,
      start: occurrenceStart + 3_600_000,
      end: occurrenceStart + 4_500_000,
      timeZone: 'Europe/Madrid',
      detachedFrom: { seriesId: 'madrid-weekly', occurrenceStart },
      ...fields,
    });
  const records = [
    ...originals,
    detached('moved-first', moved),
    // A second live event for the same occurrence goes out on its own, as does a cancelled one.
    detached('moved-again', moved, { start: moved + 7_200_000, end: moved + 8_000_000 }),
    detached('cancelled-since', cancelled, { status: 'cancelled' }),
  ];
  const whole = exportICalendar(records, { now, calendarName: 'Agenda of alice' });

  const live = records.filter(
    (r) => r.event.detachedFrom !== undefined && r.event.status !== 'cancelled',
  );
  const exported = live.map((r) => ({
    id: r.event.id,
    start: r.event.start,
    occurrenceStart: r.event.detachedFrom?.occurrenceStart ?? 0,
  }));
  const pieces = [...records].reverse().map((r) =>
    exportPieceText(
      exportPieceOf(r, {
        ...(r.event.recurrence === null ? {} : { detachedOfSeries: exported }),
        series:
          r.event.detachedFrom === undefined ? null : { event: series.event, detached: exported },
      }),
      now,
    ),
  );
  const zones = zoneUsesOf(records.map((r) => r.event))
    .sort((a, b) => (a.zone < b.zone ? -1 : 1))
    .map((use) => zoneText(use, now));
  const paged =
    calendarHead({ now, calendarName: 'Agenda of alice' }) +
    zones.join('') +
    pieces.join('') +
    CALENDAR_TAIL;

  const components = (text: string) =>
    text
      .split(/(?=BEGIN:VEVENT\r\n)/)
      .slice(1)
      .map((c) => c.replace(/END:VCALENDAR\r\n$/, ''))
      .sort();
  t.deepEqual(components(paged), components(whole));
  t.is(
    paged.slice(0, paged.indexOf('BEGIN:VEVENT')),
    whole.slice(0, whole.indexOf('BEGIN:VEVENT')),
  );
  t.true(paged.endsWith('END:VEVENT\r\nEND:VCALENDAR\r\n'));
  // The first live event of the moved occurrence is its RECURRENCE-ID; the series keeps only
  // the cancelled occurrence as an EXDATE.
  t.is(whole.split('RECURRENCE-ID').length - 1, 1);
  const master = components(whole).find(
    (c) => c.includes('UID:madrid-weekly') && !c.includes('RECURRENCE-ID'),
  );
  t.is(master?.split('\r\nEXDATE').length, 2);
});

/** A VCALENDAR around `lines`, CRLF. */
function calendarOf(...lines: string[]): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Tests//EN',
    ...lines,
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

test('an event exported with the UID it was imported with keeps it; one made here is named by its id', (t) => {
  const imported = record({
    id: 'abc123',
    uid: '040000008200E00074C5B7101A82E008@outlook',
    start: at('2025-06-02T09:00:00Z'),
  });
  const made = record({ id: 'made-here', start: at('2025-06-03T09:00:00Z') });
  const text = exportICalendar([imported, made], { now });
  const { events } = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(
    events.map((e) => e.uid),
    ['040000008200E00074C5B7101A82E008@outlook', 'made-here'],
  );
});

test('a VEVENT without a UID gets one derived from its content: the same on every read, not moved by DTSTAMP', (t) => {
  const vevent = (stamp: string, summary: string) => [
    'BEGIN:VEVENT',
    `DTSTAMP:${stamp}`,
    'DTSTART:20250610T090000Z',
    'DTEND:20250610T100000Z',
    `SUMMARY:${summary}`,
    'END:VEVENT',
  ];
  const read = (text: string) => importICalendar(text, { defaultTimeZone: 'UTC' });
  const once = read(calendarOf(...vevent('20250601T000000Z', 'Planning')));
  const later = read(calendarOf(...vevent('20250701T080000Z', 'Planning')));
  const [first] = once.events;
  t.regex(first?.uid ?? '', /^agenda-derived-[A-Za-z0-9_-]{43}$/);
  t.is(later.events[0]?.uid, first?.uid);
  // Without CLASS it is public, but digested as busy, as it was read before PUBLIC was the
  // default: a UID derived then still finds the event.
  t.is(first?.draft.visibility, 'public');
  t.is(first?.uid, derivedUid({ ...(first?.draft as EventDraft), visibility: 'busy' }));
  const renamed = read(calendarOf(...vevent('20250601T000000Z', 'Planning (moved)')));
  t.not(renamed.events[0]?.uid, first?.uid);
  // Two identical copies without a UID are one event.
  const twice = read(
    calendarOf(
      ...vevent('20250601T000000Z', 'Planning'),
      ...vevent('20250602T000000Z', 'Planning'),
    ),
  );
  t.is(twice.events.length, 1);
  t.regex(twice.skipped[0]?.reason ?? '', /identical event without a UID/);
});

test('two versions of one UID: the higher SEQUENCE is imported, else the later one; a changed occurrence is not a version', (t) => {
  const version = (summary: string, sequence?: number) => [
    'BEGIN:VEVENT',
    'UID:thunderbird-1',
    ...(sequence === undefined ? [] : [`SEQUENCE:${sequence}`]),
    'DTSTART;VALUE=DATE:20180722',
    'DTEND;VALUE=DATE:20180723',
    `SUMMARY:${summary}`,
    'END:VEVENT',
  ];
  const later = importICalendar(calendarOf(...version('test1'), ...version('test2')), {
    defaultTimeZone: 'Europe/Berlin',
  });
  t.deepEqual(
    later.events.map((e) => [e.uid, e.draft.title]),
    [['thunderbird-1', 'test2']],
  );
  t.regex(later.skipped[0]?.reason ?? '', /same UID replaces it/);
  const newer = importICalendar(calendarOf(...version('test1', 3), ...version('test2', 1)), {
    defaultTimeZone: 'Europe/Berlin',
  });
  t.deepEqual(
    newer.events.map((e) => e.draft.title),
    ['test1'],
  );
  const withOverride = importICalendar(
    calendarOf(
      'BEGIN:VEVENT',
      'UID:weekly',
      'DTSTART:20250303T090000Z',
      'DTEND:20250303T100000Z',
      'RRULE:FREQ=WEEKLY',
      'SUMMARY:Sync',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:weekly',
      'RECURRENCE-ID:20250310T090000Z',
      'DTSTART:20250310T120000Z',
      'DTEND:20250310T130000Z',
      'SUMMARY:Sync (moved)',
      'END:VEVENT',
    ),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(
    withOverride.events.map((e) => [e.uid, e.draft.title, e.occurrences?.length]),
    [['weekly', 'Sync', 1]],
  );
  t.deepEqual(withOverride.skipped, []);
});

test('a request holds at most MAX_IMPORT_CHUNK_EVENTS events; changed occurrences do not count', (t) => {
  const vevent = (i: number, extra: string[] = []) => [
    'BEGIN:VEVENT',
    `UID:e${i}`,
    ...extra,
    `DTSTART:20250610T${String(i % 24).padStart(2, '0')}0000Z`,
    'DURATION:PT30M',
    'END:VEVENT',
  ];
  const masters = Array.from({ length: 200 }, (_, i) => vevent(i));
  const overrides = Array.from({ length: 50 }, (_, i) =>
    vevent(0, [`RECURRENCE-ID:202506${String(11 + (i % 19)).padStart(2, '0')}T000000Z`]),
  );
  const fits = importICalendar(calendarOf(...masters.flat(), ...overrides.flat()), {
    defaultTimeZone: 'UTC',
  });
  t.is(fits.events.length, 200);
  t.throws(
    () =>
      importICalendar(calendarOf(...masters.flat(), ...vevent(200)), { defaultTimeZone: 'UTC' }),
    {
      instanceOf: InvalidInput,
      message: /this one has 201 events: split the file/,
    },
  );
});

test('a UID longer than any Agenda keeps is skipped with the reason', (t) => {
  const { events, skipped } = importICalendar(
    calendarOf(
      'BEGIN:VEVENT',
      `UID:${'u'.repeat(501)}`,
      'DTSTART:20250610T090000Z',
      'DTEND:20250610T100000Z',
      'END:VEVENT',
    ),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(events, []);
  t.regex(skipped[0]?.reason ?? '', /UID is longer than 500/);
});

test('a UID holding control characters is skipped: it would go out in every export as written', (t) => {
  const { events, skipped } = importICalendar(
    calendarOf(
      'BEGIN:VEVENT',
      'UID:u\u001b]0;pwned\u0007\u001b[2J',
      'DTSTART:20250610T090000Z',
      'DTEND:20250610T100000Z',
      'SUMMARY:fine',
      'END:VEVENT',
    ),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(events, []);
  t.is(skipped[0]?.reason, 'its UID contains control characters');
});

test('an RRULE is judged as the file writes it: one bad rule skips its event, never bends, never fails the file', (t) => {
  const event = (uid: string, rule: string) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTART:20250303T090000Z',
    'DTEND:20250303T100000Z',
    `SUMMARY:${uid}`,
    rule,
    'END:VEVENT',
  ];
  const text = calendarOf(
    ...event('count-zero', 'RRULE:FREQ=DAILY;COUNT=0'),
    ...event('interval-zero', 'RRULE:FREQ=DAILY;INTERVAL=0'),
    ...event('count-twice', 'RRULE:FREQ=DAILY;COUNT=3;COUNT=5'),
    ...event('fractional', 'RRULE:FREQ=DAILY;COUNT=1.5'),
    ...event('zero-monday', 'RRULE:FREQ=MONTHLY;BYDAY=0MO'),
    ...event('empty-byday', 'RRULE:FREQ=WEEKLY;BYDAY='),
    ...event('lowercase', 'rrule:freq=weekly;byday=mo,we;count=4'),
    ...event('folded', 'RRULE:FREQ=WEEKLY;BYDAY=TU;UN\r\n TIL=20250401T000000Z'),
    ...event('endless-text', `RRULE:FREQ=MONTHLY;BYMONTHDAY=${'1,'.repeat(20_000)}2`),
  );
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
  const rules = new Map(events.map((e) => [e.uid, e.draft.recurrence]));
  t.deepEqual([...rules.keys()], ['lowercase', 'folded']);
  t.is(rules.get('lowercase'), 'FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE');
  t.is(rules.get('folded'), 'FREQ=WEEKLY;BYDAY=TU;UNTIL=20250401T000000Z');
  const reasons = new Map(skipped.map((s) => [s.uid, s.reason]));
  t.regex(reasons.get('count-zero') ?? '', /COUNT must be between/);
  t.regex(reasons.get('interval-zero') ?? '', /INTERVAL must be between/);
  t.regex(reasons.get('count-twice') ?? '', /COUNT appears twice/);
  t.regex(reasons.get('fractional') ?? '', /COUNT/);
  t.regex(reasons.get('zero-monday') ?? '', /BYDAY/);
  t.regex(reasons.get('empty-byday') ?? '', /BYDAY has no value/);
  t.regex(reasons.get('endless-text') ?? '', /too long/);
});

/** One VEVENT with `lines` after its UID and summary: line 7 of the file is the first of them. */
function eventWith(...lines: string[]): string {
  return calendarOf('BEGIN:VEVENT', 'UID:e1', 'SUMMARY:Review', ...lines, 'END:VEVENT');
}

test('an impossible date or time in an imported file skips its event, naming its line; the others are imported', (t) => {
  const cases: readonly (readonly [string[], RegExp])[] = [
    [
      ['DTSTART:20271345T250000Z', 'DURATION:PT1H'],
      /^line 7: DTSTART 20271345T250000Z .*no month 13/,
    ],
    [
      ['DTSTART:20270230T100000Z', 'DURATION:PT1H'],
      /^line 7: DTSTART .*month 2 of 2027 has no day 30/,
    ],
    [['DTSTART:20270145T100000Z', 'DURATION:PT1H'], /^line 7: .*no day 45/],
    // Shapes ical.js reads anyway, rolling them over into some day of 2028 (outside attack).
    ...['20271345T250000ZZ', '20271345T250000Z;', '20271345T25000Z', '20271345T250000.5Z']
      .concat(['2027134T250000Z', '202713-5T250000Z', '20270230T120000ZZ'])
      .map((value): readonly [string[], RegExp] => [
        [`DTSTART:${value}`, 'DURATION:PT1H'],
        /^line 7: DTSTART .*not of the form/,
      ]),
    [['DTSTART:20270101T250000Z', 'DURATION:PT1H'], /^line 7: .*no hour 25/],
    [['DTSTART:20270101T106000Z', 'DURATION:PT1H'], /^line 7: .*no minute 60/],
    [['DTSTART;VALUE=DATE:20271301'], /^line 7: DTSTART 20271301 .*no month 13/],
    [
      ['DTSTART;TZID="Europe/Madrid":20270101T100000', 'DTEND;TZID=Europe/Madrid:20270101T246000'],
      /^line 8: DTEND 20270101T246000 .*no hour 24/,
    ],
    [
      [
        'DTSTART:20270101T100000Z',
        'DURATION:PT1H',
        'RRULE:FREQ=DAILY',
        'EXDATE:20270102T100000Z,20270229T100000Z',
      ],
      /^line 10: EXDATE 20270229T100000Z .*month 2 of 2027 has no day 29/,
    ],
    [
      ['DTSTART:20270101T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;UNTIL=20271232T000000Z'],
      /^line 9: RRULE UNTIL 20271232T000000Z .*month 12 of 2027 has no day 32/,
    ],
    [
      ['DTSTART:20270101T100000Z', 'DURATION:PT1H', 'RECURRENCE-ID:20270100T100000Z'],
      /^line 9: RECURRENCE-ID .*no day 0/,
    ],
    // A folded line is named by the line it starts on.
    [['DTSTART:2027', ' 1345T100000Z', 'DURATION:PT1H'], /^line 7: DTSTART 20271345T100000Z/],
  ];
  const other = [
    'BEGIN:VEVENT',
    'UID:other',
    'DTSTART:20270105T100000Z',
    'SUMMARY:Other',
    'END:VEVENT',
  ];
  for (const [lines, reason] of cases) {
    const text = eventWith(...lines).replace(
      'END:VCALENDAR',
      `${other.join('\r\n')}\r\nEND:VCALENDAR`,
    );
    const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
    t.deepEqual(
      events.map((e) => e.uid),
      ['other'],
      lines.join(' | '),
    );
    t.deepEqual(
      skipped.map((s) => [s.component, s.uid, s.summary]),
      [['VEVENT', 'e1', 'Review']],
    );
    t.regex(skipped[0]?.reason ?? '', reason, lines.join(' | '));
  }
});

test('real dates at the edges are imported: 29 February of a leap year, 23:59:60, all-day dates', (t) => {
  const read = (...lines: string[]) =>
    importICalendar(eventWith(...lines), { defaultTimeZone: 'UTC' }).events[0]?.draft.start;
  t.is(read('DTSTART:20280229T235900Z', 'DURATION:PT1H'), at('2028-02-29T23:59:00Z'));
  t.is(read('DTSTART;VALUE=DATE:20271231'), at('2027-12-31T00:00:00Z'));
  t.not(read('DTSTART:20271231T235960Z', 'DURATION:PT1H'), undefined);
});

test('invisible formatting characters in an imported title, description and location are stripped, not refused', (t) => {
  const { events, skipped } = importICalendar(
    calendarOf(
      'BEGIN:VEVENT',
      'UID:e1',
      'SUMMARY:\ufeffPay\u200b the \u202einvoice',
      'DESCRIPTION:Line\u2066 one\\nline\u200f two',
      'LOCATION:Room\u2060 4',
      'DTSTART:20270101T100000Z',
      'DURATION:PT1H',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:e2',
      'SUMMARY:👩‍💻 pairing\u200d',
      'DTSTART:20270102T100000Z',
      'DURATION:PT1H',
      'END:VEVENT',
    ),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(skipped, []);
  t.like(events[0]?.draft, {
    title: 'Pay the invoice',
    description: 'Line one\nline two',
    location: 'Room 4',
  });
  // A joiner that joins an emoji is writing, and stays; one that joins nothing goes.
  t.is(events[1]?.draft.title, '👩‍💻 pairing');
  for (const { draft } of events) t.notThrows(() => validateEventDraft(draft));
});

test("a zone only the file defines keeps its daylight-saving rules: Outlook's 'Customized Time Zone' in winter and in summer", (t) => {
  const zone = [
    'BEGIN:VTIMEZONE',
    'TZID:Customized Time Zone',
    'BEGIN:STANDARD',
    'DTSTART:16010101T030000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10',
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:16010101T020000',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3',
    'END:DAYLIGHT',
    'END:VTIMEZONE',
  ];
  const at10 = (uid: string, day: string) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTART;TZID=Customized Time Zone:${day}T100000`,
    `DTEND;TZID=Customized Time Zone:${day}T110000`,
    'END:VEVENT',
  ];
  const { events, skipped } = importICalendar(
    calendarOf(...zone, ...at10('winter', '20250115'), ...at10('summer', '20250715')),
    { defaultTimeZone: 'UTC' },
  );
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => [e.uid, e.draft.start, e.draft.timeZone]),
    [
      ['winter', at('2025-01-15T09:00:00Z'), 'UTC'],
      ['summer', at('2025-07-15T08:00:00Z'), 'UTC'],
    ],
  );
});

/** A one-off event in New York from `start` to `end` (UTC), exported and imported back. */
function newYorkRoundTrip(start: string, end: string) {
  const original = fromDraft('ny-fall-back', {
    title: 'Night shift',
    start: at(start),
    end: at(end),
    timeZone: 'America/New_York',
    visibility: 'public',
  });
  const text = exportICalendar([original], { now });
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
  return { text, events, skipped };
}

test('an event in the second pass of the hour clocks repeat goes out in UTC and comes back at the same instant', (t) => {
  // 2026-11-01 01:30 in New York happens twice: 05:30Z (EDT), then 06:30Z (EST).
  const second = newYorkRoundTrip('2026-11-01T06:30:00Z', '2026-11-01T07:30:00Z');
  t.regex(second.text, /\r\nDTSTART:20261101T063000Z\r\n/);
  t.regex(second.text, /\r\nDTEND:20261101T073000Z\r\n/);
  t.deepEqual(second.skipped, []);
  t.is(second.events.length, 1);
  t.is(second.events[0]?.draft.start, at('2026-11-01T06:30:00Z'));
  t.is(second.events[0]?.draft.end, at('2026-11-01T07:30:00Z'));
  // Ending in the second pass is enough: 01:50 EDT to 01:10 EST would read back backwards.
  const across = newYorkRoundTrip('2026-11-01T05:50:00Z', '2026-11-01T06:10:00Z');
  t.regex(across.text, /\r\nDTSTART:20261101T055000Z\r\n/);
  t.is(across.events[0]?.draft.start, at('2026-11-01T05:50:00Z'));
  t.is(across.events[0]?.draft.end, at('2026-11-01T06:10:00Z'));
  // The first pass is what the local time means: it keeps its TZID.
  const first = newYorkRoundTrip('2026-11-01T05:30:00Z', '2026-11-01T05:45:00Z');
  t.regex(first.text, /\r\nDTSTART;TZID=America\/New_York:20261101T013000\r\n/);
  t.is(first.events[0]?.draft.start, at('2026-11-01T05:30:00Z'));
  t.is(first.events[0]?.draft.timeZone, 'America/New_York');
});

test('a local time clocks repeat is read as its first pass, one they skip moves forward by the gap, in IANA and file-defined zones alike', (t) => {
  // The export's VTIMEZONE for New York, under a name no IANA zone has: the file's own
  // definition is then what places the times (ical.js's), as for the IANA zone (luxon's).
  const base = exportICalendar(
    [
      fromDraft('ny', {
        title: 'Shift',
        start: at('2026-03-01T15:00:00Z'),
        end: at('2026-03-01T16:00:00Z'),
        timeZone: 'America/New_York',
        visibility: 'public',
      }),
    ],
    { now: at('2026-01-01T00:00:00Z') },
  );
  const cases: readonly [string, string, string][] = [
    // Repeated: the first pass, EDT.
    ['20261101T013000', '2026-11-01T05:30:00Z', 'repeated hour'],
    // Skipped: read with the offset before the gap (EST), so 02:30 is 03:30 EDT.
    ['20260308T023000', '2026-03-08T07:30:00Z', 'skipped hour'],
    // Just before and after each change: plain readings.
    ['20260308T013000', '2026-03-08T06:30:00Z', 'before the gap'],
    ['20261101T023000', '2026-11-01T07:30:00Z', 'after the repeat'],
  ];
  for (const tzid of ['America/New_York', 'Eastern (file)']) {
    for (const [local, instant, what] of cases) {
      const text = base
        .replaceAll('America/New_York', tzid)
        .replace(/DTSTART;TZID=[^:]+:\d{8}T\d{6}/, `DTSTART;TZID=${tzid}:${local}`)
        .replace(/\r\nDTEND;[^\r]*/, '');
      const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
      t.deepEqual(skipped, [], `${tzid} ${what}`);
      t.is(events[0]?.draft.start, at(instant), `${tzid} ${what}`);
    }
  }
});

test('a VTIMEZONE that cannot cover every year an export spans covers the present and the coming years', (t) => {
  const now = at('2026-12-07T00:00:00Z');
  // A yearly series since 1990, still going: 1989 to two years ahead is 40 years, over the bound.
  const endless = zoneSpan(
    {
      zone: 'America/New_York',
      earliestStart: at('1990-07-04T23:00:00Z'),
      latestEnd: null,
      latestEndlessStart: at('1990-07-04T23:00:00Z'),
    },
    now,
  );
  t.deepEqual(endless, { from: 1998, to: 2028 });
  // One that ends in 2090: the ten years before now and twenty after.
  const long = zoneSpan(
    {
      zone: 'Europe/Paris',
      earliestStart: at('1993-01-01T10:00:00Z'),
      latestEnd: at('2090-01-01T11:00:00Z'),
      latestEndlessStart: null,
    },
    now,
  );
  t.deepEqual(long, { from: 2016, to: 2046 });
  // Within the bound, every year.
  const short = zoneSpan(
    {
      zone: 'Europe/Paris',
      earliestStart: at('2020-01-01T10:00:00Z'),
      latestEnd: at('2030-01-01T11:00:00Z'),
      latestEndlessStart: null,
    },
    now,
  );
  t.deepEqual(short, { from: 2019, to: 2030 });
});

test('times no event may have are refused without expanding the file zones they name', (t) => {
  // Forty events, each in a zone of its own that starts in 1601 (as Outlook's do), at the
  // end of year 9999: ical.js would expand each from 1601, a third of a second apiece.
  const zone = (tzid: string) =>
    [
      'BEGIN:VTIMEZONE',
      `TZID:${tzid}`,
      'BEGIN:STANDARD',
      'DTSTART:16011104T020000',
      'RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11',
      'TZOFFSETFROM:-0400',
      'TZOFFSETTO:-0500',
      'END:STANDARD',
      'BEGIN:DAYLIGHT',
      'DTSTART:16010311T020000',
      'RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3',
      'TZOFFSETFROM:-0500',
      'TZOFFSETTO:-0400',
      'END:DAYLIGHT',
      'END:VTIMEZONE',
    ].join('\r\n');
  // Each its own zone; a few named after Windows zones (compared with the IANA zones they
  // stand for), the others not.
  const windows = ['Eastern Standard Time', 'Pacific Standard Time', 'Romance Standard Time'];
  const tzids = Array.from({ length: 40 }, (_, i) => windows[i] ?? `Custom ${i}`);
  const events = tzids.map((tzid, i) =>
    [
      'BEGIN:VEVENT',
      `UID:far-${i}`,
      `DTSTART;TZID=${tzid}:99991231T100000`,
      `DTEND;TZID=${tzid}:99991231T110000`,
      'SUMMARY:Far',
      'END:VEVENT',
    ].join('\r\n'),
  );
  const text = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    ...tzids.map(zone),
    ...events,
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const started = performance.now();
  const result = importICalendar(text, { defaultTimeZone: 'UTC' });
  const ms = performance.now() - started;
  t.is(result.events.length, 0);
  t.is(result.skipped.length, 40);
  for (const skipped of result.skipped) t.regex(skipped.reason, /between 1970 and 2200/);
  // Expanded, they took 6 s on a quiet machine; read without expanding, 40 ms.
  t.true(ms < 4_000, `${Math.round(ms)} ms`);
});

test("Outlook's yearly rule names DTSTART's month and day again (BYMONTH, BYMONTHDAY): it is FREQ=YEARLY; a BYMONTH that says more is still refused", (t) => {
  const file = (rule: string) =>
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN',
      'BEGIN:VEVENT',
      'UID:birthday',
      'DTSTART;VALUE=DATE:20250330',
      'DTEND;VALUE=DATE:20250331',
      rule,
      'SUMMARY:Geburtstag Anna',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
  for (const rule of [
    'RRULE:FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=3',
    'RRULE:FREQ=YEARLY;BYMONTH=3',
    'RRULE:FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=30;COUNT=4',
  ]) {
    const { events, skipped } = importICalendar(file(rule), { defaultTimeZone: 'Europe/Zurich' });
    t.deepEqual(skipped, [], rule);
    t.regex(events[0]?.draft.recurrence ?? '', /^FREQ=YEARLY(;|$)/, rule);
    t.notRegex(events[0]?.draft.recurrence ?? '', /BYMONTH/, rule);
  }
  for (const rule of [
    'RRULE:FREQ=YEARLY;BYMONTH=3,9',
    'RRULE:FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=30',
    'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3',
  ]) {
    const { skipped } = importICalendar(file(rule), { defaultTimeZone: 'Europe/Zurich' });
    t.regex(skipped[0]?.reason ?? '', /BYMONTH is not supported/, rule);
  }
});

test('events whose VEVENT says no CLASS take the visibility the importer asks for, and are listed; those that say it keep it (outside attack 7)', (t) => {
  const vevent = (uid: string, ...lines: string[]) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTART:20250610T090000Z',
    'DTEND:20250610T100000Z',
    'SUMMARY:Therapy session - Dr Smith',
    ...lines,
    'END:VEVENT',
  ];
  // As Google Calendar writes them: no CLASS for default visibility.
  const text = calendarOf(
    ...vevent('google-1'),
    ...vevent('said-public', 'CLASS:PUBLIC'),
    ...vevent('said-private', 'CLASS:CONFIDENTIAL'),
    ...vevent('empty-class', 'CLASS:'),
    // A changed occurrence without CLASS of a series without one.
    ...vevent('series', 'RRULE:FREQ=DAILY;COUNT=3'),
    ...vevent('series', 'RECURRENCE-ID:20250611T090000Z', 'SUMMARY:moved'),
  );
  const visibilities = (result: ReturnType<typeof importICalendar>) =>
    Object.fromEntries(result.events.map((e) => [e.uid, e.draft.visibility]));
  // RFC 5545's default stays the default.
  const plain = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(visibilities(plain), {
    'google-1': 'public',
    'said-public': 'public',
    'said-private': 'private',
    'empty-class': 'public',
    series: 'public',
  });
  t.deepEqual(plain.withoutClass, ['google-1', 'empty-class', 'series']);

  const busy = importICalendar(text, { defaultTimeZone: 'UTC', defaultVisibility: 'busy' });
  t.deepEqual(visibilities(busy), {
    'google-1': 'busy',
    'said-public': 'public',
    'said-private': 'private',
    'empty-class': 'busy',
    series: 'busy',
  });
  t.deepEqual(busy.withoutClass, ['google-1', 'empty-class', 'series']);
  const occurrence = busy.events.find((e) => e.uid === 'series')?.occurrences?.[0];
  t.like(occurrence, { draft: { visibility: 'busy' } });

  // A derived UID does not depend on the visibility asked for: a file without UIDs imported
  // again with another finds the same events.
  const noUid = calendarOf(
    'BEGIN:VEVENT',
    'DTSTART:20250610T090000Z',
    'DTEND:20250610T100000Z',
    'SUMMARY:Planning',
    'END:VEVENT',
  );
  const once = importICalendar(noUid, { defaultTimeZone: 'UTC' });
  const again = importICalendar(noUid, { defaultTimeZone: 'UTC', defaultVisibility: 'private' });
  t.is(again.events[0]?.uid, once.events[0]?.uid);
  t.deepEqual(again.withoutClass, [again.events[0]?.uid]);

  t.throws(
    () =>
      importICalendar(text, {
        defaultTimeZone: 'UTC',
        defaultVisibility: 'secret' as 'busy',
      }),
    { message: /must be public, busy or private/ },
  );
});

test('an all-day event goes out as dates (VALUE=DATE), its rule, exceptions and changed occurrences with it, and imports back the same', (t) => {
  const ny = 'America/New_York';
  // Midnight in New York: 05:00 UTC in winter, 04:00 in summer.
  const nye = fromDraft('nye', {
    title: "New Year's Eve",
    start: at('2026-12-31T05:00:00Z'),
    end: at('2027-01-01T05:00:00Z'),
    timeZone: ny,
    reminders: [60],
  });
  // Three days over the change to summer time (8 March 2026): 71 hours, still three days.
  const trip = fromDraft('trip', {
    title: 'Trip',
    start: at('2026-03-07T05:00:00Z'),
    end: at('2026-03-10T04:00:00Z'),
    timeZone: ny,
  });
  // Every Sunday until 26 April, across the change; 5 April cancelled, 12 April moved to the
  // Saturday (still all day), 19 April made a timed brunch.
  const sundays = fromDraft('sundays', {
    title: 'Sundays',
    start: at('2026-03-01T05:00:00Z'),
    end: at('2026-03-02T05:00:00Z'),
    timeZone: ny,
    recurrence: 'FREQ=WEEKLY;BYDAY=SU;UNTIL=20260426',
    exceptions: [
      at('2026-04-05T04:00:00Z'),
      at('2026-04-12T04:00:00Z'),
      at('2026-04-19T04:00:00Z'),
    ],
    reminders: [15],
  });
  const moved = record({
    id: 'moved',
    title: 'Sundays (on Saturday)',
    start: at('2026-04-11T04:00:00Z'),
    end: at('2026-04-12T04:00:00Z'),
    timeZone: ny,
    detachedFrom: { seriesId: 'sundays', occurrenceStart: at('2026-04-12T04:00:00Z') },
  });
  const brunch = record({
    id: 'brunch',
    title: 'Brunch',
    start: at('2026-04-19T15:00:00Z'),
    end: at('2026-04-19T17:00:00Z'),
    timeZone: ny,
    detachedFrom: { seriesId: 'sundays', occurrenceStart: at('2026-04-19T04:00:00Z') },
  });
  // Not all day: from midnight to noon, and 24 hours from midnight over a change (to 01:00).
  const morning = fromDraft('morning', {
    title: 'Morning',
    start: at('2026-06-01T04:00:00Z'),
    end: at('2026-06-01T16:00:00Z'),
    timeZone: ny,
  });
  const day24 = fromDraft('day24', {
    title: '24 hours',
    start: at('2026-03-08T05:00:00Z'),
    end: at('2026-03-09T05:00:00Z'),
    timeZone: ny,
  });
  const records = [nye, trip, sundays, moved, brunch, morning, day24];
  const text = exportICalendar(records, { now }).replace(/\r\n[ \t]/g, '');
  // The VEVENT of `uid`: its series, or the changed occurrence whose RECURRENCE-ID is `of`.
  const vevent = (uid: string, of?: string) =>
    text
      .split(/(?=BEGIN:VEVENT\r\n)/)
      .find(
        (c) =>
          c.includes(`UID:${uid}\r\n`) &&
          (of === undefined ? !c.includes('RECURRENCE-ID') : c.includes(`RECURRENCE-ID${of}`)),
      ) ?? '';
  const has = (component: string, lines: string[]) => {
    for (const line of lines) t.true(component.includes(`\r\n${line}\r\n`), line);
  };
  has(vevent('nye'), ['DTSTART;VALUE=DATE:20261231', 'DTEND;VALUE=DATE:20270101', 'TRIGGER:-PT1H']);
  has(vevent('trip'), ['DTSTART;VALUE=DATE:20260307', 'DTEND;VALUE=DATE:20260310']);
  has(vevent('sundays'), [
    'DTSTART;VALUE=DATE:20260301',
    'DTEND;VALUE=DATE:20260302',
    'RRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20260426',
    'EXDATE;VALUE=DATE:20260405',
    'TRIGGER:-PT15M',
  ]);
  t.false(vevent('sundays').includes('EXDATE;VALUE=DATE:20260412'), 'moved, not cancelled');
  has(vevent('sundays', ';VALUE=DATE:20260412'), [
    'DTSTART;VALUE=DATE:20260411',
    'DTEND;VALUE=DATE:20260412',
  ]);
  // A timed changed occurrence of an all-day series still names its day.
  has(vevent('sundays', ';VALUE=DATE:20260419'), [
    'DTSTART;TZID=America/New_York:20260419T110000',
    'DTEND;TZID=America/New_York:20260419T130000',
  ]);
  has(vevent('morning'), [
    'DTSTART;TZID=America/New_York:20260601T000000',
    'DTEND;TZID=America/New_York:20260601T120000',
  ]);
  has(vevent('day24'), [
    'DTSTART;TZID=America/New_York:20260308T000000',
    'DTEND;TZID=America/New_York:20260309T010000',
  ]);
  t.false(/TZID=[^:\r\n]*:\d{8}T000000\r\nDTEND;TZID=[^:\r\n]*:\d{8}T000000\r\n/.test(text));

  // Read back in the event's zone: the same events, the changed occurrences the same ones.
  const back = importICalendar(text, { defaultTimeZone: ny });
  t.deepEqual(back.changed, []);
  const byUid = new Map(back.events.map((e) => [e.uid, e]));
  for (const original of [nye, trip, sundays, morning, day24]) {
    const { title, start, end, timeZone, recurrence, reminders } = original.event;
    const imported = byUid.get(original.event.id);
    if (imported === undefined) return t.fail(original.event.id);
    const details = validateEventDraft(imported.draft);
    // The occurrences changed come back as changed occurrences (below), not exceptions.
    const changedOnes = [moved, brunch].map((r) => r.event.detachedFrom?.occurrenceStart);
    t.deepEqual(
      [details.title, details.start, details.end, details.timeZone, details.recurrence],
      [
        title,
        start,
        end,
        timeZone,
        recurrence === null
          ? null
          : {
              ...recurrence,
              exceptions: recurrence.exceptions.filter((x) => !changedOnes.includes(x)),
            },
      ],
      original.event.id,
    );
    t.deepEqual(imported.draft.reminders ?? [], reminders ?? [], original.event.id);
  }
  t.deepEqual(
    byUid
      .get('sundays')
      ?.occurrences?.map((o) => [
        o.occurrenceStart,
        'draft' in o ? [o.draft.title, o.draft.start, o.draft.end, o.draft.timeZone] : 'cancelled',
      ]),
    [
      [
        at('2026-04-12T04:00:00Z'),
        ['Sundays (on Saturday)', moved.event.start, moved.event.end, ny],
      ],
      [at('2026-04-19T04:00:00Z'), ['Brunch', brunch.event.start, brunch.event.end, ny]],
    ],
  );
  // Read in another zone, the dates stay the dates (what a floating date means).
  const madrid = importICalendar(text, { defaultTimeZone: 'Europe/Madrid' });
  const inMadrid = madrid.events.find((e) => e.uid === 'nye')?.draft;
  t.deepEqual(
    [inMadrid?.start, inMadrid?.end, inMadrid?.timeZone],
    [at('2026-12-30T23:00:00Z'), at('2026-12-31T23:00:00Z'), 'Europe/Madrid'],
  );
});

test('a DTEND that is a date where DTSTART is a date and time, or the reverse, is refused with why (RFC 5545 §3.6.1)', (t) => {
  const vevent = (uid: string, start: string, end: string) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20250101T000000Z',
    start,
    end,
    'SUMMARY:mixed',
    'END:VEVENT',
  ];
  const { events, skipped } = importICalendar(
    calendarOf(
      ...vevent('date-then-time', 'DTSTART;VALUE=DATE:20250310', 'DTEND:20250310T120000Z'),
      ...vevent(
        'time-then-date',
        'DTSTART;TZID=Europe/Berlin:20250310T090000',
        'DTEND;VALUE=DATE:20250311',
      ),
      ...vevent('both-dates', 'DTSTART;VALUE=DATE:20250310', 'DTEND;VALUE=DATE:20250311'),
    ),
    { defaultTimeZone: 'Europe/Berlin' },
  );
  t.deepEqual(
    events.map((e) => e.uid),
    ['both-dates'],
  );
  t.deepEqual(
    skipped.map((s) => [s.uid, s.reason]),
    [
      [
        'date-then-time',
        'its end (DTEND) is a date and time and its start (DTSTART) a date: both must be dates (an all-day event) or both dates and times',
      ],
      [
        'time-then-date',
        'its end (DTEND) is a date and its start (DTSTART) a date and time: both must be dates (an all-day event) or both dates and times',
      ],
    ],
  );
});

test('an all-day series whose first midnight the clocks skip stays all day: every occurrence from its midnight, out as dates (outside attack item 4)', (t) => {
  // Sao Paulo went from 00:00 (-03) to 01:00 (-02) on 4 November 2018, and kept -03 from 2019.
  const { events } = importICalendar(
    calendarOf(
      'BEGIN:VEVENT',
      'UID:birthday',
      'DTSTAMP:20180101T000000Z',
      'DTSTART;VALUE=DATE:20181104',
      'DTEND;VALUE=DATE:20181105',
      'RRULE:FREQ=YEARLY',
      'SUMMARY:Birthday',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:one-day',
      'DTSTAMP:20180101T000000Z',
      'DTSTART;VALUE=DATE:20181104',
      'SUMMARY:Moving day',
      'END:VEVENT',
    ),
    { defaultTimeZone: 'America/Sao_Paulo' },
  );
  const [series, oneDay] = events.map((e) => fromDraft(e.uid ?? '', e.draft));
  if (series === undefined || oneDay === undefined) return t.fail('both events imported');
  t.deepEqual(
    expandOccurrences(
      { ...series.event, recurrence: series.event.recurrence },
      { start: at('2018-01-01T00:00:00Z'), end: at('2020-12-31T00:00:00Z') },
    ).map((o) => [new Date(o.start).toISOString(), new Date(o.end).toISOString()]),
    [
      ['2018-11-04T03:00:00.000Z', '2018-11-05T02:00:00.000Z'], // the day is 23 hours
      ['2019-11-04T03:00:00.000Z', '2019-11-05T03:00:00.000Z'],
      ['2020-11-04T03:00:00.000Z', '2020-11-05T03:00:00.000Z'],
    ],
  );
  t.is(oneDay.event.end - oneDay.event.start, 23 * 3_600_000);
  const text = exportICalendar([series, oneDay], { now }).replace(/\r\n[ \t]/g, '');
  t.is(text.match(/DTSTART;VALUE=DATE:20181104\r\n/g)?.length, 2);
  t.is(text.match(/DTEND;VALUE=DATE:20181105\r\n/g)?.length, 2);
  t.notRegex(text, /DTSTART;TZID/);
});
