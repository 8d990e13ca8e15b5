import test from 'ava';
import { DateTime } from 'luxon';
import { displayWidth, loadDisplayWidths } from '../../base/table.js';
import { eventView } from '../test/support/fixtures.js';
import { createPalette } from './palette.js';
import {
  daysOf,
  renderDayList,
  renderMonthCalendar,
  renderMonthGrid,
  renderWeekGrid,
  spanText,
  timeOnDay,
  weekTitle,
  wrapToWidth,
} from './calendar.js';
import { formatSpan } from './views.js';
import { describeRecurrence } from './recurrence.js';

// What measures text beyond ASCII loads on demand (base/table.ts); a command awaits it.
test.before(() => loadDisplayWidths());

const ZONE = 'Europe/Madrid';
const NOW = DateTime.fromISO('2026-03-04T10:00', { zone: ZONE });
const MONDAY = DateTime.fromISO('2026-03-02', { zone: ZONE });

const EVENTS = [
  eventView({
    id: 'k3j9x0aa11bb22cc',
    title: 'Standup',
    start: '2026-03-02T08:00:00Z',
    end: '2026-03-02T08:15:00Z',
    recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
    group: 'team',
  }),
  eventView({
    id: 'ww66aa00bb11cc22',
    title: 'Old plan',
    start: '2026-03-02T16:00:00Z',
    end: '2026-03-02T17:00:00Z',
    status: 'cancelled',
  }),
  eventView({
    id: 'p0qq1234abcdabcd',
    title: '取締役会と四半期の業績見通しの確認',
    start: '2026-03-03T09:00:00Z',
    end: '2026-03-03T11:00:00Z',
    location: '会議室 3',
  }),
  eventView({
    id: 'zz99aa00bb11cc22',
    title: 'Retro 🎯 with the whole platform team',
    start: '2026-03-04T14:00:00Z',
    end: '2026-03-04T15:00:00Z',
    status: 'pending',
    myStatus: 'pending',
  }),
  eventView({
    id: 'yy88aa00bb11cc22',
    title: 'Dentist',
    start: '2026-03-04T14:30:00Z',
    end: '2026-03-04T15:00:00Z',
    conflict: true,
  }),
  eventView({
    id: 'xx77aa00bb11cc22',
    title: 'Offsite in Sevilla',
    start: '2026-03-05T23:00:00Z',
    end: '2026-03-07T23:00:00Z',
  }),
];

function context(width: number, colours = false) {
  return { zone: ZONE, now: NOW, palette: createPalette(colours), width };
}

/** Every line's width in display cells, colours stripped. */
function widths(text: string): number[] {
  // eslint-disable-next-line no-control-regex
  return text.split('\n').map((line) => displayWidth(line.replace(/\u001b\[[0-9;]*m/g, '')));
}

for (const width of [80, 120]) {
  test(`the week grid at ${width} columns: every grid line exactly as wide, CJK and emoji included`, (t) => {
    const grid = renderWeekGrid(daysOf(EVENTS, MONDAY, 7, ZONE), context(width));
    const lines = grid.split('\n');
    const gridLines = lines.filter((line) => /^[┌├└│]/.test(line));
    const expected = 7 * Math.floor((width - 8) / 7) + 8;
    t.true(expected <= width);
    t.deepEqual(
      widths(gridLines.join('\n')),
      gridLines.map(() => expected),
      grid,
    );
    t.true(
      widths(grid).every((w) => w <= width),
      grid,
    );
    // The columns' bars stay where the borders put them on every line.
    const bars = (line: string) =>
      [...line].reduce<number[]>((at, char, i, all) => {
        if (char === '│' || char === '┼' || char === '├' || char === '┤') {
          at.push(displayWidth(all.slice(0, i).join('')));
        }
        return at;
      }, []);
    const expectedBars = bars(gridLines[2] ?? '');
    for (const line of gridLines.filter((l) => l.startsWith('│'))) {
      t.deepEqual(bars(line), expectedBars, line);
    }
    t.regex(grid, /^Week 10 {2}2–8 Mar 2026 {2}Europe\/Madrid/);
    t.regex(grid, /取締役会/);
    t.regex(grid, /! Dentist/);
    t.regex(grid, /\? Retro/);
    t.regex(grid, /✗ Old plan/);
    t.regex(grid, /all day/, 'the offsite fills Friday and Saturday');
    t.regex(grid, /! conflict {3}\? awaiting an answer {3}✗ cancelled$/);
  });

  test(`the month grid at ${width} columns fits and marks the events of each day`, (t) => {
    const month = DateTime.fromISO('2026-03-01', { zone: ZONE });
    const grid = renderMonthGrid(
      month,
      daysOf(EVENTS, month.startOf('week'), 42, ZONE),
      context(width),
    );
    t.true(
      widths(grid).every((w) => w <= width),
      grid,
    );
    t.regex(grid, /^March 2026/);
    t.regex(grid, width >= 120 ? /09:00 Standup/ : /│Standup/);
    t.regex(grid, /取締役会/);
  });
}

test('with colours, the lines are still as wide: paint is never counted', (t) => {
  const plain = renderWeekGrid(daysOf(EVENTS, MONDAY, 7, ZONE), context(80));
  const painted = renderWeekGrid(daysOf(EVENTS, MONDAY, 7, ZONE), context(80, true));
  t.not(plain, painted);
  t.deepEqual(widths(painted), widths(plain));
});

test('a month as a small calendar marks the days with events and today', (t) => {
  const month = DateTime.fromISO('2026-03-01', { zone: ZONE });
  const calendar = renderMonthCalendar(
    month,
    daysOf(EVENTS, month.startOf('week'), 42, ZONE),
    context(80),
  );
  t.is(
    calendar,
    [
      '        March 2026',
      ' Mo  Tu  We  Th  Fr  Sa  Su',
      '                          1',
      '  2•  3•  4•  5   6•  7•  8',
      '  9  10  11  12  13  14  15',
      ' 16  17  18  19  20  21  22',
      ' 23  24  25  26  27  28  29',
      ' 30  31',
    ].join('\n'),
  );
});

test('narrower than 27 columns the small calendar sets its days one cell closer, marked where a mark fits', (t) => {
  const month = DateTime.fromISO('2026-03-01', { zone: ZONE });
  const days = daysOf(EVENTS, month.startOf('week'), 42, ZONE);
  t.is(
    renderMonthCalendar(month, days, context(24)),
    [
      '      Mar 2026',
      'Mo Tu We Th Fr Sa Su',
      '                   1',
      ' 2• 3• 4• 5  6• 7• 8',
      ' 9 10 11 12 13 14 15',
      '16 17 18 19 20 21 22',
      '23 24 25 26 27 28 29',
      '30 31',
    ].join('\n'),
  );
  // At 20 a Sunday's mark would be the 21st cell: the list under the calendar names the days.
  const at20 = renderMonthCalendar(month, days, context(20));
  t.true(at20.split('\n').includes(' 2  3  4  5  6  7  8'), at20);
  t.true(
    widths(at20).every((w) => w <= 20),
    at20,
  );
});

test('a narrow day list leaves out the ids, then what repeats and where, before it overflows', (t) => {
  const at40 = renderDayList(EVENTS, { ...context(40), cut: true });
  // The legend too: a line per marker.
  t.true(
    widths(at40).every((w) => w <= 40),
    at40,
  );
  t.regex(at40, /\n! conflict\n\? awaiting an answer\n✗ cancelled$/);
  t.regex(at40, /^ {2}#1 {2}09:00–09:15 {2}Standup$/m);
  t.notRegex(at40, /k3j9x0aa|weekly/);
  // Off a terminal nothing is left out.
  t.regex(renderDayList(EVENTS, { ...context(40), cut: false }), /k3j9x0aa/);
  t.is(
    weekTitle(daysOf(EVENTS, MONDAY, 7, ZONE), context(40)),
    'Week 10  2–8 Mar 2026  Europe/Madrid',
  );
});

test('a day list numbers the events, puts them under their days, and aligns wide titles', (t) => {
  const list = renderDayList(EVENTS, { ...context(120), cut: true });
  const lines = list.split('\n');
  t.is(lines[0], 'Mon 2 Mar');
  t.regex(
    lines[1] ?? '',
    /^ {2}#1 {2}09:00–09:15 {2}Standup +weekly on Monday, 4 times +k3j9x0aa$/,
  );
  t.true(
    widths(list).every((w) => w <= 120),
    list,
  );
  const idColumn = (line: string) => displayWidth(line.slice(0, line.search(/[a-z0-9]{8}$/)));
  const rows = lines.filter((line) => /^ {2}#\d/.test(line));
  t.is(rows.length, 6);
  t.true(
    rows.every((row) => idColumn(row) === idColumn(rows[0] ?? '')),
    list,
  );
  t.true(lines.includes('Today, Wed 4 Mar'));
  t.regex(list, /#6 {2}2 days {7}Offsite in Sevilla/);
  const narrow = renderDayList(EVENTS, { ...context(60), cut: true });
  t.true(
    widths(narrow).every((w) => w <= 60),
    narrow,
  );
  const piped = renderDayList(EVENTS, { ...context(60), cut: false });
  t.regex(piped, /Retro 🎯 with the whole platform team/, 'piped, nothing is cut');
});

test('wrapping breaks at spaces, inside words when it must, and never splits a wide character', (t) => {
  t.deepEqual(wrapToWidth('Retro with the whole team', 10, 2), ['Retro with', 'the whole…']);
  t.deepEqual(wrapToWidth('取締役会と四半期', 5, 3), ['取締', '役会', 'と四…']);
  t.deepEqual(wrapToWidth('🎯🎯🎯', 3, 2), ['🎯', '🎯…']);
});

test('recurrence in words', (t) => {
  t.is(describeRecurrence('FREQ=WEEKLY;COUNT=4;BYDAY=MO'), 'weekly on Monday, 4 times');
  t.is(describeRecurrence('FREQ=DAILY'), 'daily');
  t.is(
    describeRecurrence('FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE'),
    'every 2 weeks on Monday and Wednesday',
  );
  t.is(describeRecurrence('FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR'), 'weekly on weekdays');
  t.is(describeRecurrence('FREQ=MONTHLY;BYDAY=2TU'), 'monthly on the 2nd Tuesday');
  t.is(describeRecurrence('FREQ=MONTHLY;BYDAY=-1FR;COUNT=2'), 'monthly on the last Friday, twice');
  t.is(
    describeRecurrence('FREQ=MONTHLY;BYMONTHDAY=1,15,-1'),
    'monthly on the 1st, 15th and last day',
  );
  t.is(
    describeRecurrence('FREQ=YEARLY;UNTIL=20261231T230000Z', 'Europe/Madrid'),
    'yearly until 1 Jan 2027',
    'UNTIL in the zone shown',
  );
  t.is(describeRecurrence('FREQ=HOURLY'), 'FREQ=HOURLY', 'what it does not know stays as it was');
  t.is(describeRecurrence('FREQ=DAILY;BYSETPOS=1'), 'FREQ=DAILY;BYSETPOS=1');
});

test('a reading the clocks show twice (the hour repeated when they go back) carries its zone; others do not', (t) => {
  // Madrid, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
  const first = eventView({ start: '2026-10-25T00:30:00Z', end: '2026-10-25T00:45:00Z' });
  const second = eventView({ start: '2026-10-25T01:30:00Z', end: '2026-10-25T01:45:00Z' });
  t.is(spanText(first, 'Europe/Madrid'), '02:30 CEST–02:45 CEST');
  t.is(spanText(second, 'Europe/Madrid'), '02:30 CET–02:45 CET');
  const day = DateTime.fromISO('2026-10-25', { zone: 'Europe/Madrid' }).setLocale('en-GB');
  t.is(timeOnDay(second, day, 'Europe/Madrid'), '02:30 CET');
  const context = {
    zone: 'Europe/Madrid',
    now: DateTime.fromISO('2026-10-01T00:00:00Z'),
    palette: createPalette(false),
  };
  t.is(formatSpan(first.start, first.end, context), 'Sun 25 Oct 02:30 CEST–02:45 CEST');
  // New York's names; the hour before and the day after are unambiguous.
  t.is(
    spanText(
      eventView({ start: '2026-11-01T06:30:00Z', end: '2026-11-01T07:30:00Z' }),
      'America/New_York',
    ),
    '01:30 EST–02:30',
  );
  t.is(spanText(first, 'Asia/Tokyo'), '09:30–09:45');
  t.is(
    spanText(
      eventView({ start: '2026-10-24T23:30:00Z', end: '2026-10-26T00:30:00Z' }),
      'Europe/Madrid',
    ),
    '01:30 → Mon 26 Oct 01:30',
  );
  // A spring forward skips readings and repeats none.
  t.is(
    spanText(
      eventView({ start: '2026-03-29T00:30:00Z', end: '2026-03-29T01:30:00Z' }),
      'Europe/Madrid',
    ),
    '01:30–03:30',
  );
});
