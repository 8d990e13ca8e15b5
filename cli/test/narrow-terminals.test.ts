/**
 * Every view fits the terminal it is drawn in, from 20 columns (a phone's terminal, a split
 * pane) to 80: no line of `agenda`, `today`, `week`, `month`, `search`, `invite list`,
 * `group list`, `group show`, `group create` or `event show` is wider than the terminal, measured in display cells with
 * CJK and emoji titles and the longest names a group and a user may have — whether the
 * width is the terminal's own or `$COLUMNS` (piped too).
 */
import { stripVTControlCharacters } from 'node:util';
import test from 'ava';
import { DateTime } from 'luxon';
import { displayWidth, loadDisplayWidths } from '../../base/table.js';
import { GROUP_NAME_MAX_LENGTH, USERNAME_MAX_LENGTH } from '../../contract/limits.js';
import type { EventView } from '../../contract/views.js';
import EventList from '../commands/event/list.js';
import EventShow from '../commands/event/show.js';
import GroupCreate from '../commands/group/create.js';
import GroupList from '../commands/group/list.js';
import GroupShow from '../commands/group/show.js';
import Home from '../commands/home.js';
import InviteList from '../commands/invite/list.js';
import Month from '../commands/month.js';
import Search from '../commands/search.js';
import Today from '../commands/today.js';
import Week from '../commands/week.js';
import { FakeGateway, createTestTls } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { eventDetails, eventView, groupView, logIn, loginAnswer } from './support/fixtures.js';
import type { RunnableCommand } from './support/harness.js';
import { RecordedTerminal, runCommand, temporaryConfigDir } from './support/harness.js';

const WIDTHS = [20, 40, 50, 80, 100] as const;

/** The longest group name and username there may be. */
const GROUP = 'platform-engineering-north-west-'.padEnd(GROUP_NAME_MAX_LENGTH, 'x');
const OWNER = 'someone-'.padEnd(USERNAME_MAX_LENGTH, 'y');

/** Today's events (in UTC), a long CJK title, an emoji one awaiting an answer and conflicting. */
function todaysEvents(): EventView[] {
  const midnight = DateTime.now().setZone('UTC').startOf('day');
  const at = (hours: number) => midnight.plus({ hours }).toISO() ?? '';
  return [
    eventView({
      id: 'abcd1111aaaaaaaa',
      title: 'Standup',
      start: at(8),
      end: at(8.25),
      recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
      group: 'team',
    }),
    eventView({
      id: 'abcd2222bbbbbbbb',
      title: '取締役会と四半期の業績見通しの確認',
      start: at(10),
      end: at(11),
      location: '会議室 3, 東京都千代田区丸の内',
    }),
    eventView({
      id: 'zz99aa00bb11cc22',
      title: 'Retro 🎯 with the whole platform team 🚀',
      start: at(14),
      end: at(39),
      myStatus: 'pending',
      conflict: true,
    }),
  ];
}

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
  await loadDisplayWidths();
});

async function narrowGateway(): Promise<{ gateway: FakeGateway; configDir: string }> {
  const events = todaysEvents();
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', { status: 200, json: { events, next: null } })
    .on('GET', '/v1/search', { status: 200, json: { events, next: null } })
    .on('GET', '/v1/invitations', {
      status: 200,
      json: {
        invitations: [eventDetails({ id: 'invite99zzzzzzzz', title: 'Party 🎉 on the roof' })],
        groupInvitations: [
          {
            group: GROUP,
            kind: 'hierarchical',
            level: 3,
            invitedBy: OWNER,
            members: 12,
            invitedAt: '2026-03-01T10:00:00Z',
          },
        ],
      },
    })
    .on('GET', '/v1/groups', {
      status: 200,
      json: { groups: [groupView({ name: GROUP, owner: OWNER }), groupView()] },
    })
    .on('POST', '/v1/groups', {
      status: 200,
      json: {
        group: groupView({
          name: GROUP,
          owner: OWNER,
          kind: 'flat',
          members: [{ username: OWNER, level: null }],
        }),
      },
    })
    .on('GET', '/v1/events/:id', {
      status: 200,
      json: {
        event: eventDetails({
          id: 'abcd2222bbbbbbbb',
          title: '取締役会と四半期の業績見通しの確認 with the whole platform team 🚀',
          location: '会議室 3, 東京都千代田区丸の内 2-7-2, JP Tower, 27th floor',
          description:
            'Agenda: the quarter in numbers, hiring for the platform team, and what we stop doing.\nBring your own laptop.',
          recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
          reminders: [10, 1440],
          organizer: OWNER,
          group: GROUP,
          conflict: true,
          attendees: [
            { username: OWNER, status: 'accepted', role: 'organizer' },
            { username: 'bob', status: 'pending', role: 'invitee' },
            { username: 'carol', status: 'declined', role: 'invitee' },
          ],
        }),
      },
    })
    .on('GET', '/v1/groups/:name', {
      status: 200,
      json: {
        group: groupView({
          name: GROUP,
          owner: OWNER,
          members: [
            { username: OWNER, level: 0 },
            { username: 'bob', level: 1 },
          ],
          invited: [{ username: 'carol', level: 2, invitedBy: OWNER }],
        }),
      },
    });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir };
}

/** The lines `command` prints at `width` columns, the terminal's own, then `$COLUMNS` piped. */
async function linesAt(
  command: RunnableCommand,
  argv: readonly string[],
  width: number,
): Promise<{ readonly how: string; readonly lines: string[] }[]> {
  const terminals = {
    'a terminal': new RecordedTerminal({ tty: true, columns: width }),
    '$COLUMNS, piped': new RecordedTerminal({ env: { COLUMNS: String(width) } }),
  };
  const seen = [];
  for (const [how, terminal] of Object.entries(terminals)) {
    const run = await runCommand(command, argv, terminal);
    if (run.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${run.stderr}`);
    // The warnings on stderr fit too. A spinner (shown when the fake gateway is slow, as on a
    // loaded machine) is drawn and erased with carriage returns: what stays on a line is what
    // follows its last one.
    const shown = (out: string) =>
      stripVTControlCharacters(out)
        .split('\n')
        .map((line) => line.slice(line.lastIndexOf('\r') + 1))
        .join('\n');
    const text = `${shown(run.stdout)}${shown(run.stderr)}`.trimEnd();
    seen.push({ how, lines: text.split('\n') });
  }
  return seen;
}

const VIEWS: readonly [string, RunnableCommand, readonly string[], RegExp][] = [
  ['agenda', Home, [], /^ {2}#1 /m],
  ['today', Today, [], /^ {2}#1 /m],
  ['week', Week, [], /^ {2}#1 |│08:00/m],
  ['week --layout grid', Week, ['--layout', 'grid'], /┌|^ {2}#1 /m],
  ['month', Month, [], /^ {2}#1 |^├/m], // a grid from 100 columns
  ['month --layout grid', Month, ['--layout', 'grid'], /┌|^ {2}#1 /m],
  ['search', Search, ['retro'], /^ {2}#1 /m],
  ['invite list', InviteList, [], /^#1 /m],
  ['event list', EventList, [], /^#1 /m],
  ['group list', GroupList, [], /^platform-/m],
  ['group show', GroupShow, [GROUP], /^platform-/m],
  ['group create', GroupCreate, [GROUP], /^Created/m],
  [
    'event show',
    EventShow,
    ['abcd2222bbbbbbbb'],
    /^ {2}id +abcd2222bbbbbbbb|^ {4}abcd2222bbbbbbbb/m,
  ],
];

for (const [name, command, args, shows] of VIEWS) {
  test(`${name} fits 20, 40, 50, 80 and 100 columns`, async (t) => {
    const { gateway, configDir } = await narrowGateway();
    t.teardown(() => gateway.close());
    for (const width of WIDTHS) {
      for (const { how, lines } of await linesAt(
        command,
        [...args, '--tz', 'UTC', '--config-dir', configDir],
        width,
      )) {
        const wide = lines.filter((line) => displayWidth(line) > width);
        t.deepEqual(wide, [], `${width} columns (${how}):\n${lines.join('\n')}`);
        t.regex(lines.join('\n'), shows, `${width} columns (${how}):\n${lines.join('\n')}`);
      }
    }
  });
}

test('agenda logged out says how to start in 20, 40, 50, 80 and 100 columns', async (t) => {
  const configDir = await temporaryConfigDir();
  for (const width of WIDTHS) {
    for (const { how, lines } of await linesAt(Home, ['--config-dir', configDir], width)) {
      const wide = lines.filter((line) => displayWidth(line) > width);
      t.deepEqual(wide, [], `${width} columns (${how}):\n${lines.join('\n')}`);
      // The commands to run are all there, broken at their spaces where they must be.
      const text = lines.join(' ').replaceAll(/\s+/g, ' ');
      t.true(text.includes('agenda register <username> --server'), text);
      t.true(text.includes('agenda login <username> --server'), text);
    }
  }
});

test('a grid asked for on a terminal too narrow for it lists the events instead, saying why', async (t) => {
  const { gateway, configDir } = await narrowGateway();
  t.teardown(() => gateway.close());
  const run = await runCommand(
    Week,
    ['--layout', 'grid', '--tz', 'UTC', '--config-dir', configDir],
    new RecordedTerminal({ env: { COLUMNS: '30' } }),
  );
  t.is(run.exitCode, 0, run.stderr);
  t.notRegex(run.stdout, /[┌│]/);
  t.regex(run.stdout, /^ {2}#1 /m);
  // Broken at spaces to fit, as the output is.
  t.regex(
    run.stderr.replaceAll(/\s+/g, ' '),
    /^warning: a grid needs 36 columns and there are 30: the events are listed by day instead $/,
  );
  t.false(
    run.stderr.split('\n').some((line) => displayWidth(line) > 30),
    run.stderr,
  );
});

/** A day of events in every state a row can be in, with titles as people write them. */
function statesOfEvents(): EventView[] {
  const midnight = DateTime.now().setZone('UTC').startOf('day').plus({ days: 1 });
  const at = (hours: number) => midnight.plus({ hours }).toISO() ?? '';
  return [
    eventView({
      id: 'live0000aaaaaaaa',
      title: 'Standup with the platform team',
      start: at(9),
      end: at(9.25),
    }),
    eventView({
      id: 'many0000bbbbbbbb',
      title: 'Many 2 planning for the quarter',
      start: at(10),
      end: at(11),
      status: 'cancelled',
    }),
    eventView({
      id: 'asks0000cccccccc',
      title: 'Design review of the new calendar',
      start: at(12),
      end: at(13),
      myStatus: 'pending',
    }),
  ];
}

async function statesGateway(events: readonly EventView[]) {
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', { status: 200, json: { events, next: null } })
    .on('GET', '/v1/invitations', {
      status: 200,
      json: {
        invitations: [
          eventDetails({
            id: 'grpinvite0000000',
            title: 'grp offsite in Lisbon with everyone',
            start: events[0]?.start ?? '',
            end: events[0]?.end ?? '',
            myStatus: 'pending',
            organizer: 'bob',
          }),
        ],
        groupInvitations: [],
      },
    });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir };
}

test('event list keeps cancelled and unanswered events marked at every width', async (t) => {
  // Outside attack 8: at 40–50 columns STATUS went and a cancelled row looked live.
  const { gateway, configDir } = await statesGateway(statesOfEvents());
  t.teardown(() => gateway.close());
  for (const width of [30, 40, 50, 80, 100, 120]) {
    for (const { how, lines } of await linesAt(
      EventList,
      ['--tz', 'UTC', '--config-dir', configDir],
      width,
    )) {
      const text = lines.join('\n');
      const seen = `${width} columns (${how}):\n${text}`;
      t.deepEqual(
        lines.filter((line) => displayWidth(line) > width),
        [],
        seen,
      );
      const rows = lines.filter((line) => /^#\d/.test(line));
      t.is(rows.length, 3, seen);
      const [live, cancelled, asks] = rows;
      const status = lines[0]?.includes('STATUS') === true;
      // The STATUS column says it, else a mark on the title, explained under the list.
      t.regex(cancelled ?? '', status ? /cancelled/ : /✗ Many/, seen);
      t.regex(asks ?? '', status ? /you: pending/ : /\? Design/, seen);
      t.notRegex(live ?? '', /[✗?] Standup/, seen);
      if (!status) t.regex(text, /✗ cancelled/, seen);
    }
  }
});

test('event list and invite list give the title the room first, without empty columns', async (t) => {
  // Outside attack 14: at 100 columns the title was `Stan…` beside an empty CONFLICT and
  // GROUP; invite list showed `grp …`.
  const { gateway, configDir } = await statesGateway(statesOfEvents());
  t.teardown(() => gateway.close());
  for (const width of [80, 100]) {
    for (const { how, lines } of await linesAt(
      EventList,
      ['--tz', 'UTC', '--config-dir', configDir],
      width,
    )) {
      const text = lines.join('\n');
      const seen = `${width} columns (${how}):\n${text}`;
      t.notRegex(lines[0] ?? '', /CONFLICT|GROUP/, seen);
      // Every title whole or with 24 cells at least.
      t.regex(text, /Standup with the platfor/, seen);
      t.regex(text, /Design review of the new c/, seen);
    }
    for (const { how, lines } of await linesAt(
      InviteList,
      ['--tz', 'UTC', '--config-dir', configDir],
      width,
    )) {
      const text = lines.join('\n');
      t.regex(text, /grp offsite in Lisbon with/, `${width} columns (${how}):\n${text}`);
    }
  }
});
