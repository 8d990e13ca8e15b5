/**
 * The splitter on the shapes real calendar apps write (the fixtures are ours, written in
 * the shape of Google Calendar, Outlook/Exchange, Apple Calendar and Thunderbird exports):
 * whatever the file, the requests together import exactly what the whole file would.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { importICalendar } from '../../server/domain/icalendar.js';
import { InvalidInput } from '../../contract/errors.js';
import { splitCalendar } from '../../cli/import/split-calendar.js';
import type { SplitCalendar } from '../../cli/import/split-calendar.js';

const CRLF = '\r\n';

/** Google Calendar: header with X-WR-*, one VTIMEZONE, overrides far from their series, folded text. */
function googleExport(series: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'PRODID:-//Google Inc//Google Calendar 70.9054//EN',
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'X-WR-CALNAME:Work',
    'X-WR-TIMEZONE:Europe/Madrid',
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Madrid',
    'X-LIC-LOCATION:Europe/Madrid',
    'BEGIN:DAYLIGHT',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'TZNAME:CEST',
    'DTSTART:19700329T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
    'END:DAYLIGHT',
    'BEGIN:STANDARD',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'TZNAME:CET',
    'DTSTART:19701025T030000',
    'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
    'END:STANDARD',
    'END:VTIMEZONE',
  ];
  for (let i = 0; i < series; i++) {
    const day = String(1 + (i % 24)).padStart(2, '0');
    lines.push(
      'BEGIN:VEVENT',
      `DTSTART;TZID=Europe/Madrid:202503${day}T${String(8 + (i % 9)).padStart(2, '0')}0000`,
      `DTEND;TZID=Europe/Madrid:202503${day}T${String(8 + (i % 9)).padStart(2, '0')}3000`,
      'RRULE:FREQ=WEEKLY;BYDAY=' + ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][i % 7],
      `EXDATE;TZID=Europe/Madrid:202504${day}T${String(8 + (i % 9)).padStart(2, '0')}0000`,
      'DTSTAMP:20250301T101500Z',
      `UID:${i}abc7s9q2lrm1v0g8h4k3n5p6@google.com`,
      'CREATED:20250101T090000Z',
      // Google folds at 75 octets, wherever that falls.
      `DESCRIPTION:Weekly meeting number ${i}\\nAgenda: status\\, blockers\\, next st`,
      ' eps. Join at https://meet.example.com/abc-defg-hij and bring the quarterly',
      '  numbers.',
      'LAST-MODIFIED:20250301T101500Z',
      'SEQUENCE:0',
      'STATUS:CONFIRMED',
      `SUMMARY:Sync ${i}`,
      'TRANSP:OPAQUE',
      'END:VEVENT',
    );
  }
  // Google lists changed occurrences after the series, not next to them.
  for (let i = 0; i < series; i += 3) {
    // A week after the series starts, still in March (the generator once made March 32–35).
    const day = String(1 + (i % 24) + 7).padStart(2, '0');
    lines.push(
      'BEGIN:VEVENT',
      `DTSTART;TZID=Europe/Madrid:202503${day}T180000`,
      `DTEND;TZID=Europe/Madrid:202503${day}T183000`,
      'DTSTAMP:20250301T101500Z',
      `UID:${i}abc7s9q2lrm1v0g8h4k3n5p6@google.com`,
      `RECURRENCE-ID;TZID=Europe/Madrid:202503${day}T${String(8 + (i % 9)).padStart(2, '0')}0000`,
      `SUMMARY:Sync ${i} (moved)`,
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.join(CRLF) + CRLF;
}

/** Outlook/Exchange: Windows zone names defined in the file, CDO properties, mid-word folds. */
function outlookExport(events: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'METHOD:PUBLISH',
    'PRODID:Microsoft Exchange Server 2010',
    'VERSION:2.0',
    'X-WR-CALNAME:Calendar',
    'BEGIN:VTIMEZONE',
    'TZID:W. Europe Standard Time',
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
    'BEGIN:VTIMEZONE',
    'TZID:Pacific Standard Time',
    'BEGIN:STANDARD',
    'DTSTART:16010101T020000',
    'TZOFFSETFROM:-0700',
    'TZOFFSETTO:-0800',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11',
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:16010101T020000',
    'TZOFFSETFROM:-0800',
    'TZOFFSETTO:-0700',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3',
    'END:DAYLIGHT',
    'END:VTIMEZONE',
  ];
  for (let i = 0; i < events; i++) {
    const zone = i % 4 === 0 ? 'Pacific Standard Time' : 'W. Europe Standard Time';
    const day = String(1 + (i % 24)).padStart(2, '0');
    lines.push(
      'BEGIN:VEVENT',
      'ORGANIZER;CN=Adele Vance:MAILTO:adele@contoso.example',
      'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Megan Bo',
      ' wen:MAILTO:megan@contoso.example',
      'DESCRIPTION;LANGUAGE=en-US:Review of the docs\\n',
      `UID:040000008200E00074C5B7101A82E0080000000000000000100000000${String(i).padStart(6, '0')}`,
      `SUMMARY;LANGUAGE=en-US:Review ${i}`,
      `DTSTART;TZID=${zone}:202506${day}T140000`,
      `DTEND;TZID=${zone}:202506${day}T150000`,
      'CLASS:PUBLIC',
      'PRIORITY:5',
      'DTSTAMP:20250409T211833Z',
      'TRANSP:OPAQUE',
      'STATUS:CONFIRMED',
      'SEQUENCE:0',
      'LOCATION;LANGUAGE=en-US:Conf Room 4',
      'X-MICROSOFT-CDO-APPT-SEQUENCE:0',
      'X-MICROSOFT-CDO-BUSYSTATUS:BUSY',
      'X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY',
      'X-MICROSOFT-CDO-ALLDAYEVENT:FALSE',
      'X-MICROSOFT-CDO-IMPORTANCE:1',
      'X-MICROSOFT-CDO-INSTTYPE:0',
      'BEGIN:VALARM',
      'DESCRIPTION:REMINDER',
      'TRIGGER;RELATED=START:-PT15M',
      'ACTION:DISPLAY',
      'END:VALARM',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.join(CRLF) + CRLF;
}

/** Apple Calendar: yearly all-day series, alarms with UIDs of their own, LF line ends. */
function appleExport(birthdays: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Apple Inc.//macOS 14.5//EN',
    'CALSCALE:GREGORIAN',
    'X-WR-CALNAME:Birthdays and anniversaries',
  ];
  for (let i = 0; i < birthdays; i++) {
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 27)).padStart(2, '0');
    lines.push(
      'BEGIN:VEVENT',
      'CREATED:20190102T120000Z',
      `UID:8D1C${String(i).padStart(4, '0')}-6F2B-4C2E-9A57-3B0E2C1D4E5F`,
      'RRULE:FREQ=YEARLY',
      `DTEND;VALUE=DATE:2025${month}${String(Number(day) + 1).padStart(2, '0')}`,
      'TRANSP:TRANSPARENT',
      'X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC',
      `SUMMARY:Birthday of person ${i}`,
      'LAST-MODIFIED:20240408T100539Z',
      'DTSTAMP:20240424T062905Z',
      `DTSTART;VALUE=DATE:2025${month}${day}`,
      'SEQUENCE:0',
      'BEGIN:VALARM',
      `X-WR-ALARMUID:A1B2${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`,
      `UID:A1B2${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`,
      'TRIGGER:-PT15H',
      'ATTACH;VALUE=URI:Chord',
      'ACTION:AUDIO',
      'X-APPLE-DEFAULT-ALARM:TRUE',
      'END:VALARM',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.join('\n') + '\n';
}

/** Thunderbird: blank lines between components, X-MOZ-*, two versions of one UID. */
function thunderbirdExport(events: number): string {
  const blocks = [
    [
      'BEGIN:VCALENDAR',
      'PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN',
      'VERSION:2.0',
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Berlin',
      'BEGIN:DAYLIGHT',
      'TZOFFSETFROM:+0100',
      'TZOFFSETTO:+0200',
      'TZNAME:CEST',
      'DTSTART:19700329T020000',
      'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3',
      'END:DAYLIGHT',
      'BEGIN:STANDARD',
      'TZOFFSETFROM:+0200',
      'TZOFFSETTO:+0100',
      'TZNAME:CET',
      'DTSTART:19701025T030000',
      'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
      'END:STANDARD',
      'END:VTIMEZONE',
    ].join(CRLF),
  ];
  for (let i = 0; i < events; i++) {
    const day = String(1 + (i % 24)).padStart(2, '0');
    blocks.push(
      [
        'BEGIN:VEVENT',
        'CREATED:20180722T150246Z',
        'LAST-MODIFIED:20180722T150313Z',
        'DTSTAMP:20180722T150313Z',
        `UID:6b6a242f-2041-485f-a527-${String(i).padStart(12, '0')}`,
        `SUMMARY:Stammtisch ${i}`,
        `DTSTART;TZID=Europe/Berlin:201808${day}T190000`,
        `DTEND;TZID=Europe/Berlin:201808${day}T230000`,
        'TRANSP:OPAQUE',
        'X-MOZ-GENERATION:1',
        'END:VEVENT',
      ].join(CRLF),
    );
  }
  // The same UID again, a later version, far down the file.
  blocks.push(
    [
      'BEGIN:VEVENT',
      'UID:6b6a242f-2041-485f-a527-000000000000',
      'SUMMARY:Stammtisch 0 (new place)',
      'DTSTART;TZID=Europe/Berlin:20180801T200000',
      'DTEND;TZID=Europe/Berlin:20180801T230000',
      'X-MOZ-GENERATION:3',
      'SEQUENCE:1',
      'END:VEVENT',
    ].join(CRLF),
    'BEGIN:VTODO\r\nUID:todo-1\r\nSUMMARY:Buy seed potatoes\r\nEND:VTODO',
    'END:VCALENDAR',
  );
  return blocks.join(CRLF + CRLF) + CRLF;
}

const LIMITS = { maxEvents: 7, maxBytes: 64 * 1024 };

/** What a text imports as: drafts by UID (in UID order), and what is skipped. */
function readAs(text: string, zone = 'UTC') {
  const { events, skipped } = importICalendar(text, { defaultTimeZone: zone });
  return {
    events: new Map(
      [...events].sort((a, b) => (a.uid < b.uid ? -1 : 1)).map((e) => [e.uid, e.draft] as const),
    ),
    skipped: skipped.map((s) => `${s.component} ${s.uid ?? ''}: ${s.reason}`).sort(),
  };
}

/** The requests of `split` read one by one, put together. */
function readChunks(split: SplitCalendar, zone = 'UTC') {
  const events = new Map<string, unknown>();
  const skipped: string[] = [];
  for (const chunk of split.chunks) {
    const read = readAs(chunk.text, zone);
    for (const [uid, draft] of read.events) {
      if (events.has(uid)) throw new Error(`${uid} came in two requests`);
      events.set(uid, draft);
    }
    skipped.push(...read.skipped);
  }
  return {
    events: new Map([...events].sort(([a], [b]) => (a < b ? -1 : 1))),
    skipped: skipped.sort(),
  };
}

function assertWithinLimits(t: ExecutionContext, split: SplitCalendar): void {
  for (const chunk of split.chunks) {
    t.true(chunk.events <= LIMITS.maxEvents);
    t.true(Buffer.byteLength(chunk.text) <= LIMITS.maxBytes);
  }
}

const EXPORTS = [
  { name: 'Google', text: googleExport(30), zone: 'Europe/Madrid' },
  { name: 'Outlook', text: outlookExport(25), zone: 'UTC' },
  { name: 'Apple', text: appleExport(40), zone: 'Europe/Madrid' },
  { name: 'Thunderbird', text: thunderbirdExport(30), zone: 'Europe/Berlin' },
];

for (const { name, text, zone } of EXPORTS) {
  test(`a ${name} export: the requests import exactly what the whole file imports`, (t) => {
    const split = splitCalendar(text, LIMITS);
    t.true(split.chunks.length > 3);
    assertWithinLimits(t, split);
    t.deepEqual(split.tooBig, []);
    t.is(
      split.chunks.reduce((sum, c) => sum + c.events, 0),
      split.events,
    );
    t.deepEqual(readChunks(split, zone), readAs(text, zone));
  });
}

test('every request carries the calendar header and all its VTIMEZONEs; folded lines go out intact', (t) => {
  const text = outlookExport(25);
  const split = splitCalendar(text, LIMITS);
  for (const chunk of split.chunks) {
    t.true(chunk.text.startsWith('BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nPRODID:Microsoft Exchange'));
    t.regex(chunk.text, /X-WR-CALNAME:Calendar\r\n/);
    t.is(chunk.text.match(/BEGIN:VTIMEZONE/g)?.length, 2);
    t.regex(chunk.text, /CN=Megan Bo\r\n wen:MAILTO/);
    t.true(chunk.text.endsWith('END:VCALENDAR\r\n'));
    t.false(/[^\r]\n/.test(chunk.text));
  }
});

test('a series and its changed occurrences travel together, however far apart the file has them', (t) => {
  const text = googleExport(30);
  const split = splitCalendar(text, LIMITS);
  for (const chunk of split.chunks) {
    const overrides = [...chunk.text.matchAll(/UID:(\S+)\r\nRECURRENCE-ID/g)].map((m) => m[1]);
    for (const uid of overrides) {
      t.true(chunk.text.includes(`UID:${uid}\r\nCREATED`), `${uid} without its series`);
    }
  }
  // Overrides are not events of their own: 30 series, 30 events.
  t.is(split.events, 30);
});

test('an alarm inside an event has a UID of its own: it does not name the event', (t) => {
  const split = splitCalendar(appleExport(40), LIMITS);
  const uids = split.chunks.flatMap((c) => c.uids);
  t.is(uids.length, 40);
  t.true(uids.every((uid) => uid.startsWith('8D1C')));
});

test('two versions of one UID go in one request, so the server keeps the newer', (t) => {
  const split = splitCalendar(thunderbirdExport(20), LIMITS);
  const holding = split.chunks.filter((c) =>
    c.text.includes('UID:6b6a242f-2041-485f-a527-000000000000'),
  );
  t.is(holding.length, 1);
  t.is(holding[0]?.text.match(/UID:6b6a242f-2041-485f-a527-000000000000/g)?.length, 2);
  const { events } = readChunks(split, 'Europe/Berlin');
  t.like(events.get('6b6a242f-2041-485f-a527-000000000000'), {
    title: 'Stammtisch 0 (new place)',
  });
});

test('LF, CRLF and CR line ends and a byte-order mark split alike', (t) => {
  const crlf = outlookExport(25);
  const expected = readAs(crlf);
  for (const text of [
    crlf.replaceAll('\r\n', '\n'),
    crlf.replaceAll('\r\n', '\r'),
    `\uFEFF${crlf}`,
  ]) {
    const split = splitCalendar(text, LIMITS);
    assertWithinLimits(t, split);
    t.deepEqual(readChunks(split), expected);
  }
});

test('several VCALENDARs in one file: each request names the calendars it draws from', (t) => {
  const text = googleExport(10) + appleExport(10).replaceAll('\n', '\r\n');
  const split = splitCalendar(text, LIMITS);
  assertWithinLimits(t, split);
  t.deepEqual(readChunks(split, 'Europe/Madrid'), readAs(text, 'Europe/Madrid'));
  const mixed = split.chunks.find((c) => c.text.match(/BEGIN:VCALENDAR/g)?.length === 2);
  t.truthy(mixed, 'the request at the seam carries both calendars');
  t.regex(mixed?.text ?? '', /PRODID:-\/\/Apple Inc/);
});

test('a file that fits one request is sent as it is, byte for byte', (t) => {
  const text = appleExport(5);
  const split = splitCalendar(text);
  t.is(split.chunks.length, 1);
  t.is(split.chunks[0]?.text, text);
  t.is(split.events, 5);
});

test('the byte limit is kept too, and an event no request can carry is set aside', (t) => {
  const text = outlookExport(25).replace(
    'SUMMARY;LANGUAGE=en-US:Review 3\r\n',
    `SUMMARY;LANGUAGE=en-US:Review 3\r\nATTACH;ENCODING=BASE64;VALUE=BINARY:${'QUJD'.repeat(19)}\r\n${` ${'QUJD'.repeat(18)}\r\n`.repeat(2000)}`,
  );
  const split = splitCalendar(text, LIMITS);
  assertWithinLimits(t, split);
  t.deepEqual(
    split.tooBig.map((b) => b.uid),
    ['040000008200E00074C5B7101A82E0080000000000000000100000000000003'],
  );
  t.is(split.events, 25);
  t.is(readChunks(split).events.size, 24);
});

test('a big file that is not well-formed is refused, naming the line', (t) => {
  const broken = outlookExport(25).replace('END:VALARM\r\nEND:VEVENT', 'END:VEVENT\r\nEND:VALARM');
  const error = t.throws(() => splitCalendar(broken, { maxEvents: 7, maxBytes: 8 * 1024 }), {
    instanceOf: InvalidInput,
  });
  t.regex(error?.message ?? '', /line \d+: END:VEVENT closes BEGIN:VALARM/);
  // One that fits a request goes as it is: the server explains what is wrong with it.
  t.is(splitCalendar('hello').chunks[0]?.text, 'hello');
});
