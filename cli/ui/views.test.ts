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
