import test from 'ava';
import { DateTime } from 'luxon';
import EventCancel from '../commands/event/cancel.js';
import EventList from '../commands/event/list.js';
import EventShow from '../commands/event/show.js';
import EventUpdate from '../commands/event/update.js';
import Home from '../commands/home.js';
import InviteAccept from '../commands/invite/accept.js';
import Month from '../commands/month.js';
import Search from '../commands/search.js';
import Today from '../commands/today.js';
import Week from '../commands/week.js';
import { displayWidth } from '../../base/table.js';
import { FakeGateway, createTestTls } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { eventDetails, eventView, logIn, loginAnswer } from './support/fixtures.js';
import {
  RecordedTerminal,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
} from './support/harness.js';

const ESC = '\u001b[';

const EVENTS = [
  eventView({
    id: 'abcd1111aaaaaaaa',
    title: 'Standup',
    start: '2026-03-02T08:00:00Z',
    end: '2026-03-02T08:15:00Z',
    recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
    group: 'team',
  }),
  eventView({
    id: 'abcd2222bbbbbbbb',
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
    conflict: true,
  }),
];

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

async function viewsGateway(): Promise<{ gateway: FakeGateway; configDir: string }> {
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', { status: 200, json: { events: EVENTS, next: null } })
    .on('GET', '/v1/search', (request) => ({
      status: 200,
      json: {
        events: EVENTS.filter((e) =>
          e.title.toLowerCase().includes((request.query.get('q') ?? '').toLowerCase()),
        ),
        next: null,
      },
    }))
    .on('GET', '/v1/invitations', {
      status: 200,
      json: {
        invitations: [eventDetails({ id: 'invite99zzzzzzzz', title: 'Party' })],
        groupInvitations: [],
      },
    })
    .on('GET', '/v1/events/:id', (_request, params) => ({
      status: 200,
      json: {
        event: eventDetails({ id: params.id ?? '', recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO' }),
      },
    }))
    .on('POST', '/v1/invitations/:id/accept', (_request, params) => ({
      status: 200,
      json: { event: eventDetails({ id: params.id ?? '' }) },
    }));
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir };
}

function maxWidth(text: string): number {
  return Math.max(...text.split('\n').map((line) => displayWidth(line)));
}

test('week asks for the whole week in --tz and draws it to 80 columns when piped, or --width', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const argv = ['--tz', 'Europe/Madrid', '--config-dir', configDir, '--date', '2026-03-04'];
  const run = await runCommand(Week, argv);
  t.is(run.exitCode, 0, run.stderr);
  const request = gateway.requestsTo('GET', '/v1/events').at(-1);
  t.is(request?.query.get('from'), '2026-03-02T00:00:00+01:00');
  t.is(request?.query.get('to'), '2026-03-09T00:00:00+01:00');
  t.is(maxWidth(run.stdout), 78, run.stdout);
  t.regex(run.stdout, /│Mon 2 Mar │Tue 3 Mar │Wed 4 Mar │/);
  t.regex(run.stdout, /取締役会…/);
  t.false(run.stdout.includes(ESC), 'no colours off a terminal');

  const wide = await runCommand(Week, [...argv, '--width', '120']);
  t.is(maxWidth(wide.stdout), 120, wide.stdout);
  t.regex(wide.stdout, /09:00 Standup/);

  const columns = await runCommand(Week, argv, new RecordedTerminal({ env: { COLUMNS: '100' } }));
  t.is(maxWidth(columns.stdout), 99);

  const json = await runCommand(Week, [...argv, '--json']);
  const result = parseJsonResult(Week, json.stdout);
  t.is(result.view, 'week');
  t.is(result.timeZone, 'Europe/Madrid');
  t.deepEqual(
    result.days.map((d) => [d.date, d.events.length]),
    [
      ['2026-03-02', 1],
      ['2026-03-03', 1],
      ['2026-03-04', 1],
      ['2026-03-05', 0],
      ['2026-03-06', 0],
      ['2026-03-07', 0],
      ['2026-03-08', 0],
    ],
  );
});

test("under the grid's width week lists the events by day, numbered; --layout chooses", async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const argv = ['--tz', 'Europe/Madrid', '--config-dir', configDir, '--date', '2026-03-04'];
  for (const [width, title] of [
    ['20', /^2–8 Mar 2026\n/],
    ['40', /^Week 10 {2}2–8 Mar 2026 {2}Europe\/Madrid\n/],
  ] as const) {
    const narrow = await runCommand(Week, [...argv, '--width', width]);
    t.is(narrow.exitCode, 0, narrow.stderr);
    t.regex(narrow.stdout, title);
    t.regex(narrow.stdout, /^ {2}#1 {2}/m);
    t.notRegex(narrow.stdout, /[┌│]/, 'no grid');
  }
  t.true(maxWidth((await runCommand(Week, [...argv, '--width', '40'])).stdout) <= 40);
  const grid = await runCommand(Week, [...argv, '--width', '40', '--layout', 'grid']);
  t.regex(grid.stdout, /┌/);
  const list = await runCommand(Week, [...argv, '--layout', 'list']);
  t.regex(list.stdout, /^ {2}#1 {2}/m);
});

test('colours follow FORCE_COLOR and NO_COLOR', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const argv = ['--tz', 'UTC', '--config-dir', configDir, '--date', '2026-03-04'];
  const forced = await runCommand(Week, argv, new RecordedTerminal({ env: { FORCE_COLOR: '1' } }));
  t.true(forced.stdout.includes(ESC));
  const tty = await runCommand(Week, argv, new RecordedTerminal({ tty: true }));
  t.true(tty.stdout.includes(ESC));
  const noColor = await runCommand(
    Week,
    argv,
    new RecordedTerminal({ tty: true, env: { NO_COLOR: '1' } }),
  );
  t.false(noColor.stdout.includes(ESC));
  const off = await runCommand(
    Week,
    argv,
    new RecordedTerminal({ tty: true, env: { FORCE_COLOR: '0' } }),
  );
  t.false(off.stdout.includes(ESC));
  const json = await runCommand(
    Week,
    [...argv, '--json'],
    new RecordedTerminal({ env: { FORCE_COLOR: '1' } }),
  );
  t.false(json.stdout.includes(ESC), 'never with --json');
});

test('month: a calendar and the events by day at 80 columns, the grid from 100; bad months refused', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const argv = ['--tz', 'Europe/Madrid', '--config-dir', configDir, '--date', '2026-03'];
  const run = await runCommand(Month, argv);
  t.is(run.exitCode, 0, run.stderr);
  const request = gateway.requestsTo('GET', '/v1/events').at(-1);
  t.is(request?.query.get('from'), '2026-02-23T00:00:00+01:00', 'whole weeks around the month');
  t.is(request?.query.get('to'), '2026-04-06T00:00:00+02:00');
  t.regex(run.stdout, /^ {8}March 2026\n Mo {2}Tu/);
  t.regex(run.stdout, / {2}2• {2}3• {2}4•/);
  t.regex(run.stdout, /Tue 3 Mar\n {2}#2 {2}10:00–12:00 {2}取締役会と四半期の業績見通しの確認/);
  t.regex(run.stdout, /weekly on Monday, 4 times/);

  const grid = await runCommand(Month, [...argv, '--width', '120']);
  t.regex(grid.stdout, /^March 2026 {2}Europe\/Madrid\n┌/);
  t.is(maxWidth(grid.stdout), 120);

  const json = await runCommand(Month, [...argv, '--json']);
  const result = parseJsonResult(Month, json.stdout);
  t.is(result.days.length, 31);
  t.is(result.from, '2026-03-01T00:00:00+01:00');
  t.is(result.to, '2026-04-01T00:00:00+02:00');

  const bad = await runCommand(Month, ['--config-dir', configDir, '--date', '2026-13']);
  t.is(bad.exitCode, 1);
  t.regex(bad.stderr, /names no month/);
  // A month Agenda does not keep is refused naming the flag given, not the server's "from".
  const asked = gateway.requestsTo('GET', '/v1/events').length;
  const ancient = await runCommand(Month, ['--config-dir', configDir, '--date', '0000-01']);
  t.is(ancient.exitCode, 1);
  t.regex(ancient.stderr, /the --date "0000-01" is outside the years Agenda keeps/);
  t.notRegex(ancient.stderr, /the from/);
  const far = await runCommand(Week, ['--config-dir', configDir, '--date', '2300-01-01']);
  t.is(far.exitCode, 1);
  t.regex(far.stderr, /the --date "2300-01-01" is outside the years Agenda keeps/);
  t.is(gateway.requestsTo('GET', '/v1/events').length, asked, 'nothing was asked of the server');
  // The first week of 1970 is shown from its first day the server keeps.
  const first = await runCommand(Week, [
    '--config-dir',
    configDir,
    '--tz',
    'UTC',
    '--date',
    '1970-01-01',
  ]);
  t.is(first.exitCode, 0, first.stderr);
  t.is(gateway.requestsTo('GET', '/v1/events').at(-1)?.query.get('from'), '1970-01-01T00:00:00Z');
  const garbage = await runCommand(Week, ['--config-dir', configDir, '--date', 'someday']);
  t.is(garbage.exitCode, 1);
  t.regex(garbage.stderr, /error: .*someday/);
});

test('today --date "feb 29" in a common year says that day does not exist, before any request', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const before = gateway.requestsTo('GET', '/v1/events').length;
  const run = await runCommand(Today, ['--date', 'feb 29 2027', '--config-dir', configDir]);
  t.is(run.exitCode, 1);
  t.regex(
    run.stderr,
    /^error: the date "feb 29 2027" is 29 February 2027, a day that does not exist: 2027 is not a leap year \(the next 29 February is in 2028/,
  );
  t.is(gateway.requestsTo('GET', '/v1/events').length, before);
});

test('today lists the day numbered; #n and id prefixes then name its events', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const common = ['--tz', 'Europe/Madrid', '--config-dir', configDir];
  // The week shows (unnumbered) the ids a prefix is then looked for among.
  t.is((await runCommand(Week, [...common, '--date', '2026-03-03'])).exitCode, 0);
  const today = await runCommand(Today, [...common, '--date', '2026-03-03']);
  t.is(today.exitCode, 0, today.stderr);
  t.is(
    today.stdout,
    'Tue 3 Mar\n  #1  10:00–12:00  取締役会と四半期の業績見通しの確認  会議室 3  abcd2222\n',
    'only the day’s events, whatever the gateway answers',
  );

  const first = await runCommand(EventShow, ['#1', ...common]);
  t.is(first.exitCode, 0, first.stderr);
  t.is(gateway.requests.at(-1)?.path, '/v1/events/abcd2222bbbbbbbb');
  t.regex(first.stdout, /repeats +weekly on Monday, 4 times {2}\(FREQ=WEEKLY;COUNT=4;BYDAY=MO\)/);

  const missing = await runCommand(EventShow, ['#7', ...common]);
  t.is(missing.exitCode, 1);
  t.regex(missing.stderr, /there is no #7: the last listing \(agenda today\) numbered 1 event$/m);

  // A prefix among the ids shown, in any case: no request needed to resolve it.
  const before = gateway.requests.length;
  const prefix = await runCommand(EventShow, ['ABCD11', ...common]);
  t.is(prefix.exitCode, 0, prefix.stderr);
  t.deepEqual(
    gateway.requests.slice(before).map((r) => r.path),
    ['/v1/events/abcd1111aaaaaaaa'],
  );
  // Outside attack 4: 4 or 5 characters may name another event beyond what the CLI can
  // see; refused before any request, whatever they match here.
  const short = await runCommand(EventShow, ['abcd1', ...common]);
  t.is(short.exitCode, 1);
  t.regex(
    short.stderr,
    /abcd1 is too short to name one event for sure: give at least 6 characters of the id \(lists show 8\), or #n from the last listing/,
  );
  t.is(gateway.requests.length, before + 1, 'no request');

  // Never shown here: looked for among the year's events and the invitations.
  const invited = await runCommand(InviteAccept, ['invite', ...common]);
  t.is(invited.exitCode, 0, invited.stderr);
  t.is(gateway.requests.at(-1)?.path, '/v1/invitations/invite99zzzzzzzz/accept');
  const lookup = gateway.requestsTo('GET', '/v1/events').at(-1);
  const span =
    Date.parse(lookup?.query.get('to') ?? '') - Date.parse(lookup?.query.get('from') ?? '');
  t.is(span, 366 * 86_400_000, 'the widest window the list route takes');

  // A prefix nothing matches is sent as given: the server says whether it is an event.
  const unknown = await runCommand(EventShow, ['qqqqqq', ...common]);
  t.is(unknown.exitCode, 0);
  t.is(gateway.requests.at(-1)?.path, '/v1/events/qqqqqq');
});

test('event list numbers its rows and shows recurrence in words; #n follows the last listing', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const common = ['--tz', 'Europe/Madrid', '--config-dir', configDir];
  const list = await runCommand(EventList, common);
  t.regex(list.stdout, /^#1 .*Standup +weekly on Monday, 4 times/m);
  t.regex(list.stdout, /^#3 .*zz99aa00$/m);
  const third = await runCommand(EventShow, ['#3', ...common, '--json']);
  t.is(parseJsonResult(EventShow, third.stdout).event.id, 'zz99aa00bb11cc22');
});

test('search sends the text and the year around today, lists what matches numbered', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const common = ['--tz', 'UTC', '--config-dir', configDir];
  const run = await runCommand(Search, ['retro', ...common]);
  t.is(run.exitCode, 0, run.stderr);
  const request = gateway.requestsTo('GET', '/v1/search').at(-1);
  t.is(request?.query.get('q'), 'retro');
  const span =
    Date.parse(request?.query.get('to') ?? '') - Date.parse(request?.query.get('from') ?? '');
  t.is(span, 366 * 86_400_000, 'the widest window the route takes');
  t.regex(run.stdout, /^1 occurrence matching "retro"/);
  t.regex(run.stdout, /Wed 4 Mar( 2026)?\n {2}#1 {2}14:00–15:00 {2}! Retro 🎯/);

  const json = await runCommand(Search, [
    '取締役',
    ...common,
    '--json',
    '--from',
    '2026-03-01',
    '--to',
    '2026-04-01',
  ]);
  t.deepEqual(
    parseJsonResult(Search, json.stdout).events.map((e) => e.id),
    ['abcd2222bbbbbbbb'],
  );
  const none = await runCommand(Search, ['nothing', ...common]);
  t.regex(none.stdout, /^Nothing matches "nothing"/);
  // A search that showed nothing leaves the numbers of the last listing in place.
  const kept = await runCommand(EventShow, ['#1', ...common]);
  t.is(kept.exitCode, 0, kept.stderr);
  t.is(gateway.requests.at(-1)?.path, '/v1/events/abcd2222bbbbbbbb');

  const blank = await runCommand(Search, ['  ', ...common]);
  t.is(blank.exitCode, 1);
  t.regex(blank.stderr, /give a text to search for/);
  const backwards = await runCommand(Search, [
    'x',
    ...common,
    '--from',
    '2026-03-02',
    '--to',
    '2026-03-01',
  ]);
  t.is(backwards.exitCode, 1);
});

test('agenda alone: today and next when logged in, how to start when not', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  const json = await runCommand(Home, ['--tz', 'UTC', '--config-dir', configDir, '--json']);
  t.is(json.exitCode, 0, json.stderr);
  const result = parseJsonResult(Home, json.stdout);
  t.true(result.loggedIn);
  if (result.loggedIn) {
    t.is(result.user, 'alice');
    t.is(result.invitations, 1);
  }
  const human = await runCommand(Home, ['--tz', 'UTC', '--config-dir', configDir]);
  t.regex(human.stdout, /^alice {2}/);
  t.regex(human.stdout, /\nToday\n/);
  t.regex(human.stdout, /\nNext\n/);
  t.regex(human.stdout, /1 invitation waiting for your answer: agenda invite list/);

  const empty = await temporaryConfigDir();
  const out = await runCommand(Home, ['--config-dir', empty]);
  t.is(out.exitCode, 0);
  t.regex(out.stdout, /You are not logged in\. To start:\n {2}agenda register <username>/);
  const outJson = await runCommand(Home, ['--config-dir', empty, '--json']);
  t.like(parseJsonResult(Home, outJson.stdout), { loggedIn: false, profile: 'default' });
});

test('#n of a recurring event names its occurrence: cancel and update take only it', async (t) => {
  const { gateway, configDir } = await viewsGateway();
  t.teardown(() => gateway.close());
  gateway.on('DELETE', '/v1/events/:id', { status: 200, json: { event: EVENTS[0] } });
  gateway.on('PATCH', '/v1/events/:id', {
    status: 200,
    json: { event: eventDetails({ id: 'detached' }), conflicts: [], imposedConflicts: [] },
  });
  const common = ['--tz', 'Europe/Madrid', '--config-dir', configDir];
  t.is((await runCommand(EventList, common)).exitCode, 0);

  const cancelled = await runCommand(EventCancel, ['#1', ...common]);
  t.is(cancelled.exitCode, 0, cancelled.stderr);
  const request = gateway.requestsTo('DELETE', '/v1/events/abcd1111aaaaaaaa').at(-1);
  t.is(request?.query.get('occurrence'), '2026-03-02T08:00:00Z', 'the row, not the series');
  t.regex(
    cancelled.stdout,
    /occurrence of Standup \(the whole series: agenda event cancel abcd1111aaaaaaaa\)/,
  );

  // The series by its id: every occurrence.
  const series = await runCommand(EventCancel, ['abcd1111aaaaaaaa', ...common]);
  t.is(series.exitCode, 0, series.stderr);
  t.is(
    gateway.requestsTo('DELETE', '/v1/events/abcd1111aaaaaaaa').at(-1)?.query.get('occurrence'),
    null,
  );

  const update = await runCommand(EventUpdate, ['#1', '--title', 'Daily', ...common]);
  t.is(update.exitCode, 0, update.stderr);
  const patch = gateway.requestsTo('PATCH', '/v1/events/abcd1111aaaaaaaa').at(-1);
  t.is(patch?.query.get('occurrence'), '2026-03-02T08:00:00Z', 'the row, not the series');
  t.regex(update.stdout, /Changed the .* occurrence on its own/);
  const whole = await runCommand(EventUpdate, ['abcd1111aaaaaaaa', '--title', 'Daily', ...common]);
  t.is(whole.exitCode, 0, whole.stderr);
  t.is(
    gateway.requestsTo('PATCH', '/v1/events/abcd1111aaaaaaaa').at(-1)?.query.get('occurrence'),
    null,
  );
});

test('an event over several days says on a later day when it began: today, agenda, week and month lists', async (t) => {
  // Outside attack 5: on the days after its first, `10:00 → Mon 2 Feb 10:00` read as a start
  // that day, and on its last day as an event of no length.
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  const midnight = DateTime.now().setZone('UTC').startOf('day');
  const around = eventView({
    id: 'offsite000000000',
    title: 'Offsite',
    start: midnight.minus({ hours: 14 }).toISO() ?? '',
    end: midnight.plus({ hours: 34 }).toISO() ?? '',
  });
  const offsite = eventView({
    id: 'offsite111111111',
    title: 'Offsite',
    start: '2026-01-30T10:00:00Z',
    end: '2026-02-02T10:00:00Z',
  });
  const retreat = eventView({
    id: 'retreat111111111',
    title: 'Retreat',
    start: '2026-01-30T00:00:00Z',
    end: '2026-02-03T00:00:00Z',
  });
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', (request) => ({
      status: 200,
      json: {
        events: [around, offsite, retreat].filter(
          (e) =>
            Date.parse(e.start) < Date.parse(request.query.get('to') ?? '') &&
            Date.parse(e.end) > Date.parse(request.query.get('from') ?? ''),
        ),
        next: null,
      },
    }))
    .on('GET', '/v1/invitations', {
      status: 200,
      json: { invitations: [], groupInvitations: [] },
    });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const common = ['--tz', 'UTC', '--config-dir', configDir];
  const began = 'Fri 30 Jan 10:00 → Mon 2 Feb 10:00';
  for (const date of ['2026-01-31', '2026-02-02']) {
    const today = await runCommand(Today, [...common, '--date', date]);
    t.is(today.exitCode, 0, today.stderr);
    t.regex(today.stdout, new RegExp(`#1 {2}${began} +Offsite`));
    t.regex(today.stdout, /#2 {2}Fri 30 Jan → Mon 2 Feb +Retreat/);
  }
  // On its first day it says only its start time.
  const first = await runCommand(Today, [...common, '--date', '2026-01-30']);
  t.regex(first.stdout, /#1 {2}10:00 → Mon 2 Feb 10:00 +Offsite/);
  const week = await runCommand(Week, [...common, '--date', '2026-02-02', '--layout', 'list']);
  t.regex(week.stdout, new RegExp(`Mon 2 Feb\n {2}#1 {2}${began} +Offsite`));
  const month = await runCommand(Month, [...common, '--date', '2026-02', '--layout', 'list']);
  t.regex(month.stdout, new RegExp(`Sun 1 Feb\n {2}#1 {2}${began} +Offsite`));
  t.regex(month.stdout, /#2 {2}Fri 30 Jan → Mon 2 Feb +Retreat/);

  const home = await runCommand(Home, common);
  t.is(home.exitCode, 0, home.stderr);
  const from = midnight.minus({ hours: 14 }).setLocale('en-GB');
  const to = midnight.plus({ hours: 34 }).setLocale('en-GB');
  const year = (d: DateTime): string => (d.year === midnight.year ? '' : ' yyyy');
  const span = `${from.toFormat(`ccc d LLL${year(from)} HH:mm`)} → ${to.toFormat(`ccc d LLL${year(to)} HH:mm`)}`;
  t.regex(home.stdout, new RegExp(`#1 {2}${span} +Offsite`));
});
