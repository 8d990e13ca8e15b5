/**
 * What is wrong with one component of a file costs that component alone (issue 15, outside
 * attack): an impossible date in one event's rule, or a conflict, used to refuse the whole
 * request — up to 200 events of a big file, every one of them blamed. Also time zone
 * definitions with offsets no zone has, and files with old Mac line ends or in Outlook's
 * Windows-1252.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { DateTime } from 'luxon';
import { decodeCalendarFile } from '../../cli/import/decode-calendar.js';
import { importICalendar } from '../../server/domain/index.js';
import { at } from '../../server/store/test-support.js';
import { aliceAlone, fixture, importText, listed } from './support.js';

test('Thunderbird: an event whose rule has an impossible UNTIL is skipped naming its line, one that conflicts fails alone, the others are imported', async (t) => {
  const c = await aliceAlone();
  c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Call', start: at('2025-03-05T09:30:00Z'), end: at('2025-03-05T10:30:00Z') },
  });
  const { parsed, outcome } = importText(c, fixture('thunderbird-one-bad-event.ics'), 'UTC');
  t.deepEqual(
    parsed.skipped.map((s) => [s.uid, s.summary, s.reason]),
    [
      [
        '7a9e3b21-choir',
        'Choir',
        'line 37: RRULE UNTIL 20251345T000000Z is not a real date or time (there is no month 13)',
      ],
    ],
  );
  t.deepEqual(
    outcome.events.map((e) => [e.uid, e.action]),
    [
      ['2f6c1d0e-standup', 'created'],
      ['e81f0c3b-lunch', 'created'],
    ],
  );
  t.deepEqual(
    outcome.failed.map((f) => [f.index, f.uid, f.error.code]),
    [[1, 'c04d58aa-dentist', 'conflict']],
  );
  t.regex(outcome.failed[0]?.error.message ?? '', /Call/);
  t.deepEqual(
    listed(c, '2025-03-01T00:00:00Z', '2025-03-08T00:00:00Z').map(([, title]) => title),
    ['Standup', 'Call', 'Lunch with Ana'],
  );
});

test('Outlook: a zone defined with an offset of 99 hours, or a malformed one, skips the events in it saying why; the others are imported', (t) => {
  const { events, skipped } = importICalendar(fixture('outlook-customized-zone-bad-offsets.ics'), {
    defaultTimeZone: 'UTC',
  });
  t.deepEqual(
    events.map((e) => [e.draft.title, e.draft.start, e.draft.timeZone]),
    [['Team meeting', at('2025-06-06T07:00:00Z'), 'Europe/Berlin']],
  );
  t.deepEqual(
    skipped.map((s) => [s.summary, s.reason]),
    [
      [
        'Vendor call',
        'the file\'s definition of its time zone "Customized Time Zone" cannot be used: line 10: TZOFFSETFROM +9900 is not a UTC offset (it is 99 hours from UTC, more than the 18 any offset may be)',
      ],
      [
        'Partner sync',
        'the file\'s definition of its time zone "Customized Time Zone 1" cannot be used: line 24: TZOFFSETFROM +01 is not a UTC offset (it is not of the form +HHMM or -HHMM)',
      ],
    ],
  );
});

test("offsets of today's zones (-12:00 to +14:00) are placed; beyond, up to ±18:00, refused as unplaceable; beyond that, or malformed, not offsets", (t) => {
  const eventIn = (offset: string) =>
    importICalendar(
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Tests//EN',
        'BEGIN:VTIMEZONE',
        'TZID:Far',
        'BEGIN:STANDARD',
        'DTSTART:19700101T000000',
        `TZOFFSETFROM:${offset}`,
        `TZOFFSETTO:${offset}`,
        'END:STANDARD',
        'END:VTIMEZONE',
        'BEGIN:VEVENT',
        'UID:far',
        'DTSTART;TZID=Far:20250601T120000',
        'DURATION:PT1H',
        'SUMMARY:Far away',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
      { defaultTimeZone: 'UTC' },
    );
  t.is(eventIn('+1400').events[0]?.draft.start, at('2025-06-01T12:00:00+14:00'));
  t.is(eventIn('-1200').events[0]?.draft.start, at('2025-06-01T12:00:00-12:00'));
  t.is(eventIn('+0545').events[0]?.draft.start, at('2025-06-01T12:00:00+05:45'));
  for (const [offset, why] of [
    // ical.js read +18:00 as -09:00: nine hours early, a day off.
    ['+1800', /beyond the offsets of today's zones/],
    ['-1201', /beyond the offsets of today's zones/],
    ['+1801', /18 hours from UTC, more than the 18 any offset may be/],
    ['-9900', /99 hours/],
    ['+0160', /past 59/],
    ['+1:00', /not of the form/],
    ['UTC', /not of the form/],
  ] as const) {
    const { events, skipped } = eventIn(offset);
    t.deepEqual(events, [], offset);
    t.regex(skipped[0]?.reason ?? '', why, offset);
  }
});

test('iCal 1.5 on Mac OS: CR line ends alone are read as line ends, folded lines and escapes too', (t) => {
  const text = fixture('ical-1.5-cr-line-ends.ics');
  t.false(text.includes('\n'), 'the fixture has CR line ends only');
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => [e.draft.title, e.draft.location, e.draft.description, e.draft.recurrence]),
    [
      [
        'Piano lesson',
        '12 rue des Lilas, Paris',
        'Bring the Czerny book and the metronome; practise the scales before.',
        'FREQ=WEEKLY;BYDAY=MO',
      ],
      ['Bastille Day', '', '', null],
    ],
  );
  t.is(
    DateTime.fromMillis(events[0]?.draft.start ?? 0, { zone: 'Europe/Paris' }).toISO(),
    '2025-07-07T18:30:00.000+02:00',
  );
});

test('Outlook in Windows-1252: read as such, é, ü, € and smart quotes come through; UTF-8 and UTF-16 files are read as they are', (t) => {
  const bytes = readFileSync(new URL('../fixtures/ics/outlook-windows-1252.ics', import.meta.url));
  t.true(bytes.includes(0x80), 'the euro sign is the byte 0x80');
  const decoded = decodeCalendarFile(bytes);
  t.is(decoded.encoding, 'windows-1252');
  const { events, skipped } = importICalendar(decoded.text, { defaultTimeZone: 'UTC' });
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => [e.draft.title, e.draft.location, e.draft.description]),
    [
      [
        'Réunion “Budget” über Köln',
        'Salle « Zürich »',
        'Budget 2026 – 1 200 € par équipe\nMerci, Jürgen',
      ],
    ],
  );

  // The same text as UTF-8, with and without a byte-order mark, and as UTF-16 both ways.
  const text = decoded.text;
  const utf8 = Buffer.from(text, 'utf8');
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const be = Buffer.from(le);
  be.swap16();
  for (const [name, file, encoding] of [
    ['UTF-8', utf8, 'utf-8'],
    ['UTF-8 with a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]), 'utf-8'],
    ['UTF-16 LE', le, 'utf-16le'],
    ['UTF-16 BE', be, 'utf-16be'],
  ] as const) {
    t.deepEqual(decodeCalendarFile(file), { text, encoding }, name);
  }
});
