/**
 * `account.delete` through the users service against the real store: the password checked,
 * the answer's counts, every later request of the account refused, a retry answering the
 * same deletion, and a deletion that ran out of time finished by the sweep.
 */
import test from 'ava';
import type { AgendaError } from '../../contract/errors.js';
import type { AccountDeletedAnswer } from '../../contract/api.js';
import type { CommandBody, CommandResults } from '../store/protocol.js';
import {
  busRequest,
  EPOCH,
  HOUR,
  InProcessDatabase,
  NEVER,
  RecordingLog,
  RecordingPublisher,
  TestClock,
} from '../services/test-support.js';
import type { ServiceRequest } from '../services/ports.js';
import { DeletionSweeper } from './deletion-sweeper.js';
import { createSigningKeyPair } from './keys.js';
import { PasswordHasher } from './passwords.js';
import { TokenIssuer } from './tokens.js';
import { UsersService } from './users-service.js';

/**
 * Cheap scrypt: these tests are about deletion, not hashing cost. One hasher per test's
 * service, as each replica has its own: the tests run at once, all as alice, and a hasher
 * caps one account's checks at a time.
 */
const CHEAP = { N: 1024, r: 8, p: 1 };
/** The session of a user's requests (opened by `register`). */
const sessionOf = (username: string) => ({ generation: 0, sid: `${username}-session` });
const SESSION = sessionOf('alice');
const TOMORROW = EPOCH + 33 * HOUR;

async function setup() {
  const clock = new TestClock();
  const database = await InProcessDatabase.open(clock.read);
  const publisher = new RecordingPublisher();
  const keys = await createSigningKeyPair();
  const users = new UsersService(
    { database, publisher, log: new RecordingLog(), clock: clock.read },
    {
      tokens: new TokenIssuer(keys.privateKey, { clock: clock.read }),
      passwords: new PasswordHasher(CHEAP),
    },
  );
  const handle = <Answer>(request: ServiceRequest) =>
    users.handle(request, NEVER) as Promise<Answer>;
  const send = <Answer>(actor: string | null, op: unknown, id?: string) =>
    handle<Answer>(
      busRequest(actor, op, {
        clock,
        ...(id === undefined ? {} : { id }),
        ...(actor === null ? {} : { session: sessionOf(actor) }),
      }),
    );
  const refused = async (actor: string | null, op: unknown): Promise<AgendaError> => {
    try {
      await send(actor, op);
    } catch (error) {
      return error as AgendaError;
    }
    throw new Error(`${JSON.stringify(op)} was not refused`);
  };
  // Registered users are signed in: the store opens the session their requests carry.
  const register = async (username: string) => {
    await send(null, { type: 'account.register', username, password: `${username} password` });
    database.openSession(username, sessionOf(username).sid);
  };
  let sequence = 0;
  const store = async (actor: string, body: CommandBody) => {
    sequence += 1;
    const outcome = await database.command({
      v: 1,
      requestId: `direct-${sequence}`,
      actor,
      ids: [],
      body,
    });
    if (!outcome.ok) throw new Error(outcome.error.message);
  };
  return { clock, database, publisher, users, handle, send, refused, register, store };
}

test('a wrong password deletes nothing', async (t) => {
  const s = await setup();
  await s.register('alice');
  const error = await s.refused('alice', { type: 'account.delete', password: 'guess' });
  t.is(error.code, 'unauthenticated');
  t.regex(error.message, /password is not right/);
  t.is(
    (await s.send<{ user: { username: string } }>('alice', { type: 'account.me' })).user.username,
    'alice',
  );
});

test('deleting answers what went, tells who is concerned, and refuses the account from then on', async (t) => {
  const s = await setup();
  await s.register('alice');
  await s.register('bob');
  const shared = await s.send<CommandResults['event.create']>('alice', {
    type: 'command',
    body: {
      type: 'event.create',
      draft: { title: 'Planning', start: TOMORROW, end: TOMORROW + HOUR },
      with: ['bob'],
    },
  });
  await s.send('alice', {
    type: 'command',
    body: {
      type: 'event.create',
      draft: { title: 'Dentist', start: TOMORROW + 3 * HOUR, end: TOMORROW + 4 * HOUR },
    },
  });
  await s.send('alice', { type: 'feed.create', label: 'phone' });
  // Groups are the groups service's: straight to the store.
  await s.store('bob', { type: 'group.create', name: 'team', kind: 'flat' });
  await s.store('bob', { type: 'group.addMember', group: 'team', username: 'alice' });
  s.publisher.published.length = 0;

  const answer = await s.send<AccountDeletedAnswer>('alice', {
    type: 'account.delete',
    password: 'alice password',
  });
  t.deepEqual(answer, {
    deleted: true,
    username: 'alice',
    deletedAt: new Date(EPOCH).toISOString(),
    complete: true,
    removed: {
      eventsDeleted: 1,
      eventsCancelled: 1,
      eventsLeft: 0,
      groupsLeft: 0,
      groupsHandedOver: 0,
      groupsDissolved: 0,
      groupInvitationsDeclined: 1,
      groupBlocksRemoved: 0,
      feedsRevoked: 1,
      devicesRevoked: 0,
      sessionsEnded: 1, // the session her own requests came with
    },
  });
  // Her streams are told to close; Bob hears of the cancellation and of the declined invitation.
  t.deepEqual(
    s.publisher.published.map((p) => `${p.to} ${p.update.kind} ${p.update.change}`).sort(),
    ['alice session deleted', 'bob event cancelled', 'bob group invitation_declined'],
  );
  t.deepEqual(s.publisher.aboutEvent(shared.event.id), [{ to: 'bob', change: 'cancelled' }]);

  // Every operation of hers is refused as unauthenticated, whichever service path it takes.
  for (const op of [
    { type: 'account.me' },
    { type: 'feed.list' },
    { type: 'feed.create' },
    { type: 'account.logout' },
    { type: 'account.delete', password: 'alice password' },
    { type: 'agenda.import', ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' },
    { type: 'query', body: { type: 'event.list', from: EPOCH, to: EPOCH + 24 * HOUR } },
    { type: 'query', body: { type: 'agenda.export' } },
    {
      type: 'command',
      body: {
        type: 'event.create',
        draft: { title: 'Ghost', start: TOMORROW, end: TOMORROW + HOUR },
      },
    },
  ]) {
    const error = await s.refused('alice', op);
    t.is(error.code, 'unauthenticated', `${JSON.stringify(op)}: ${error.message}`);
  }
  const login = await s.refused(null, {
    type: 'account.login',
    username: 'alice',
    password: 'alice password',
  });
  t.is(login.code, 'unauthenticated');
  t.is(
    (
      await s.refused(null, {
        type: 'account.register',
        username: 'alice',
        password: 'another passphrase',
      })
    ).code,
    'conflict',
  );
  // Bob's calendar shows her meeting cancelled.
  const bobs = await s.send<{ events: { id: string; status: string }[] }>('bob', {
    type: 'query',
    body: { type: 'event.list', from: EPOCH, to: EPOCH + 48 * HOUR },
  });
  t.deepEqual(
    bobs.events.map((e) => e.status),
    ['cancelled'],
  );
});

test('a deletion handled again answers the same deletion, and applies nothing twice', async (t) => {
  const s = await setup();
  await s.register('alice');
  for (let i = 0; i < 3; i += 1) {
    await s.send('alice', {
      type: 'command',
      body: {
        type: 'event.create',
        draft: {
          title: `Event ${i}`,
          start: TOMORROW + 2 * i * HOUR,
          end: TOMORROW + (2 * i + 1) * HOUR,
        },
      },
    });
  }
  const op = { type: 'account.delete', password: 'alice password' };
  const applied = () => {
    const status = s.database.store.query({
      v: 1,
      actor: null,
      at: s.clock.now,
      body: { type: 'store.status' },
    });
    if (!status.ok) throw new Error(status.error.message);
    return (status.result as { requestsApplied: number }).requestsApplied;
  };
  const first = await s.send<AccountDeletedAnswer>('alice', op, 'delete-once');
  const before = applied();
  const second = await s.send<AccountDeletedAnswer>('alice', op, 'delete-once');
  t.deepEqual(second, first);
  t.is(first.removed.eventsDeleted, 3);
  // The retry sent the same commands again, each answered from the store's memory.
  t.is(applied(), before);
});

test('a deletion that runs out of time answers at once, and the sweep removes the rest', async (t) => {
  const s = await setup();
  await s.register('alice');
  await s.register('bob');
  const shared = await s.send<CommandResults['event.create']>('alice', {
    type: 'command',
    body: {
      type: 'event.create',
      draft: { title: 'Planning', start: TOMORROW, end: TOMORROW + HOUR },
      with: ['bob'],
    },
  });
  s.publisher.published.length = 0;
  // A request with less time left than an answer keeps for itself.
  const hurried: ServiceRequest = {
    ...busRequest(
      'alice',
      { type: 'account.delete', password: 'alice password' },
      { clock: s.clock, session: SESSION },
    ),
    deadline: s.clock.now + 1_000,
  };
  const answer = await s.handle<AccountDeletedAnswer>(hurried);
  t.false(answer.complete);
  t.is(answer.removed.eventsCancelled, 0);
  // The account is gone already: her token is refused.
  t.is((await s.refused('alice', { type: 'account.me' })).code, 'unauthenticated');

  t.is(await s.users.finishDeletions(NEVER), 1);
  t.deepEqual(s.publisher.aboutEvent(shared.event.id), [{ to: 'bob', change: 'cancelled' }]);
  t.is(await s.users.finishDeletions(NEVER), 0);
});

test('the sweeper sweeps now and then, retries after a failure, and stops a sweep under way when closed', async (t) => {
  let sweeps = 0;
  let sawAbort = false;
  const warnings: string[] = [];
  const sweeper = new DeletionSweeper({
    intervalMs: 5,
    random: () => 0,
    log: { info: () => undefined, warn: (message) => warnings.push(message) },
    sweep: (signal) => {
      sweeps += 1;
      if (sweeps === 1) return Promise.reject(new Error('db down'));
      if (sweeps === 2) return Promise.resolve(0);
      // The third runs until the sweeper is closed.
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve(0);
        }),
      );
    },
  });
  sweeper.start();
  const deadline = Date.now() + 5_000;
  while (sweeps < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.is(sweeps, 3);
  await sweeper.close();
  await sweeper.close();
  t.true(sawAbort);
  t.is(sweeps, 3);
  t.deepEqual(warnings, ['could not finish deleting accounts; the next sweep tries again']);
});
