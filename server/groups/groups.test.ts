/**
 * The groups service against the real calendar store (in-process): group management and
 * group events, with the live updates each member receives.
 */
import test from 'ava';
import type { GroupView } from '../domain/index.js';
import type { AgendaError } from '../../contract/errors.js';
import type { LogicService } from '../services/ports.js';
import type { CommandResults, QueryResults } from '../store/protocol.js';
import {
  busRequest,
  HOUR,
  InProcessDatabase,
  NEVER,
  RecordingLog,
  RecordingPublisher,
  TestClock,
} from '../services/test-support.js';
import { createSigningKeyPair } from '../users/keys.js';
import { TokenIssuer } from '../users/tokens.js';
import { UsersService } from '../users/users-service.js';
import { GroupsService } from './groups-service.js';

/** A store body as tests write it: checked by the service, not by the compiler. */
type Body<T extends string> = { readonly type: T } & Record<string, unknown>;

async function setup(...usernames: string[]) {
  const clock = new TestClock();
  const database = await InProcessDatabase.open(clock.read);
  for (const username of usernames) {
    // Accounts are the users service's; here they only need to exist.
    const registered = await database.command({
      v: 1,
      requestId: `register-${username}`,
      actor: null,
      ids: [],
      body: { type: 'user.register', username, passwordHash: 'not-a-real-hash' },
    });
    if (!registered.ok) throw new Error(`could not register ${username}`);
  }
  const publisher = new RecordingPublisher();
  const deps = { database, publisher, log: new RecordingLog(), clock: clock.read };
  const groups = new GroupsService(deps);
  // Personal views and answers to invitations are the users service's, for group events too.
  const tokens = new TokenIssuer((await createSigningKeyPair()).privateKey);
  const users = new UsersService(deps, { tokens });
  const send = (service: LogicService, actor: string, op: unknown, id?: string) =>
    service.handle(busRequest(actor, op, { clock, ...(id === undefined ? {} : { id }) }), NEVER);
  return {
    database,
    publisher,
    /** A group command, through the groups service. */
    command: <T extends keyof CommandResults>(actor: string, body: Body<T>, id?: string) =>
      send(groups, actor, { type: 'command', body }, id) as Promise<CommandResults[T]>,
    /** A group query, through the groups service. */
    query: <T extends keyof QueryResults>(actor: string, body: Body<T>) =>
      send(groups, actor, { type: 'query', body }) as Promise<QueryResults[T]>,
    /** A personal command, through the users service. */
    personalCommand: <T extends keyof CommandResults>(actor: string, body: Body<T>) =>
      send(users, actor, { type: 'command', body }) as Promise<CommandResults[T]>,
    /** A personal query, through the users service. */
    personalQuery: <T extends keyof QueryResults>(actor: string, body: Body<T>) =>
      send(users, actor, { type: 'query', body }) as Promise<QueryResults[T]>,
  };
}

const start = Date.parse('2025-03-05T10:00:00Z');
const meeting = { title: 'Planning', start, end: start + HOUR };

const levels = (group: GroupView | null) =>
  Object.fromEntries((group?.members ?? []).map((m) => [m.username, m.level]));

test('a group is created, grown and shown, and each newcomer is told', async (t) => {
  const s = await setup('boss', 'mid', 'low');
  const created = await s.command('boss', {
    type: 'group.create',
    name: 'acme',
    kind: 'hierarchical',
  });
  t.is(created.group.name, 'acme');
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'mid', level: 1 });
  await s.command('mid', { type: 'group.join', group: 'acme' });
  await s.command('mid', { type: 'group.addMember', group: 'acme', username: 'low', level: 2 });
  await s.command('low', { type: 'group.join', group: 'acme' });
  const shown = await s.query('low', { type: 'group.show', group: 'acme' });
  t.deepEqual(levels(shown.group), { boss: 0, mid: 1, low: 2 });
  const told = (change: string) =>
    s.publisher.published.filter((p) => p.update.kind === 'group' && p.update.change === change);
  // Each newcomer was asked first, and whoever invited them heard they joined.
  const invitedBy = (to: string, by: string) =>
    told('invited').some((p) => p.to === to && p.update.kind === 'group' && p.update.by === by);
  t.true(invitedBy('mid', 'boss'));
  t.true(invitedBy('low', 'mid'));
  const joined = (to: string, member: string) =>
    told('member_joined').some(
      (p) => p.to === to && p.update.kind === 'group' && p.update.member === member,
    );
  t.true(joined('boss', 'mid'));
  t.true(joined('mid', 'low'));
  const listed = await s.query('mid', { type: 'group.list' });
  t.deepEqual(
    listed.groups.map((g) => g.name),
    ['acme'],
  );
});

test('a hierarchical group event is imposed on subordinates and an invitation for the others', async (t) => {
  const s = await setup('boss', 'mid', 'peer', 'low');
  await s.command('boss', { type: 'group.create', name: 'acme', kind: 'hierarchical' });
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'mid', level: 1 });
  await s.command('mid', { type: 'group.join', group: 'acme' });
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'peer', level: 1 });
  await s.command('peer', { type: 'group.join', group: 'acme' });
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'low', level: 2 });
  await s.command('low', { type: 'group.join', group: 'acme' });
  s.publisher.published.length = 0;

  const { event } = await s.command('mid', { type: 'event.create', draft: meeting, group: 'acme' });
  t.deepEqual(s.publisher.aboutEvent(event.id), [
    { to: 'boss', change: 'invited' },
    { to: 'low', change: 'imposed' },
    { to: 'mid', change: 'created' },
    { to: 'peer', change: 'invited' },
  ]);
  // Imposed means accepted at once: it is in the subordinate's agenda without a word from them.
  const lows = await s.personalQuery('low', {
    type: 'event.list',
    from: start - HOUR,
    to: start + 2 * HOUR,
  });
  t.deepEqual(
    lows.events.map((e) => [e.id, e.myStatus]),
    [[event.id, 'accepted']],
  );
});

test('a flat group event declined by one member is cancelled, and everyone is told', async (t) => {
  const s = await setup('ann', 'ben', 'cat');
  await s.command('ann', { type: 'group.create', name: 'book-club', kind: 'flat' });
  await s.command('ann', { type: 'group.addMember', group: 'book-club', username: 'ben' });
  await s.command('ben', { type: 'group.join', group: 'book-club' });
  await s.command('ann', { type: 'group.addMember', group: 'book-club', username: 'cat' });
  await s.command('cat', { type: 'group.join', group: 'book-club' });
  const { event } = await s.command('ann', {
    type: 'event.create',
    draft: meeting,
    group: 'book-club',
  });
  t.is(event.status, 'pending');
  s.publisher.published.length = 0;

  await s.personalCommand('cat', { type: 'invitation.accept', eventId: event.id });
  const declined = await s.personalCommand('ben', {
    type: 'invitation.decline',
    eventId: event.id,
  });
  t.is(declined.event.status, 'cancelled');
  const shown = await s.personalQuery('ann', { type: 'event.show', eventId: event.id });
  t.is(shown.event.status, 'cancelled');
  const cancelled = s.publisher.aboutEvent(event.id).filter((p) => p.change === 'cancelled');
  t.deepEqual(
    cancelled.map((p) => p.to),
    ['ann', 'ben', 'cat'],
  );
});

test('a group command delivered twice applies once and is announced once', async (t) => {
  const s = await setup('boss', 'mid');
  await s.command('boss', { type: 'group.create', name: 'acme', kind: 'hierarchical' });
  // An invitation is announced to the invitee: delivered twice, it is announced once.
  const add = { type: 'group.addMember', group: 'acme', username: 'mid', level: 1 } as const;
  const first = await s.command('boss', add, 'gw2-add-1');
  const again = await s.command('boss', add, 'gw2-add-1');
  t.deepEqual(again, first);
  t.is(s.publisher.published.filter((p) => p.to === 'mid').length, 1);
});

test('a refusal of the store reaches the caller: nobody moves another member down', async (t) => {
  const s = await setup('boss', 'mid', 'low');
  await s.command('boss', { type: 'group.create', name: 'acme', kind: 'hierarchical' });
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'mid', level: 1 });
  await s.command('mid', { type: 'group.join', group: 'acme' });
  await s.command('boss', { type: 'group.addMember', group: 'acme', username: 'low', level: 2 });
  await s.command('low', { type: 'group.join', group: 'acme' });
  const error = await t.throwsAsync<AgendaError>(
    s.command('mid', { type: 'group.changeLevel', group: 'acme', username: 'low', level: 3 }),
  );
  t.is(error?.code, 'forbidden');
});
