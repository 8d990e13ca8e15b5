import test from 'ava';
import { DateTime } from 'luxon';
import { displayWidth, loadDisplayWidths } from '../../base/table.js';
import { eventDetails, eventView } from '../test/support/fixtures.js';
import { createPalette } from './palette.js';
import { formatSpan, renderEventDetails, renderEvents } from './views.js';
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

test("the terminal's width cuts titles with an ellipsis, after the id made room for them; times stay whole", (t) => {
  const lines = renderEvents(EVENTS, context(90), 'none').split('\n');
  t.true(
    lines.every((line) => displayWidth(line) <= 90),
    lines.join('\n'),
  );
  // Outside attack 14: the title gets 24 cells before the id keeps its column.
  t.regex(lines[1] ?? '', /取締役会と四半期の業績見… {2}confirmed {2}alice {6}board$/);
  t.regex(lines[2] ?? '', /Retro 🎯 with the whole … {2}confirmed {2}bob$/);
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
  // The title keeps 24 cells at least while a column can go (outside attack 14).
  t.regex(header(80) ?? '', /^ # {2}WHEN {19}TITLE {27}STATUS +CONFLICT$/);
  // Without STATUS the titles carry its marks (outside attack 8).
  t.regex(header(60) ?? '', /^ # {2}WHEN +TITLE +CONFLICT$/);
  t.regex(header(50) ?? '', /^ # {2}WHEN +TITLE +CONFLICT$/);
  // At 40 the time, a title's first cells and the conflict would take 44: no table then,
  // but the events by day (see below), the conflict marked.
  const at40 = renderEvents(conflicting, context(40), 'none').split('\n');
  t.deepEqual(at40.slice(0, 2), [
    'Tomorrow, Mon 2 Mar',
    '#1  09:00  取締役会と四半期の業績見通し…',
  ]);
  t.is(at40[3], '#3  09:00  ! Dentist');
  for (const width of [40, 50, 60, 80]) {
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

/** Events with wide titles and every marker, over three days and next year. */
const NARROW_CASES = [
  eventView({ id: 'e1', title: '取締役会と四半期の業績見通しの確認', group: 'board' }),
  eventView({
    id: 'e2',
    title: 'Retro 🎯 with the whole platform team',
    start: '2026-03-02T14:00:00Z',
    end: '2026-03-02T15:00:00Z',
    organizer: 'bob',
    myStatus: 'pending',
    recurrence: 'FREQ=WEEKLY',
  }),
  eventView({
    id: 'e3',
    title: 'Dentist',
    start: '2026-03-03T08:00:00Z',
    end: '2026-03-03T08:30:00Z',
    conflict: true,
  }),
  eventView({
    id: 'e4',
    title: '🎉🎉 Launch party 🚀',
    start: '2026-03-04T00:00:00Z',
    end: '2026-03-05T00:00:00Z',
    status: 'cancelled',
  }),
  eventView({
    id: 'e5',
    title: '新年会',
    start: '2027-01-04T18:00:00Z',
    end: '2027-01-04T21:00:00Z',
  }),
];

for (const width of [20, 24, 30]) {
  test(`at ${width} columns an event list fits: by day, #n, the time and the title cut to fit`, (t) => {
    const text = renderEvents(NARROW_CASES, context(width), 'none');
    const lines = text.split('\n');
    for (const line of lines) t.true(displayWidth(line) <= width, `${line} (${width})\n${text}`);
    // Under each day, its events; each line starts with its number, as `#n` names it.
    t.deepEqual(
      lines.filter((line) => !line.startsWith('#') && !/^[!?✗] /.test(line)),
      ['Tomorrow, Mon 2 Mar', 'Tue 3 Mar', 'Wed 4 Mar', 'Mon 4 Jan 2027'],
    );
    const rows = lines.filter((line) => line.startsWith('#'));
    t.deepEqual(
      rows.map((line) => /^#\d/.exec(line)?.[0]),
      ['#1', '#2', '#3', '#4', '#5'],
    );
    t.regex(rows[0] ?? '', /^#1 {2}09:00 {4}取締/);
    t.regex(rows[1] ?? '', /^#2 {2}14:00 {4}\? Ret/);
    t.regex(rows[2] ?? '', /^#3 {2}08:00 {4}! Den/);
    t.regex(rows[3] ?? '', /^#4 {2}all day {2}✗ 🎉/);
    t.regex(rows[4] ?? '', /^#5 {2}18:00 {4}新年会$/);
    // Cut titles end in an ellipsis, never half a wide character.
    t.regex(rows[0] ?? '', /…$/);
    // The markers are explained, one a line when they do not fit on one.
    t.deepEqual(lines.slice(-3), ['! conflict', '? awaiting an answer', '✗ cancelled']);
  });
}

test('a narrow list keeps its lines in the width: a heading loses its "Yesterday, ", a sentence wraps', (t) => {
  const yesterday = eventView({
    id: 'e1',
    title: 'Standup',
    start: '2026-12-30T09:00:00Z',
    end: '2026-12-30T09:15:00Z',
    conflict: true,
  });
  const late = { ...context(20), now: DateTime.fromISO('2026-12-31T12:00:00Z', { zone: 'UTC' }) };
  t.deepEqual(renderEvents([yesterday], late, 'none').split('\n'), [
    'Wed 30 Dec',
    '#1  09:00  ! Standup',
    '! conflict',
  ]);
  t.deepEqual(renderEvents([], late, 'No events Mon 2 Mar 09:00 → Mon 9 Mar 09:00.').split('\n'), [
    'No events Mon 2 Mar',
    '09:00 → Mon 9 Mar',
    '09:00.',
  ]);
  t.is(
    renderEvents([], context(), 'No events Mon 2 Mar 09:00 → Mon 9 Mar 09:00.'),
    'No events Mon 2 Mar 09:00 → Mon 9 Mar 09:00.',
  );
});

test('a span over days names the year on both ends when either is not this year', (t) => {
  // The search heading read `Sun 7 Jun 00:00 → Tue 8 Jun 2027 00:00` (outside attack, P4).
  t.is(
    formatSpan('2027-06-07T00:00:00Z', '2027-06-08T00:00:00Z', context()),
    'Mon 7 Jun 2027 00:00 → Tue 8 Jun 2027 00:00',
  );
  t.is(
    formatSpan('2026-12-31T09:00:00Z', '2027-01-01T09:00:00Z', context()),
    'Thu 31 Dec 2026 09:00 → Fri 1 Jan 2027 09:00',
  );
  t.is(
    formatSpan('2026-03-02T09:00:00Z', '2026-03-04T09:00:00Z', context()),
    'Mon 2 Mar 09:00 → Wed 4 Mar 09:00',
  );
});
