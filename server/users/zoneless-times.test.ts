/**
 * Which CalDAV objects have the zone of the event at their name looked up before they are
 * parsed (`namesNoZone`, ./users-service.ts): those holding a date or a floating date-time
 * in a DTSTART, DTEND, RECURRENCE-ID, EXDATE or RDATE, however the line is written — folded
 * inside its parameters, in lower case, as a list — and no others, at any size.
 */
import test from 'ava';
import { namesNoZone } from './users-service.js';

const wrap = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:x', ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join(
    '\r\n',
  );

test('dates and floating times name no zone, whatever the spelling', (t) => {
  for (const line of [
    'DTSTART;VALUE=DATE:20261224',
    'dtstart;value=date:20261224',
    'DTSTART;X-APPLE-FLAG=1;VALUE=DATE:20261224',
    'DTSTART;VAL\r\n UE=DATE:20261224',
    'DTSTART:20261224',
    'DTSTART:20261224T100000',
    'DTEND:20261224T100000',
    'RECURRENCE-ID;VALUE=DATE:20261224',
    'EXDATE;VALUE=DATE:20261224,20261231',
    'EXDATE:20261224T100000Z,20261231T100000',
    'RDATE:20261224',
  ]) {
    t.true(namesNoZone(wrap('DTSTAMP:20261201T100000Z', line)), JSON.stringify(line));
  }
});

test('times in UTC or with a TZID, and look-alikes elsewhere, name their zone', (t) => {
  for (const line of [
    'DTSTART:20261224T100000Z',
    'DTSTART;TZID=Europe/Madrid:20261224T100000',
    'DTSTART;TZID=Europe/Madrid;VALUE=DATE-TIME:20261224T100000',
    'DTSTART;VALUE=DATE-TIME:20261224T100000Z',
    'EXDATE;TZID=America/New_York:20261224T100000,20261231T100000',
    'DESCRIPTION:DTSTART:20261224 is when it starts',
    'X-DTSTART:20261224',
    'DTSTAMP:20261224T100000',
    'LAST-MODIFIED:20261224T100000',
  ]) {
    t.false(namesNoZone(wrap('DTSTART:20261201T100000Z', line)), JSON.stringify(line));
  }
});

test('the largest object a PUT may carry is looked at in one pass', (t) => {
  // 4,000 UTC exceptions and a description of 1 MB: nothing names no zone, and no line is
  // read twice (a backtracking pattern would take seconds here).
  const exdates = Array.from(
    { length: 4_000 },
    (_, i) => `EXDATE:2026${String((i % 12) + 1).padStart(2, '0')}01T100000Z`,
  );
  const text = wrap('DTSTART:20261201T100000Z', ...exdates, `DESCRIPTION:${'x;'.repeat(500_000)}`);
  const started = performance.now();
  t.false(namesNoZone(text));
  t.true(namesNoZone(`${text.replace('END:VEVENT', 'RDATE;VALUE=DATE:20270101\r\nEND:VEVENT')}`));
  t.log(`${Math.round(performance.now() - started)} ms for ${text.length} characters`);
});
