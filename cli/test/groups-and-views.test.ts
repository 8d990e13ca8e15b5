import test from 'ava';
import AgendaOfOthers from '../commands/agenda.js';
import Conflicts from '../commands/conflicts.js';
import FeedCreate from '../commands/feed/create.js';
import FeedList from '../commands/feed/list.js';
import FeedRevoke from '../commands/feed/revoke.js';
import Free from '../commands/free.js';
import GroupAdd from '../commands/group/add.js';
import GroupCreate from '../commands/group/create.js';
import GroupDecline from '../commands/group/decline.js';
import GroupJoin from '../commands/group/join.js';
import GroupUnblock from '../commands/group/unblock.js';
import GroupLeave from '../commands/group/leave.js';
import GroupLevel from '../commands/group/level.js';
import GroupTransfer from '../commands/group/transfer.js';
import GroupList from '../commands/group/list.js';
import GroupRemove from '../commands/group/remove.js';
import GroupShow from '../commands/group/show.js';
import InviteAccept from '../commands/invite/accept.js';
import InviteDecline from '../commands/invite/decline.js';
import InviteList from '../commands/invite/list.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { eventDetails, eventView, groupView, logIn, loginAnswer } from './support/fixtures.js';
import {
  RecordedTerminal,
  parseJsonLine,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
} from './support/harness.js';
import type { RunnableCommand } from './support/harness.js';
import type { ResultOf } from '../base-command.js';

let tls: TestTls;
let gateway: FakeGateway;
let configDir: string;

test.before(async () => {
  tls = await createTestTls();
  gateway = await FakeGateway.start(tls);
  const invitation = eventDetails({
    id: 'e7',
    title: 'Planning',
    organizer: 'bob',
    myStatus: 'pending',
    status: 'pending',
    group: 'team',
  });
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/invitations', {
      status: 200,
      json: {
        invitations: [invitation],
        groupInvitations: [
          {
            group: 'acme',
            kind: 'hierarchical',
            owner: 'boss',
            level: 2,
            invitedBy: 'mid',
            invitedAt: '2025-03-01T09:00:00.000Z',
            members: 4,
          },
        ],
      },
    })
    .on('POST', '/v1/groups/:name/join', { status: 200, json: { group: groupView() } })
    .on('POST', '/v1/groups/:name/decline', {
      status: 200,
      json: { group: 'acme', declined: true, blocked: true },
    })
    .on('DELETE', '/v1/groups/:name/block', {
      status: 200,
      json: { group: 'acme', declined: false, blocked: false },
    })
    .on('POST', '/v1/invitations/e7/accept', {
      status: 200,
      json: { event: { ...invitation, myStatus: 'accepted' } },
    })
    .on('POST', '/v1/invitations/e7/decline', {
      status: 200,
      json: { event: { ...invitation, myStatus: 'declined', status: 'cancelled' } },
    })
    .on('POST', '/v1/groups', {
      status: 201,
      json: { group: groupView({ members: [{ username: 'alice', level: 0 }] }) },
    })
    .on('GET', '/v1/groups', {
      status: 200,
      json: { groups: [groupView(), groupView({ name: 'book-club', kind: 'flat' })] },
    })
    .on('GET', '/v1/groups/:name', { status: 200, json: { group: groupView() } })
    .on(
      'POST',
      '/v1/groups/club/owner',
      errorAnswer(403, 'forbidden', 'only the owner of club can transfer it'),
    )
    .on('POST', '/v1/groups/:name/owner', {
      status: 200,
      json: {
        group: groupView({
          owner: 'bob',
          members: [
            { username: 'bob', level: 0 },
            { username: 'alice', level: 1 },
          ],
        }),
      },
    })
    .on('POST', '/v1/groups/:name/members', { status: 200, json: { group: groupView() } })
    .on(
      'PATCH',
      '/v1/groups/team/members/carol',
      errorAnswer(
        403,
        'forbidden',
        'moving carol down to level 3 puts them under bob, who would see their busy events in full and impose events on them; that needs their consent: only carol can move themselves down',
      ),
    )
    .on('PATCH', '/v1/groups/:name/members/:username', {
      status: 200,
      json: {
        group: groupView({
          members: [
            { username: 'alice', level: 0 },
            { username: 'bob', level: 2 },
          ],
        }),
      },
    })
    .on('DELETE', '/v1/groups/:name/members/:username', {
      status: 200,
      json: { group: groupView() },
    })
    .on('POST', '/v1/groups/:name/leave', { status: 200, json: { group: null } })
    .on('GET', '/v1/agendas', {
      status: 200,
      json: {
        agendas: [
          { user: 'alice', entries: [eventView()] },
          {
            user: 'bob',
            entries: [
              { start: '2026-03-02T10:00:00.000Z', end: '2026-03-02T11:00:00.000Z', busy: true },
            ],
          },
        ],
      },
    })
    .on('GET', '/v1/conflicts', {
      status: 200,
      json: {
        conflicts: [
          {
            start: '2026-03-02T09:00:00.000Z',
            end: '2026-03-02T09:15:00.000Z',
            events: [eventView(), eventView({ id: 'e9', title: 'Dentist' })],
          },
        ],
      },
    })
    .on('GET', '/v1/free', {
      status: 200,
      json: { slots: [{ start: '2026-03-02T11:00:00.000Z', end: '2026-03-02T12:30:00.000Z' }] },
    });
  configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
});

test.after.always(async () => {
  await gateway.close();
});

/** Runs with `--json`, expects success, and returns the parsed envelope as the command's result. */
async function envelope<C extends RunnableCommand>(
  t: { is(actual: unknown, expected: unknown, message?: string): void },
  command: C,
  argv: string[],
): Promise<ResultOf<C>> {
  const run = await runCommand(command, [...argv, '--json', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  return parseJsonResult(command, run.stdout);
}

test('invite list, accept and decline answer {invitations} and {event}', async (t) => {
  const list = await envelope(t, InviteList, []);
  t.deepEqual(Object.keys(list), ['invitations', 'groupInvitations']);
  t.like(list, {
    invitations: [{ id: 'e7', myStatus: 'pending', organizer: 'bob', group: 'team' }],
  });

  const accepted = await envelope(t, InviteAccept, ['e7', '--allow-conflict']);
  t.like(accepted, { event: { id: 'e7', myStatus: 'accepted' } });
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/invitations/e7/accept')[0]?.body ?? ''), {
    allowConflict: true,
  });

  const declined = await envelope(t, InviteDecline, ['e7']);
  t.like(declined, { event: { myStatus: 'declined', status: 'cancelled' } });
});

test('invite list shows the groups inviting you beside the events; group join, decline --block and unblock answer', async (t) => {
  const run = await runCommand(InviteList, ['--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.regex(run.stdout, /Planning/);
  t.regex(run.stdout, /Groups inviting you to join/);
  t.regex(run.stdout, /acme\s+hierarchical\s+2\s+mid\s+4/);

  const joined = await envelope(t, GroupJoin, ['acme']);
  t.like(joined, { group: { name: 'team' } });
  t.is(gateway.requestsTo('POST', '/v1/groups/acme/join').length, 1);

  const declined = await envelope(t, GroupDecline, ['acme', '--block']);
  t.deepEqual(declined, { group: 'acme', declined: true, blocked: true });
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/groups/acme/decline')[0]?.body ?? ''), {
    block: true,
  });
  const said = await runCommand(GroupDecline, ['acme', '--block', '--config-dir', configDir]);
  t.regex(
    said.stdout,
    /Declined the invitation to acme\. Invitations to acme are refused from now on\./,
  );

  const unblocked = await envelope(t, GroupUnblock, ['acme']);
  t.deepEqual(unblocked, { group: 'acme', declined: false, blocked: false });
  t.is(gateway.requestsTo('DELETE', '/v1/groups/acme/block').length, 1);
});

test('group commands answer {group} or {groups} and send names and levels', async (t) => {
  const created = await envelope(t, GroupCreate, ['team', '--hierarchical']);
  t.like(created, { group: { name: 'team', kind: 'hierarchical', owner: 'alice' } });
  // Tests of this file run concurrently against one gateway: find this test's request.
  t.true(
    gateway
      .requestsTo('POST', '/v1/groups')
      .some((r) => r.body === JSON.stringify({ name: 'team', kind: 'hierarchical' })),
  );

  await envelope(t, GroupAdd, ['team', 'bob', '--level', '2']);
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/groups/team/members')[0]?.body ?? ''), {
    username: 'bob',
    level: 2,
  });

  const removed = await envelope(t, GroupRemove, ['team', 'bob']);
  t.deepEqual(Object.keys(removed), ['group']);
  t.is(gateway.requestsTo('DELETE', '/v1/groups/team/members/bob').length, 1);

  const left = await envelope(t, GroupLeave, ['team']);
  t.deepEqual(left, { group: null });

  const list = await envelope(t, GroupList, []);
  t.like(list, { groups: [{ name: 'team' }, { name: 'book-club', kind: 'flat' }] });

  const shown = await envelope(t, GroupShow, ['team']);
  t.like(shown, {
    group: {
      members: [
        { username: 'alice', level: 0 },
        { username: 'bob', level: 1 },
      ],
    },
  });
});

test('group create is flat unless --hierarchical, says so, and refuses both kinds (exit 1)', async (t) => {
  const plain = await runCommand(GroupCreate, ['club', '--config-dir', configDir]);
  t.is(plain.exitCode, 0, plain.stderr);
  t.regex(plain.stdout, /\(flat, the default: members are equal; .*--hierarchical for levels\)/);
  t.true(
    gateway
      .requestsTo('POST', '/v1/groups')
      .some((r) => r.body === JSON.stringify({ name: 'club', kind: 'flat' })),
  );
  const chosen = await runCommand(GroupCreate, ['club2', '--flat', '--config-dir', configDir]);
  t.notRegex(chosen.stdout, /the default/);
  const both = await runCommand(GroupCreate, [
    'team',
    '--flat',
    '--hierarchical',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(both.exitCode, 1);
  t.like(parseJsonLine(both.stderr), {
    error: {
      code: 'invalid',
      message: 'a group is either --flat or --hierarchical: choose one',
    },
  });
});

test('group transfer hands the group to the member named; a non-owner is refused with exit 3', async (t) => {
  const moved = await envelope(t, GroupTransfer, ['team', 'bob']);
  t.like(moved, { group: { owner: 'bob', members: [{ username: 'bob', level: 0 }] } });
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/groups/team/owner')[0]?.body ?? ''), {
    to: 'bob',
  });
  const human = await runCommand(GroupTransfer, ['team', 'bob', '--config-dir', configDir]);
  t.regex(human.stdout, /^bob now owns team\./);
  const refused = await runCommand(GroupTransfer, ['club', 'bob', '--config-dir', configDir]);
  t.is(refused.exitCode, 3);
  t.regex(refused.stderr, /only the owner of club can transfer it/);
});

test('group level sends the new level, and a move down refused for consent exits 3', async (t) => {
  const moved = await envelope(t, GroupLevel, ['team', 'bob', '2']);
  t.like(moved, { group: { members: [{ username: 'alice' }, { username: 'bob', level: 2 }] } });
  t.deepEqual(
    JSON.parse(gateway.requestsTo('PATCH', '/v1/groups/team/members/bob')[0]?.body ?? ''),
    { level: 2 },
  );
  const human = await runCommand(GroupLevel, ['team', 'bob', '2', '--config-dir', configDir]);
  t.regex(human.stdout, /^bob is at level 2 in team\./);

  const refused = await runCommand(GroupLevel, ['team', 'carol', '3', '--config-dir', configDir]);
  t.is(refused.exitCode, 3);
  t.regex(refused.stderr, /needs their consent: only carol can move themselves down/);

  for (const level of ['two', '-1', '1.5', '1001']) {
    const bad = await runCommand(GroupLevel, [
      'team',
      'bob',
      level,
      '--json',
      '--config-dir',
      configDir,
    ]);
    t.is(bad.exitCode, 1, level);
    t.like(parseJsonLine(bad.stderr), { error: { code: 'invalid', details: { field: 'level' } } });
  }
});

test('free --users asks for you and them, 30 min by default, cut to working hours', async (t) => {
  const free = await FakeGateway.start(tls);
  t.teardown(() => free.close());
  // Free from Friday 6 March 16:00 to Monday 9 March 10:00 (UTC), then Monday from 12:00.
  free.on('POST', '/v1/sessions', { status: 200, json: loginAnswer() }).on('GET', '/v1/free', {
    status: 200,
    json: {
      slots: [
        { start: '2026-03-06T16:00:00.000Z', end: '2026-03-09T10:00:00.000Z' },
        { start: '2026-03-09T12:00:00.000Z', end: '2026-03-09T17:50:00.000Z' },
      ],
    },
  });
  const dir = await temporaryConfigDir();
  await logIn(free, tls, dir);
  const week = ['--from', '2026-03-06T00:00', '--to', '2026-03-10T00:00', '--tz', 'UTC'];
  const run = async (argv: string[]) => {
    const done = await runCommand(Free, [...argv, ...week, '--json', '--config-dir', dir]);
    t.is(done.exitCode, 0, done.stderr);
    return parseJsonResult(Free, done.stdout).slots.map(
      (s) => `${s.start.slice(5, 16)}/${s.end.slice(11, 16)}`,
    );
  };

  t.deepEqual(await run(['--users', 'bob, carol']), [
    '03-06T16:00/18:00',
    '03-09T08:00/10:00',
    '03-09T12:00/17:50',
  ]);
  const [asked] = free.requestsTo('GET', '/v1/free');
  t.is(asked?.query.get('users'), 'bob,carol');
  t.false(asked?.query.has('group'));
  t.is(asked?.query.get('duration'), 'PT30M');

  t.deepEqual(await run(['--users', 'bob', '--weekends', '--hours', '9-17']), [
    '03-06T16:00/17:00',
    '03-07T09:00/17:00',
    '03-08T09:00/17:00',
    '03-09T09:00/10:00',
    '03-09T12:00/17:00',
  ]);
  // Too short once cut: Friday's 16:00–18:00 and Monday's 08:00–10:00 are not 3 h.
  t.deepEqual(await run(['--users', 'bob', '--duration', '3h']), ['03-09T12:00/17:50']);
  t.deepEqual(await run(['--users', 'bob', '--hours', 'any']), [
    '03-06T16:00/10:00',
    '03-09T12:00/17:50',
  ]);

  const human = await runCommand(Free, ['--users', 'bob', ...week, '--config-dir', dir]);
  t.regex(
    human.stdout,
    /\(within 08:00-18:00, Monday to Friday \(UTC\); --hours any for every hour\)/,
  );
});

test('free says whose time it needs and what hours are (exit 1)', async (t) => {
  for (const [argv, message] of [
    [[], /say whose free time: --group <group> \(its members\) or --users alice,bob/],
    [['--group', 'team', '--users', 'bob'], /say whose free time/],
    [['--users', 'bob', '--hours', '18-8'], /--hours "18-8" is not a span of hours within a day/],
    [['--users', 'bob', '--hours', '9:75-17'], /is not a span of hours/],
  ] as const) {
    const run = await runCommand(Free, [...argv, '--config-dir', configDir]);
    t.is(run.exitCode, 1, argv.join(' '));
    t.regex(run.stderr, message);
    t.notRegex(run.stderr, /\n\s+at /);
  }
});

test('agenda, conflicts and free answer {agendas}, {conflicts} and {slots}', async (t) => {
  const agendas = await envelope(t, AgendaOfOthers, [
    '--users',
    'alice, bob',
    '--from',
    '2026-03-02T00:00Z',
    '--to',
    '2026-03-03T00:00Z',
  ]);
  t.like(agendas, { agendas: [{ user: 'alice' }, { user: 'bob', entries: [{ busy: true }] }] });
  // Tests of this file run concurrently against one gateway: find this test's requests.
  const agendaQuery = gateway
    .requestsTo('GET', '/v1/agendas')
    .find((r) => r.query.has('users'))?.query;
  t.is(agendaQuery?.get('users'), 'alice,bob');
  t.is(agendaQuery?.get('from'), '2026-03-02T00:00:00Z');

  await envelope(t, AgendaOfOthers, ['--group', 'team']);
  t.true(gateway.requestsTo('GET', '/v1/agendas').some((r) => r.query.get('group') === 'team'));

  const conflicts = await envelope(t, Conflicts, []);
  t.like(conflicts, { conflicts: [{ events: [{ id: 'e1' }, { id: 'e9' }] }] });

  const free = await envelope(t, Free, [
    '--group',
    'team',
    '--duration',
    '1h30m',
    '--tz',
    'UTC',
    '--from',
    '2026-03-02T09:00Z',
    '--to',
    '2026-03-02T18:00Z',
  ]);
  t.deepEqual(free, {
    slots: [{ start: '2026-03-02T11:00:00.000Z', end: '2026-03-02T12:30:00.000Z' }],
  });
  const freeQuery = gateway
    .requestsTo('GET', '/v1/free')
    .find((r) => r.query.get('duration') === 'PT1H30M')?.query;
  t.is(freeQuery?.get('group'), 'team');
  t.is(freeQuery?.get('to'), '2026-03-02T18:00:00Z');
});

test('agenda and conflicts follow pages: an agenda split over two pages is shown once', async (t) => {
  const paged = await FakeGateway.start(tls);
  t.teardown(() => paged.close());
  const busy = (hour: number) => ({
    start: `2026-03-02T${hour}:00:00.000Z`,
    end: `2026-03-02T${hour + 1}:00:00.000Z`,
    busy: true,
  });
  const conflict = (id: string) => ({
    start: '2026-03-02T09:00:00.000Z',
    end: '2026-03-02T10:00:00.000Z',
    events: [eventView({ id: 'e1' }), eventView({ id })],
  });
  // Pages as the gateway cuts them at two entries: bob's agenda goes on in the second page.
  const agendaPages: Record<string, unknown> = {
    first: {
      agendas: [
        { user: 'alice', entries: [busy(10)] },
        { user: 'bob', entries: [busy(11)] },
      ],
      next: 'p2',
    },
    p2: { agendas: [{ user: 'bob', entries: [busy(12), busy(13)] }], next: 'p3' },
    p3: { agendas: [{ user: 'carol', entries: [] }], next: null },
  };
  const conflictPages: Record<string, unknown> = {
    first: { conflicts: [conflict('e2'), conflict('e3')], next: 'c2' },
    c2: { conflicts: [conflict('e4')], next: null },
  };
  paged
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/agendas', (request) => ({
      status: 200,
      json: agendaPages[request.query.get('after') ?? 'first'],
    }))
    .on('GET', '/v1/conflicts', (request) => ({
      status: 200,
      json: conflictPages[request.query.get('after') ?? 'first'],
    }));
  const dir = await temporaryConfigDir();
  await logIn(paged, tls, dir);
  const terminal = () => new RecordedTerminal({ env: { AGENDA_PAGE_SIZE: '2' } });

  const agendas = await runCommand(
    AgendaOfOthers,
    ['--group', 'team', '--json', '--config-dir', dir],
    terminal(),
  );
  t.is(agendas.exitCode, 0, agendas.stderr);
  t.deepEqual(parseJsonResult(AgendaOfOthers, agendas.stdout), {
    agendas: [
      { user: 'alice', entries: [busy(10)] },
      { user: 'bob', entries: [busy(11), busy(12), busy(13)] },
      { user: 'carol', entries: [] },
    ],
  });
  t.deepEqual(
    paged.requestsTo('GET', '/v1/agendas').map((r) => [r.query.get('limit'), r.query.get('after')]),
    [
      ['2', null],
      ['2', 'p2'],
      ['2', 'p3'],
    ],
  );

  const conflicts = await runCommand(Conflicts, ['--json', '--config-dir', dir], terminal());
  t.is(conflicts.exitCode, 0, conflicts.stderr);
  const found = parseJsonResult(Conflicts, conflicts.stdout);
  t.deepEqual(Object.keys(found), ['conflicts']);
  t.deepEqual(
    found.conflicts.map((c) => c.events[1]?.id),
    ['e2', 'e3', 'e4'],
  );
});

test('agenda needs exactly one of --group and --users, and free needs a real duration (exit 1)', async (t) => {
  for (const [command, argv] of [
    [AgendaOfOthers, []],
    [AgendaOfOthers, ['--group', 'team', '--users', 'bob']],
    [Free, ['--group', 'team', '--duration', '0m']],
    [Free, ['--group', 'team', '--duration', '1h', '--from', 'tomorrow', '--to', 'today']],
  ] as const) {
    const run = await runCommand(command, [...argv, '--json', '--config-dir', configDir]);
    t.is(run.exitCode, 1, argv.join(' '));
    t.like(parseJsonLine(run.stderr), { error: { code: 'invalid' } });
  }
});

test('people see busy blocks, slots with their length and conflicts side by side', async (t) => {
  const agenda = await runCommand(AgendaOfOthers, [
    '--group',
    'team',
    '--tz',
    'UTC',
    '--config-dir',
    configDir,
  ]);
  t.regex(agenda.stdout, /^alice$/m);
  t.regex(agenda.stdout, /^bob\n.*\n.*Mon 2 Mar 10:00–11:00.*busy/m);
  const free = await runCommand(Free, [
    '--group',
    'team',
    '--duration',
    '1h',
    '--tz',
    'UTC',
    '--from',
    '2026-03-02T00:00',
    '--to',
    '2026-03-03T00:00',
    '--config-dir',
    configDir,
  ]);
  t.regex(free.stdout, /Mon 2 Mar 11:00–12:30\s+1 h 30 min/);
  const conflicts = await runCommand(Conflicts, ['--tz', 'UTC', '--config-dir', configDir]);
  t.regex(conflicts.stdout, /Standup.*e1.*Dentist.*e9/);
});

test('a forbidden agenda view exits 3', async (t) => {
  const forbidden = await FakeGateway.start(tls);
  t.teardown(() => forbidden.close());
  forbidden
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/agendas', errorAnswer(403, 'forbidden', 'you share no group with carol'));
  const dir = await temporaryConfigDir();
  await logIn(forbidden, tls, dir);
  const run = await runCommand(AgendaOfOthers, ['--users', 'carol', '--json', '--config-dir', dir]);
  t.is(run.exitCode, 3);
  t.like(parseJsonLine(run.stderr), {
    error: { code: 'forbidden', message: 'you share no group with carol' },
  });
});

test('feed create shows the URL once; feed list and revoke answer {feeds} and {feed}', async (t) => {
  const feed = {
    id: 'f1',
    label: 'phone',
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2031-01-01T00:00:00.000Z',
  };
  gateway
    .on('POST', '/v1/feeds', {
      status: 200,
      json: { url: 'https://127.0.0.1:8443/v1/feeds/t.o.k/calendar.ics', feed },
    })
    .on('GET', '/v1/feeds', { status: 200, json: { feeds: [feed] } })
    .on('DELETE', '/v1/feeds/:id', { status: 200, json: { feed } });
  const made = await runCommand(FeedCreate, ['--label', 'phone', '--config-dir', configDir]);
  t.is(made.exitCode, 0, made.stderr);
  t.regex(made.stdout, /^https:\/\/127\.0\.0\.1:8443\/v1\/feeds\/t\.o\.k\/calendar\.ics$/m);
  t.regex(made.stdout, /not shown again/);
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/feeds')[0]?.body ?? ''), {
    label: 'phone',
  });
  const listed = await envelope(t, FeedList, []);
  t.deepEqual(listed, { feeds: [feed] });
  const table = await runCommand(FeedList, ['--config-dir', configDir]);
  t.regex(table.stdout, /f1\s+phone/);
  const revoked = await envelope(t, FeedRevoke, ['f1']);
  t.deepEqual(revoked, { feed });
  t.is(gateway.requestsTo('DELETE', '/v1/feeds/f1').length, 1);
});
