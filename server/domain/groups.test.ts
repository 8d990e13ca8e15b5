import test from 'ava';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import {
  changeLevel,
  createGroup,
  declineGroupInvitation,
  inviteMember,
  joinGroup,
  leaveGroup,
  removeMember,
  showGroup,
  transferOwnership,
  unblockGroup,
} from './groups.js';
import { MAX_GROUP_MEMBERS } from '../../contract/limits.js';
import {
  at,
  commit,
  group,
  groupOf,
  record,
  recordsOf,
  statusOf,
  worldWith,
} from './test-fixtures.js';
import type { GroupRecord, Notification } from './types.js';

const now = at('2025-06-01T00:00:00Z');
// boss 0 > manager 1 > lead 2 > dev 3 (another manager at 1: peer)
const corp = group('corp', 'hierarchical', { boss: 0, manager: 1, manager2: 1, lead: 2, dev: 3 });
const club = group('club', 'flat', { olga: 0, pete: 0 });
const user = (username: string) => ({ username, displayName: username });

test('the creator owns a new group at level 0', (t) => {
  const d = createGroup(
    { actor: 'alice', name: 'team', kind: 'hierarchical' },
    { existing: undefined },
  );
  t.deepEqual(d.result, {
    name: 'team',
    kind: 'hierarchical',
    owner: 'alice',
    members: [{ username: 'alice', level: 0 }],
    invited: [],
  });
  t.deepEqual(d.mutations, [
    { kind: 'insertGroup', group: { name: 'team', kind: 'hierarchical', owner: 'alice' } },
    { kind: 'putMembership', membership: { group: 'team', username: 'alice', level: 0 } },
  ]);
  t.throws(
    () => createGroup({ actor: 'bob', name: 'team', kind: 'flat' }, { existing: d.result }),
    { instanceOf: Conflict },
  );
  t.throws(() => createGroup({ actor: 'bob', name: 'x', kind: 'flat' }, { existing: undefined }), {
    instanceOf: InvalidInput,
  });
  t.throws(
    () => createGroup({ actor: 'bob', name: 'team2', kind: 'tree' }, { existing: undefined }),
    { instanceOf: InvalidInput },
  );
});

/** 'ok', or the class of the error the rules raise. */
type Outcome = 'ok' | (new (message: string) => AgendaError);
const additions: ReadonlyArray<
  [string, GroupRecord, string, number | undefined, Outcome, number?]
> = [
  ['the owner adds at any level', corp, 'boss', 5, 'ok', 5],
  ['the owner adds by default one below', corp, 'boss', undefined, 'ok', 1],
  ['a member adds strictly below', corp, 'manager', 2, 'ok', 2],
  ['a member adds by default one below', corp, 'lead', undefined, 'ok', 3],
  ['a member adding at their own level', corp, 'manager', 1, Forbidden],
  ['a member adding above themselves', corp, 'lead', 1, Forbidden],
  ['a level that is not a whole number', corp, 'boss', 1.5, InvalidInput],
  ['a negative level', corp, 'boss', -1, InvalidInput],
  ['the owner of a flat group adds', club, 'olga', undefined, 'ok', 0],
  ['a member of a flat group adds', club, 'pete', undefined, Forbidden],
  ['a level in a flat group', club, 'olga', 1, InvalidInput],
];
for (const [name, g, actor, level, outcome, expectedLevel] of additions) {
  test(`add member (an invitation): ${name}`, (t) => {
    const run = () =>
      inviteMember(
        {
          actor,
          group: g.group.name,
          username: 'newbie',
          now,
          ...(level === undefined ? {} : { level }),
        },
        {
          group: g,
          user: user('newbie'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      );
    if (outcome === 'ok') {
      const d = run();
      t.deepEqual(d.mutations, [
        {
          kind: 'putGroupInvitation',
          invitation: {
            group: g.group.name,
            username: 'newbie',
            level: expectedLevel ?? 0,
            invitedBy: actor,
            invitedAt: now,
          },
        },
      ]);
      t.false(
        d.mutations.some((m) => m.kind === 'putMembership' || m.kind === 'putAttendee'),
        'nothing but the invitation until they join',
      );
      t.true(
        d.notifications.some(
          (n) => n.to === 'newbie' && n.kind === 'group' && n.change === 'invited',
        ),
      );
    } else {
      t.throws(run, { instanceOf: outcome });
    }
  });
}

test('add member (an invitation): unknown group, unknown user, outsiders, duplicates', (t) => {
  t.throws(
    () =>
      inviteMember(
        { actor: 'boss', group: 'nope', username: 'x', now },
        {
          group: undefined,
          user: user('xyz'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      inviteMember(
        { actor: 'boss', group: 'corp', username: 'ghost', now },
        {
          group: corp,
          user: undefined,
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: NotFound, message: /no user named ghost/ },
  );
  t.throws(
    () =>
      inviteMember(
        { actor: 'stranger', group: 'corp', username: 'newbie', now },
        {
          group: corp,
          user: user('newbie'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: Forbidden },
  );
  t.throws(
    () =>
      inviteMember(
        { actor: 'boss', group: 'corp', username: 'dev', now },
        {
          group: corp,
          user: user('dev'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: Conflict, message: /already a member/ },
  );
});

const removals: ReadonlyArray<[string, GroupRecord, string, string, Outcome]> = [
  ['the owner removes anyone', corp, 'boss', 'manager', 'ok'],
  ['a member removes someone strictly below', corp, 'manager', 'dev', 'ok'],
  ['a member removing a peer', corp, 'manager', 'manager2', Forbidden],
  ['a member removing a superior', corp, 'lead', 'manager', Forbidden],
  ['anybody removing the owner', corp, 'manager', 'boss', Forbidden],
  ['removing yourself', corp, 'lead', 'lead', InvalidInput],
  ['removing a non-member', corp, 'boss', 'stranger', NotFound],
  ['the owner of a flat group removes', club, 'olga', 'pete', 'ok'],
  ['a member of a flat group removing', club, 'pete', 'olga', Forbidden],
];
for (const [name, g, actor, target, outcome] of removals) {
  test(`remove member: ${name}`, (t) => {
    const run = () =>
      removeMember(
        { actor, group: g.group.name, username: target, now },
        { group: g, groupEvents: [] },
      );
    if (outcome === 'ok') {
      const d = run();
      t.deepEqual(d.mutations[0], {
        kind: 'deleteMembership',
        group: g.group.name,
        username: target,
      });
      t.false(d.result.members.some((m) => m.username === target));
    } else {
      t.throws(run, { instanceOf: outcome });
    }
  });
}

test('anyone may leave; the owner only last, which dissolves the group', (t) => {
  const left = leaveGroup({ actor: 'dev', group: 'corp', now }, { group: corp, groupEvents: [] });
  t.deepEqual(left.mutations, [{ kind: 'deleteMembership', group: 'corp', username: 'dev' }]);
  t.throws(
    () => leaveGroup({ actor: 'boss', group: 'corp', now }, { group: corp, groupEvents: [] }),
    {
      instanceOf: Forbidden,
      message: /hand it to another member first \(agenda group transfer corp <member>\)/,
    },
  );
  t.throws(
    () => leaveGroup({ actor: 'stranger', group: 'corp', now }, { group: corp, groupEvents: [] }),
    { instanceOf: NotFound },
  );

  const solo = group('solo', 'flat', { alice: 0 });
  const future = record({
    id: 'f',
    start: at('2025-07-01T10:00:00Z'),
    group: { name: 'solo', kind: 'flat' },
  });
  const d = leaveGroup(
    { actor: 'alice', group: 'solo', now },
    { group: solo, groupEvents: [future] },
  );
  t.is(d.result.group, null);
  t.deepEqual(d.mutations.slice(0, 2), [
    { kind: 'deleteMembership', group: 'solo', username: 'alice' },
    { kind: 'deleteGroup', group: 'solo' },
  ]);
  t.like(d.mutations[2], { kind: 'updateEvent', event: { id: 'f', group: null } });
});

/** Who may move whom where: [why, actor, member, new level, outcome]. */
const levelChanges: ReadonlyArray<[string, string, string, number, Outcome]> = [
  // Up (a lower number): the mover's authority is enough.
  ['the owner moves a member up', 'boss', 'dev', 1, 'ok'],
  ['the owner moves a member up to level 0', 'boss', 'lead', 0, 'ok'],
  ['a member above both levels moves one up', 'manager', 'dev', 2, 'ok'],
  ['a member moves one up to their own level', 'manager', 'dev', 1, Forbidden],
  ['a member moves one up above themselves', 'lead', 'dev', 1, Forbidden],
  ['a member moves a peer', 'manager', 'manager2', 2, Forbidden],
  ['a member moves a superior', 'lead', 'manager', 3, Forbidden],
  ['a member raises themselves', 'lead', 'lead', 1, Forbidden],
  // Down (a higher number): under new superiors, so only by the member's own command.
  ['the owner moves a member down', 'boss', 'manager', 2, Forbidden],
  ['a member above both levels moves one down', 'manager', 'lead', 3, Forbidden],
  ['a member moves themselves down', 'lead', 'lead', 4, 'ok'],
  ['the owner moves a member down past nobody', 'boss', 'dev', 9, Forbidden],
];

for (const [why, actor, username, level, outcome] of levelChanges) {
  test(`levels: ${why}`, (t) => {
    const change = () => changeLevel({ actor, group: 'corp', username, level }, { group: corp });
    if (outcome !== 'ok') {
      t.throws(change, { instanceOf: outcome });
      return;
    }
    const d = change();
    t.deepEqual(d.mutations, [
      { kind: 'putMembership', membership: { group: 'corp', username, level } },
    ]);
    t.is(d.result.members.find((m) => m.username === username)?.level, level);
    // The member is told, or when they moved themselves, the owner.
    t.deepEqual(
      d.notifications.map((n) => n.to),
      [actor === username ? 'boss' : username],
    );
  });
}

test('moving a member down says whom it would put above them and who can consent', (t) => {
  t.throws(
    () =>
      changeLevel({ actor: 'boss', group: 'corp', username: 'manager', level: 3 }, { group: corp }),
    {
      instanceOf: Forbidden,
      message:
        'moving manager down to level 3 puts them under lead, manager2, who would see their busy events in full and impose events on them; that needs their consent: only manager can move themselves down',
    },
  );
});

test('the owner stays at level 0, a flat group has no levels, the same level changes nothing', (t) => {
  t.throws(
    () =>
      changeLevel({ actor: 'boss', group: 'corp', username: 'boss', level: 1 }, { group: corp }),
    { instanceOf: InvalidInput },
  );
  t.throws(
    () =>
      changeLevel({ actor: 'olga', group: 'club', username: 'pete', level: 1 }, { group: club }),
    { instanceOf: InvalidInput, message: /flat/ },
  );
  t.throws(
    () =>
      changeLevel({ actor: 'boss', group: 'corp', username: 'ghost', level: 1 }, { group: corp }),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      changeLevel({ actor: 'stranger', group: 'corp', username: 'dev', level: 1 }, { group: corp }),
    { instanceOf: Forbidden },
  );
  const same = changeLevel(
    { actor: 'boss', group: 'corp', username: 'dev', level: 3 },
    { group: corp },
  );
  t.deepEqual(same.mutations, []);
  t.deepEqual(same.notifications, []);
});

test('ownership transfer swaps levels so nobody else moves', (t) => {
  const d = transferOwnership({ actor: 'boss', group: 'corp', to: 'lead' }, { group: corp });
  t.is(d.result.owner, 'lead');
  t.deepEqual(
    d.result.members.map((m) => [m.username, m.level]),
    [
      ['lead', 0],
      ['manager', 1],
      ['manager2', 1],
      ['boss', 2],
      ['dev', 3],
    ],
  );
  t.throws(
    () => transferOwnership({ actor: 'manager', group: 'corp', to: 'dev' }, { group: corp }),
    { instanceOf: Forbidden },
  );
  t.throws(
    () => transferOwnership({ actor: 'boss', group: 'corp', to: 'ghost' }, { group: corp }),
    { instanceOf: NotFound },
  );
});

test('a group is shown to its members only', (t) => {
  t.is(showGroup({ actor: 'dev', group: 'corp' }, { group: corp }).members.length, 5);
  t.throws(() => showGroup({ actor: 'stranger', group: 'corp' }, { group: corp }), {
    instanceOf: Forbidden,
  });
  t.deepEqual(showGroup({ actor: 'pete', group: 'club' }, { group: club }).members, [
    { username: 'olga', level: null },
    { username: 'pete', level: null },
  ]);
});

test('a newcomer receives future events: imposed from superiors, invitations from the others', (t) => {
  const hier = { name: 'corp', kind: 'hierarchical' } as const;
  const events = [
    record({ id: 'by-boss', organizer: 'boss', start: at('2025-06-10T09:00:00Z'), group: hier }),
    record({ id: 'by-lead', organizer: 'lead', start: at('2025-06-11T09:00:00Z'), group: hier }),
    record({ id: 'by-dev', organizer: 'dev', start: at('2025-06-12T09:00:00Z'), group: hier }),
    record({ id: 'past', organizer: 'boss', start: at('2025-05-01T09:00:00Z'), group: hier }),
    record({
      id: 'cancelled',
      organizer: 'boss',
      start: at('2025-06-13T09:00:00Z'),
      group: hier,
      status: 'cancelled',
    }),
    record({
      id: 'other-group',
      organizer: 'boss',
      start: at('2025-06-13T09:00:00Z'),
      group: { name: 'x', kind: 'hierarchical' },
    }),
    record({
      id: 'endless-weekly',
      organizer: 'manager',
      start: at('2024-01-01T09:00:00Z'),
      group: hier,
      recurrence: { rule: { freq: 'WEEKLY', interval: 1 }, exceptions: [] },
    }),
  ];
  let world = worldWith([corp], events, ['newbie']);
  world = commit(
    world,
    inviteMember(
      { actor: 'lead', group: 'corp', username: 'newbie', level: 3, now },
      {
        group: groupOf(world, 'corp'),
        user: user('newbie'),
        blocked: false,
        invitationsWaiting: 0,
        invitationsFromActor: 0,
      },
    ),
  );
  t.is(statusOf(world, 'by-boss', 'newbie'), undefined, 'nothing is imposed before joining');
  world = commit(
    world,
    joinGroup(
      { actor: 'newbie', group: 'corp', now },
      { group: groupOf(world, 'corp'), groupEvents: recordsOf(world) },
    ),
  );
  t.is(statusOf(world, 'by-boss', 'newbie'), 'accepted');
  t.is(statusOf(world, 'by-lead', 'newbie'), 'accepted');
  t.is(statusOf(world, 'endless-weekly', 'newbie'), 'accepted');
  t.is(statusOf(world, 'by-dev', 'newbie'), 'pending', 'a peer organized it');
  t.is(statusOf(world, 'past', 'newbie'), undefined);
  t.is(statusOf(world, 'cancelled', 'newbie'), undefined);
  t.is(statusOf(world, 'other-group', 'newbie'), undefined);
  t.is(
    world.attendees.find((a) => a.eventId === 'by-boss' && a.username === 'newbie')?.role,
    'imposed',
  );
});

test('in a flat group a newcomer joins only the events still waiting for answers', (t) => {
  const flat = { name: 'club', kind: 'flat' } as const;
  const events = [
    record(
      {
        id: 'waiting',
        organizer: 'olga',
        start: at('2025-06-10T09:00:00Z'),
        group: flat,
        status: 'pending',
      },
      { pete: 'pending' },
    ),
    record(
      { id: 'decided', organizer: 'olga', start: at('2025-06-11T09:00:00Z'), group: flat },
      { pete: 'accepted' },
    ),
  ];
  const invited = commit(
    worldWith([club], events, ['quinn']),
    inviteMember(
      { actor: 'olga', group: 'club', username: 'quinn', now },
      {
        group: club,
        user: user('quinn'),
        blocked: false,
        invitationsWaiting: 0,
        invitationsFromActor: 0,
      },
    ),
  );
  const d = joinGroup(
    { actor: 'quinn', group: 'club', now },
    { group: groupOf(invited, 'club'), groupEvents: events },
  );
  const world = commit(invited, d);
  t.is(statusOf(world, 'waiting', 'quinn'), 'pending');
  t.is(statusOf(world, 'decided', 'quinn'), undefined);
  t.true(
    d.notifications.some(
      (n: Notification) => n.kind === 'event' && n.to === 'quinn' && n.change === 'invited',
    ),
  );
});

test('leaving drops you from future group events, and a flat event waiting only for you is confirmed', (t) => {
  const flat = { name: 'club', kind: 'flat' } as const;
  const trio = group('club', 'flat', { olga: 0, pete: 0, quinn: 0 });
  const events = [
    record(
      {
        id: 'waiting',
        organizer: 'olga',
        start: at('2025-06-10T09:00:00Z'),
        group: flat,
        status: 'pending',
      },
      { pete: 'accepted', quinn: 'pending' },
    ),
    record(
      {
        id: 'quinns',
        organizer: 'quinn',
        start: at('2025-06-12T09:00:00Z'),
        group: flat,
        status: 'pending',
      },
      { olga: 'pending', pete: 'pending' },
    ),
    record(
      { id: 'old', organizer: 'olga', start: at('2025-05-10T09:00:00Z'), group: flat },
      { pete: 'accepted', quinn: 'accepted' },
    ),
  ];
  const d = leaveGroup(
    { actor: 'quinn', group: 'club', now },
    { group: trio, groupEvents: events },
  );
  const world = commit(worldWith([trio], events), d);
  t.is(statusOf(world, 'waiting', 'quinn'), undefined);
  t.is(world.events.get('waiting')?.status, 'confirmed');
  t.is(statusOf(world, 'quinns', 'quinn'), 'accepted', 'an organizer keeps their own events');
  t.is(statusOf(world, 'old', 'quinn'), 'accepted', 'history stays');
  t.true(
    d.notifications.some((n) => n.kind === 'event' && n.to === 'pete' && n.change === 'confirmed'),
  );
  t.true(
    d.notifications.some((n) => n.kind === 'event' && n.to === 'quinn' && n.change === 'removed'),
  );
});

// ---------------------------------------------------------------------------------------
// Membership by consent

/** corp, with newbie invited by `by` at `level` (committed). */
function invitedWorld(by = 'manager', level = 2) {
  return commit(
    worldWith([corp], [], ['newbie']),
    inviteMember(
      { actor: by, group: 'corp', username: 'newbie', level, now },
      {
        group: corp,
        user: user('newbie'),
        blocked: false,
        invitationsWaiting: 0,
        invitationsFromActor: 0,
      },
    ),
  );
}

test('an invitee is no member until they join: the group lists them as invited only', (t) => {
  const world = invitedWorld();
  const record = groupOf(world, 'corp')!;
  t.false(record.members.some((m) => m.username === 'newbie'));
  t.deepEqual(showGroup({ actor: 'boss', group: 'corp' }, { group: record }).invited, [
    { username: 'newbie', level: 2, invitedBy: 'manager' },
  ]);
  t.throws(() => showGroup({ actor: 'newbie', group: 'corp' }, { group: record }), {
    instanceOf: Forbidden,
  });
  const joined = joinGroup(
    { actor: 'newbie', group: 'corp', now },
    { group: record, groupEvents: [] },
  );
  t.deepEqual(
    joined.result.members.find((m) => m.username === 'newbie'),
    { username: 'newbie', level: 2 },
  );
  t.deepEqual(joined.result.invited, []);
  t.true(
    joined.notifications.some(
      (n) => n.kind === 'group' && n.to === 'boss' && n.change === 'member_joined',
    ),
  );
  t.true(
    joined.notifications.some(
      (n) => n.kind === 'group' && n.to === 'manager' && n.change === 'member_joined',
    ),
    'the inviter hears too',
  );
});

test('joining needs an invitation: a stranger cannot join, nor join twice', (t) => {
  t.throws(
    () => joinGroup({ actor: 'stranger', group: 'corp', now }, { group: corp, groupEvents: [] }),
    { instanceOf: NotFound, message: /no invitation to corp/ },
  );
  t.throws(
    () => joinGroup({ actor: 'dev', group: 'corp', now }, { group: corp, groupEvents: [] }),
    { instanceOf: Conflict },
  );
  t.throws(
    () => joinGroup({ actor: 'x', group: 'nope', now }, { group: undefined, groupEvents: [] }),
    { instanceOf: NotFound },
  );
});

test('declining removes the invitation and tells the inviter; --block refuses the next one', (t) => {
  const world = invitedWorld();
  const declined = declineGroupInvitation(
    { actor: 'newbie', group: 'corp', block: true },
    { group: groupOf(world, 'corp'), blocked: false },
  );
  t.deepEqual(declined.result, { group: 'corp', declined: true, blocked: true });
  t.true(
    declined.notifications.some(
      (n) => n.kind === 'group' && n.to === 'manager' && n.change === 'invitation_declined',
    ),
  );
  const after = commit(world, declined);
  t.deepEqual(groupOf(after, 'corp')!.invitations, []);
  t.throws(
    () =>
      inviteMember(
        { actor: 'boss', group: 'corp', username: 'newbie', now },
        {
          group: groupOf(after, 'corp'),
          user: user('newbie'),
          blocked: true,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: Forbidden, message: /does not accept invitations to corp/ },
  );
  const unblocked = unblockGroup(
    { actor: 'newbie', group: 'corp' },
    { group: groupOf(after, 'corp'), blocked: true },
  );
  t.deepEqual(unblocked.mutations, [
    { kind: 'deleteGroupBlock', group: 'corp', username: 'newbie' },
  ]);
  t.throws(
    () => unblockGroup({ actor: 'newbie', group: 'corp' }, { group: corp, blocked: false }),
    { instanceOf: NotFound },
  );
});

test('declining without an invitation is refused, unless it only blocks', (t) => {
  t.throws(
    () =>
      declineGroupInvitation(
        { actor: 'newbie', group: 'corp', block: false },
        { group: corp, blocked: false },
      ),
    { instanceOf: NotFound },
  );
  const blockOnly = declineGroupInvitation(
    { actor: 'newbie', group: 'corp', block: true },
    { group: corp, blocked: false },
  );
  t.deepEqual(blockOnly.result, { group: 'corp', declined: false, blocked: true });
  t.deepEqual(blockOnly.notifications, [], 'nobody is told of a block');
  t.throws(
    () =>
      declineGroupInvitation(
        { actor: 'dev', group: 'corp', block: false },
        { group: corp, blocked: false },
      ),
    { instanceOf: Conflict, message: /leave it instead/ },
  );
});

test('an invitation is withdrawn by the inviter, the owner or a member above both, not by others', (t) => {
  const world = invitedWorld('manager', 3);
  const record = groupOf(world, 'corp')!;
  for (const actor of ['manager', 'boss']) {
    const d = removeMember(
      { actor, group: 'corp', username: 'newbie', now },
      { group: record, groupEvents: [] },
    );
    t.deepEqual(d.mutations, [
      { kind: 'deleteGroupInvitation', group: 'corp', username: 'newbie' },
    ]);
    t.true(
      d.notifications.some(
        (n) => n.kind === 'group' && n.to === 'newbie' && n.change === 'invitation_withdrawn',
      ),
    );
  }
  // lead is above the level offered (3) but below the manager who sent it; dev is neither;
  // manager2 is the manager's peer.
  for (const actor of ['lead', 'dev', 'manager2']) {
    t.throws(
      () =>
        removeMember(
          { actor, group: 'corp', username: 'newbie', now },
          { group: record, groupEvents: [] },
        ),
      { instanceOf: Forbidden, message: /invited to corp by manager/ },
      actor,
    );
  }
});

test("a member below an invitation's inviter cannot invite the same person again", (t) => {
  // The owner invites newbie at level 1; lead (level 2) would re-invite at level 3 and so
  // become the inviter of record and newbie's superior (outside attack).
  const record = groupOf(invitedWorld('boss', 1), 'corp')!;
  const context = {
    group: record,
    user: user('newbie'),
    blocked: false,
    invitationsWaiting: 0,
    invitationsFromActor: 0,
  };
  for (const [actor, level] of [
    ['lead', 3],
    ['manager', 2],
  ] as const) {
    t.throws(
      () => inviteMember({ actor, group: 'corp', username: 'newbie', level, now }, context),
      { instanceOf: Forbidden, message: /invited to corp by boss; only they, the owner/ },
    );
  }
  const boss = inviteMember(
    { actor: 'boss', group: 'corp', username: 'newbie', level: 2, now },
    context,
  );
  t.deepEqual(boss.result.invited, [{ username: 'newbie', level: 2, invitedBy: 'boss' }]);
});

test('inviting again changes the level; the same invitation twice is a conflict', (t) => {
  const record = groupOf(invitedWorld('boss', 2), 'corp')!;
  const again = inviteMember(
    { actor: 'boss', group: 'corp', username: 'newbie', level: 4, now },
    {
      group: record,
      user: user('newbie'),
      blocked: false,
      invitationsWaiting: 0,
      invitationsFromActor: 0,
    },
  );
  t.deepEqual(again.result.invited, [{ username: 'newbie', level: 4, invitedBy: 'boss' }]);
  t.throws(
    () =>
      inviteMember(
        { actor: 'boss', group: 'corp', username: 'newbie', level: 2, now },
        {
          group: record,
          user: user('newbie'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: Conflict, message: /already invited/ },
  );
});

test('a group is full counting its pending invitations', (t) => {
  const members = Object.fromEntries(
    Array.from({ length: MAX_GROUP_MEMBERS - 1 }, (_, i) => [`m${i}`, i === 0 ? 0 : 1]),
  );
  const big = group('big', 'hierarchical', members);
  const withOne = commit(
    worldWith([big], [], ['one', 'two']),
    inviteMember(
      { actor: 'm0', group: 'big', username: 'one', now },
      {
        group: big,
        user: user('one'),
        blocked: false,
        invitationsWaiting: 0,
        invitationsFromActor: 0,
      },
    ),
  );
  t.throws(
    () =>
      inviteMember(
        { actor: 'm0', group: 'big', username: 'two', now },
        {
          group: groupOf(withOne, 'big'),
          user: user('two'),
          blocked: false,
          invitationsWaiting: 0,
          invitationsFromActor: 0,
        },
      ),
    { instanceOf: InvalidInput, message: /counting pending invitations/ },
  );
});

test('dissolving a group withdraws its invitations and tells those invited', (t) => {
  const solo = group('solo', 'flat', { olga: 0 });
  const world = commit(
    worldWith([solo], [], ['quinn']),
    inviteMember(
      { actor: 'olga', group: 'solo', username: 'quinn', now },
      {
        group: solo,
        user: user('quinn'),
        blocked: false,
        invitationsWaiting: 0,
        invitationsFromActor: 0,
      },
    ),
  );
  const d = leaveGroup(
    { actor: 'olga', group: 'solo', now },
    { group: groupOf(world, 'solo'), groupEvents: [] },
  );
  t.deepEqual(commit(world, d).invitations, []);
  t.true(
    d.notifications.some(
      (n) => n.kind === 'group' && n.to === 'quinn' && n.change === 'invitation_withdrawn',
    ),
  );
});
