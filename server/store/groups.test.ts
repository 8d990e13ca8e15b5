/**
 * Groups through the store: membership rules, group events in hierarchical and flat
 * groups, and membership changes reaching into the events already scheduled.
 */
import test from 'ava';
import {
  MAX_PENDING_GROUP_INVITATIONS,
  MAX_PENDING_GROUP_INVITATIONS_FROM_ONE,
} from '../../contract/limits.js';
import { at, openStore, StoreClient } from './test-support.js';

const FEB = { from: at('2025-02-01T00:00:00Z'), to: at('2025-03-01T00:00:00Z') };
const SYNC = { title: 'Sync', start: at('2025-02-05T10:00:00Z'), end: at('2025-02-05T11:00:00Z') };

function statusIn(c: StoreClient, who: string, eventId: string): string | undefined {
  return c.read(who, { type: 'event.list', ...FEB }).events.find((e) => e.id === eventId)?.myStatus;
}

async function team(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'carol', 'dave', 'erin', 'frank');
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob', level: 1 });
  c.ok('bob', { type: 'group.join', group: 'team' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'carol', level: 2 });
  c.ok('carol', { type: 'group.join', group: 'team' });
  return c;
}

test('membership rules are enforced on stored groups, and members are shown by rank', async (t) => {
  const c = await team();
  t.is(c.refused('erin', { type: 'group.create', name: 'team', kind: 'flat' }).code, 'conflict');
  // Bob (level 1) adds below himself, not at his own level.
  c.ok('bob', { type: 'group.addMember', group: 'team', username: 'dave', level: 2 });
  c.ok('dave', { type: 'group.join', group: 'team' });
  t.is(
    c.refused('bob', { type: 'group.addMember', group: 'team', username: 'erin', level: 1 }).code,
    'forbidden',
  );
  t.is(
    c.refused('alice', { type: 'group.addMember', group: 'team', username: 'ghost' }).code,
    'not_found',
  );
  t.deepEqual(c.read('carol', { type: 'group.show', group: 'team' }).group.members, [
    { username: 'alice', level: 0 },
    { username: 'bob', level: 1 },
    { username: 'carol', level: 2 },
    { username: 'dave', level: 2 },
  ]);
  const outsider = c.ask('erin', { type: 'group.show', group: 'team' });
  t.false(outsider.ok);
  if (!outsider.ok) t.is(outsider.error.code, 'forbidden');

  // Moving dave down needs his consent: the owner may not, he may himself.
  t.is(
    c.refused('alice', { type: 'group.changeLevel', group: 'team', username: 'dave', level: 5 })
      .code,
    'forbidden',
  );
  c.ok('dave', { type: 'group.changeLevel', group: 'team', username: 'dave', level: 5 });
  const handed = c.ok('alice', { type: 'group.transferOwnership', group: 'team', to: 'bob' });
  t.is(handed.group.owner, 'bob');
  t.deepEqual(
    handed.group.members.map((m) => `${m.username}:${String(m.level)}`),
    ['bob:0', 'alice:1', 'carol:2', 'dave:5'],
  );
  t.deepEqual(
    c.read('dave', { type: 'group.list' }).groups.map((g) => g.name),
    ['team'],
  );
  t.deepEqual(c.read('erin', { type: 'group.list' }), { groups: [] });
});

test('a hierarchical group event is imposed below the organizer, and on members who join later', async (t) => {
  const c = await team();
  c.ok('carol', { type: 'event.create', draft: { ...SYNC, title: 'Focus' } });
  const sent = c.send(
    'bob',
    { type: 'event.create', draft: SYNC, group: 'team' },
    { ids: ['sync'] },
  );
  // Imposed anyway, and flagged: the store loaded Carol's commitments too.
  t.deepEqual(sent.ok ? sent.result.imposedConflicts : [], ['carol']);
  // Carol is below Bob: accepted at once. Alice is above: invited.
  t.is(statusIn(c, 'carol', 'sync'), 'accepted');
  t.is(statusIn(c, 'alice', 'sync'), 'pending');
  t.deepEqual(
    c.read('alice', { type: 'invitation.list' }).invitations.map((e) => e.id),
    ['sync'],
  );

  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'frank', level: 3 });
  t.is(statusIn(c, 'frank', 'sync'), undefined, 'nothing is imposed on an invitee');
  const joined = c.send('frank', { type: 'group.join', group: 'team' });
  t.true(joined.ok);
  if (joined.ok) {
    t.true(
      joined.notifications.some(
        (n) => n.kind === 'event' && n.to === 'frank' && n.change === 'imposed',
      ),
    );
  }
  t.is(statusIn(c, 'frank', 'sync'), 'accepted');
  // An imposed event cannot be declined.
  t.is(c.refused('frank', { type: 'invitation.decline', eventId: 'sync' }).code, 'forbidden');

  // Removed and leaving members stop attending the group's future events.
  c.ok('bob', { type: 'group.removeMember', group: 'team', username: 'frank' });
  t.is(statusIn(c, 'frank', 'sync'), undefined);
  t.deepEqual(c.ok('carol', { type: 'group.leave', group: 'team' }).group?.members.length, 2);
  t.is(statusIn(c, 'carol', 'sync'), undefined);
  t.deepEqual(
    c.read('bob', { type: 'event.show', eventId: 'sync' }).event.attendees.map((a) => a.username),
    ['bob', 'alice'],
  );
});

test('a flat group event waits for everyone, is confirmed by the last yes and cancelled by a no', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('olga', 'pete', 'quin');
  c.ok('olga', { type: 'group.create', name: 'club', kind: 'flat' });
  c.ok('olga', { type: 'group.addMember', group: 'club', username: 'pete' });
  c.ok('pete', { type: 'group.join', group: 'club' });
  c.ok('olga', { type: 'group.addMember', group: 'club', username: 'quin' });
  c.ok('quin', { type: 'group.join', group: 'club' });
  t.is(
    c.refused('pete', { type: 'group.addMember', group: 'club', username: 'olga' }).code,
    'conflict',
  );

  const created = c.ok(
    'pete',
    { type: 'event.create', draft: SYNC, group: 'club' },
    { ids: ['m1'] },
  );
  t.is(created.event.status, 'pending');
  t.is(c.ok('olga', { type: 'invitation.accept', eventId: 'm1' }).event.status, 'pending');
  const last = c.send('quin', { type: 'invitation.accept', eventId: 'm1' });
  t.true(last.ok);
  if (last.ok) {
    t.is(last.result.event.status, 'confirmed');
    t.deepEqual(
      last.notifications
        .filter((n) => n.kind === 'event' && n.change === 'confirmed')
        .map((n) => n.to)
        .sort(),
      ['olga', 'pete', 'quin'],
    );
  }

  c.ok(
    'pete',
    {
      type: 'event.create',
      draft: { ...SYNC, start: SYNC.start + 86_400_000, end: SYNC.end + 86_400_000 },
      group: 'club',
    },
    { ids: ['m2'] },
  );
  t.is(c.ok('quin', { type: 'invitation.decline', eventId: 'm2' }).event.status, 'cancelled');
  t.is(c.read('olga', { type: 'event.show', eventId: 'm2' }).event.status, 'cancelled');
});

test('the last member leaving dissolves the group; its events stay as ordinary events', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  c.ok('alice', { type: 'group.create', name: 'solo', kind: 'flat' });
  c.ok('alice', { type: 'event.create', draft: SYNC, group: 'solo' }, { ids: ['e'] });
  t.deepEqual(c.ok('alice', { type: 'group.leave', group: 'solo' }), { group: null });
  t.deepEqual(c.read('alice', { type: 'group.list' }), { groups: [] });
  t.is(c.read('alice', { type: 'event.show', eventId: 'e' }).event.group, null);
  // The name is free again, and the new group inherits nothing.
  c.ok('alice', { type: 'group.create', name: 'solo', kind: 'hierarchical' });
  t.is(c.read('alice', { type: 'group.show', group: 'solo' }).group.kind, 'hierarchical');
});

// The attack of issue 13, replayed: before membership by consent, secbob made himself
// secalice's superior by adding her, read her busy events in full, imposed his event on her
// (her decline refused), learnt from `imposedConflicts` that she was busy, and re-added her
// the moment she left. A flat group gave anyone her busy blocks and free time the same way.
test('nobody becomes your superior, or sees your agenda through a group, without your consent', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('secalice', 'secbob');
  const day = { from: at('2025-02-05T00:00:00Z'), to: at('2025-02-06T00:00:00Z') };
  c.ok('secalice', {
    type: 'event.create',
    draft: { ...SYNC, title: 'Oncology', location: 'Ward 4' },
  });
  c.ok('secbob', { type: 'group.create', name: 'trap', kind: 'hierarchical' });
  c.ok('secbob', { type: 'group.addMember', group: 'trap', username: 'secalice', level: 1 });

  // Invited is not a member: the group shows her agenda to nobody, not even as busy blocks.
  const agendas = c.read('secbob', { type: 'agenda.view', targets: { group: 'trap' }, ...day });
  t.deepEqual(
    agendas.agendas.map((a) => a.user),
    ['secbob'],
  );
  const byName = c.ask('secbob', {
    type: 'agenda.view',
    targets: { users: ['secalice'] },
    ...day,
  });
  t.false(byName.ok, 'an invitation shares no group');
  // Free time counts members only: her busy hour is free time of the group.
  const free = c.read('secbob', {
    type: 'free.find',
    group: 'trap',
    ...day,
    duration: 30 * 60_000,
  });
  t.true(
    free.slots.some((s) => Date.parse(s.start) <= SYNC.start && Date.parse(s.end) >= SYNC.end),
  );
  // His group event is not imposed on her, and says nothing of her agenda.
  const sent = c.send(
    'secbob',
    { type: 'event.create', draft: SYNC, group: 'trap', allowConflict: true },
    { ids: ['bobs'] },
  );
  t.true(sent.ok);
  t.deepEqual(sent.ok ? sent.result.imposedConflicts : null, []);
  t.is(statusIn(c, 'secalice', 'bobs'), undefined);
  // She declines and blocks: he cannot invite her again.
  c.ok('secalice', { type: 'group.decline', group: 'trap', block: true });
  t.is(
    c.refused('secbob', {
      type: 'group.addMember',
      group: 'trap',
      username: 'secalice',
      level: 1,
    }).code,
    'forbidden',
  );

  // In a flat group the same: an invitation shows nothing of her.
  c.ok('secbob', { type: 'group.create', name: 'flat-trap', kind: 'flat' });
  c.ok('secbob', { type: 'group.addMember', group: 'flat-trap', username: 'secalice' });
  t.deepEqual(
    c
      .read('secbob', { type: 'agenda.view', targets: { group: 'flat-trap' }, ...day })
      .agendas.map((a) => a.user),
    ['secbob'],
  );

  // Had she joined and then left, he could not re-add her at once: it is an invitation again.
  c.ok('secalice', { type: 'group.join', group: 'flat-trap' });
  c.ok('secalice', { type: 'group.leave', group: 'flat-trap' });
  c.ok('secbob', { type: 'group.addMember', group: 'flat-trap', username: 'secalice' });
  t.deepEqual(
    c
      .read('secbob', { type: 'group.show', group: 'flat-trap' })
      .group.members.map((m) => m.username),
    ['secbob'],
  );
});

test('a stranger cannot bury a user under group invitations: past the bounds, new ones are refused', async (t) => {
  const c = new StoreClient(await openStore());
  const spammers = Array.from(
    { length: MAX_PENDING_GROUP_INVITATIONS / MAX_PENDING_GROUP_INVITATIONS_FROM_ONE },
    (_, i) => `spammer${i}`,
  );
  c.register('victim', 'friend', ...spammers);
  const invite = (from: string, i: number) => {
    c.ok(from, { type: 'group.create', name: `${from}-${i}`, kind: 'flat' });
    return { type: 'group.addMember', group: `${from}-${i}`, username: 'victim' } as const;
  };
  // One inviter alone fills no more than its share: others still reach her.
  for (let i = 0; i < MAX_PENDING_GROUP_INVITATIONS_FROM_ONE; i++)
    c.ok('spammer0', invite('spammer0', i));
  t.regex(
    c.refused('spammer0', invite('spammer0', MAX_PENDING_GROUP_INVITATIONS_FROM_ONE)).message,
    /of your group invitations waiting/,
  );
  c.ok('friend', invite('friend', 0));
  c.ok('victim', { type: 'group.decline', group: 'friend-0' });
  // Many inviters together reach the bound of what she keeps waiting.
  for (const spammer of spammers.slice(1)) {
    for (let i = 0; i < MAX_PENDING_GROUP_INVITATIONS_FROM_ONE; i++)
      c.ok(spammer, invite(spammer, i));
  }
  t.is(c.refused('friend', invite('friend', 1)).code, 'invalid');
  const listed = c.read('victim', { type: 'invitation.list' }).groupInvitations;
  t.is(listed.length, MAX_PENDING_GROUP_INVITATIONS);
  // Answering one makes room for one more.
  c.ok('victim', { type: 'group.decline', group: 'spammer1-0', block: true });
  c.ok('friend', { type: 'group.addMember', group: 'friend-1', username: 'victim' });
});
