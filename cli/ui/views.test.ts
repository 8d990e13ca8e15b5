import test from 'ava';
import { DateTime } from 'luxon';
import { displayWidth, loadDisplayWidths } from '../../base/table.js';
import { eventDetails, eventView } from '../test/support/fixtures.js';
import { createPalette } from './palette.js';
import { renderEventDetails, renderEvents } from './views.js';
import type { ViewContext } from './views.js';

// What measures text beyond ASCII loads on demand (base/table.ts); a command awaits it.
test.before(() => loadDisplayWidths());

const EVENTS = [
  eventView({ id: 'e1', title: '取締役会と四半期の業績見通しの確認', group: 'board' }),
  eventView({ id: 'e2', title: 'Retro 🎯 with the whole platform team', organizer: 'bob' }),
];

function context(width?: number): ViewContext {
  return {
    zone: 'UTC',
    now: DateTime.fromISO('2026-03-01T12:00:00Z', { zone: 'UTC' }),
    palette: createPalette(false),
    width,
  };
}

test('a wide title keeps the columns after it aligned', (t) => {
  const lines = renderEvents(EVENTS, context(), 'none').split('\n');
  const organizer = displayWidth((lines[0] ?? '').slice(0, (lines[0] ?? '').indexOf('ORGANIZER')));
  for (const line of lines.slice(1)) {
    const before = line.slice(0, line.search(/alice|bob/));
    t.is(displayWidth(before), organizer, line);
  }
});

test("the terminal's width cuts titles with an ellipsis; ids and times stay whole", (t) => {
  const lines = renderEvents(EVENTS, context(90), 'none').split('\n');
  t.true(
    lines.every((line) => displayWidth(line) <= 90),
    lines.join('\n'),
  );
  t.regex(lines[1] ?? '', /取締役会.*…\s.*e1$/);
  t.regex(lines[2] ?? '', /Retro 🎯.*…\s.*e2$/);
  t.regex(lines[1] ?? '', /Mon 2 Mar 09:00–09:15/);

  const piped = renderEvents(EVENTS, context(), 'none');
  t.true(piped.includes('Retro 🎯 with the whole platform team'), 'off a terminal nothing is cut');
});

test('a narrow terminal leaves out the columns an event list can do without, then cuts titles', (t) => {
  const conflicting = [...EVENTS, eventView({ id: 'e3', title: 'Dentist', conflict: true })];
  const header = (width: number) =>
    renderEvents(conflicting, context(width), 'none').split('\n')[0];
  t.is(
    header(105),
    ' #  WHEN                   STARTS   TITLE                     STATUS     CONFLICT    ORGANIZER  GROUP  ID',
  );
  // `#n` names an event as its id does, and `event show` tells the rest; a conflict stays.
  t.regex(header(80) ?? '', /^ # {2}WHEN +STARTS +TITLE +STATUS +CONFLICT +ORGANIZER$/);
  t.regex(header(60) ?? '', /^ # {2}WHEN +TITLE +STATUS +CONFLICT$/);
  const at40 = renderEvents(conflicting, context(40), 'none').split('\n');
  t.regex(at40[0] ?? '', /^ # {2}WHEN +TITLE +CONFLICT$/);
  t.regex(at40[3] ?? '', /^#3 .*Dent… +⚠ conflict$/);
  // At 40 the time, a title's first cells and the conflict take 44: as narrow as it goes.
  t.is(displayWidth(at40[3] ?? ''), 44);
  for (const width of [60, 80]) {
    const lines = renderEvents(conflicting, context(width), 'none').split('\n');
    t.true(
      lines.every((line) => displayWidth(line) <= width),
      lines.join('\n'),
    );
  }
  // Without conflicts their column goes too.
  t.regex(renderEvents(EVENTS, context(40), 'none').split('\n')[0] ?? '', /^ # {2}WHEN +TITLE$/);
});

test("a description's lines stay under its value: none can pass for a field of the event", (t) => {
  const event = eventDetails({
    description: 'Agenda:\norganizer  mallory\nstatus  accepted\u001b[2J',
  });
  const lines = renderEventDetails(event, context()).split('\n');
  const at = lines.findIndex((line) => line.includes('Agenda:'));
  t.true(at > 0);
  const indent = (lines[at] ?? '').indexOf('Agenda:');
  t.is(lines[at + 1], `${' '.repeat(indent)}organizer  mallory`);
  t.is(lines[at + 2], `${' '.repeat(indent)}status  accepted\\u001b[2J`);
});
