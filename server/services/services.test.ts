/**
 * What every logic service does around its own work: validating ops, routing, refusing
 * unauthenticated and non-user operations, request ids and fresh ids in commands, and
 * turning store results into answers and live updates.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { CallOptions, CommandInput } from '../db/client.js';
import type { AgendaError, Conflict, InvalidInput } from '../../contract/errors.js';
import { GroupsService } from '../groups/groups-service.js';
import type { QueryBody, StoreQueryResult, StoreResult } from '../store/protocol.js';
import { createSigningKeyPair } from '../users/keys.js';
import { PasswordHasher } from '../users/passwords.js';
import { TokenIssuer } from '../users/tokens.js';
import { UsersService } from '../users/users-service.js';
import { FRESH_ID_LENGTH, freshId, freshIdCount, storeRequestId } from './ids.js';
import { liveUpdateOf } from './live-updates.js';
import { StoreSession } from './store-session.js';
import type { Database, LogicService, ServiceRequest } from './ports.js';
import {
  busRequest,
  EPOCH,
  HOUR,
  NEVER,
  RecordingLog,
  RecordingPublisher,
  TestClock,
} from './test-support.js';

/** A DB that answers what the test scripts and records what it was asked. */
class ScriptedDatabase implements Database {
  readonly commands: { command: CommandInput; opts: CallOptions | undefined }[] = [];
  readonly queries: { actor: string | null; body: QueryBody }[] = [];

  constructor(private readonly answer: (command: CommandInput) => StoreResult) {}

  command(command: CommandInput, opts?: CallOptions): Promise<StoreResult> {
    this.commands.push({ command, opts });
    return Promise.resolve(this.answer(command));
  }

  query(actor: string | null, body: QueryBody): Promise<StoreQueryResult> {
    this.queries.push({ actor, body });
    return Promise.resolve({ ok: true, result: { events: [], next: null } });
  }
}

const draft = { title: 'Standup', start: EPOCH + HOUR, end: EPOCH + 2 * HOUR };
const eventView = {
  id: 'ev1',
  title: 'Standup',
  start: new Date(draft.start).toISOString(),
  end: new Date(draft.end).toISOString(),
};

/** The store's answer to an appointment of alice with bob and carol. */
function appointmentResult(replayed: boolean): StoreResult {
  return {
    ok: true,
    replayed,
    // Only the fields these tests read; the services pass results through untouched.
    result: { event: eventView, conflicts: [], imposedConflicts: [] } as never,
    notifications: [
      { kind: 'event', to: 'alice', change: 'created', eventId: 'ev1', by: 'alice' },
      { kind: 'event', to: 'bob', change: 'invited', eventId: 'ev1', by: 'alice' },
      { kind: 'event', to: 'carol', change: 'invited', eventId: 'ev1', by: 'alice' },
    ],
  };
}

async function setup(
  answer: (command: CommandInput) => StoreResult = () => appointmentResult(false),
) {
  const clock = new TestClock();
  const database = new ScriptedDatabase(answer);
  const publisher = new RecordingPublisher();
  const log = new RecordingLog();
  const deps = { database, publisher, log, clock: clock.read };
  // The cheapest scrypt cost: these tests are about routing, not hashing.
  const tokens = new TokenIssuer((await createSigningKeyPair()).privateKey, { clock: clock.read });
  const users = new UsersService(deps, {
    tokens,
    passwords: new PasswordHasher({ N: 2, r: 1, p: 1 }),
  });
  const groups = new GroupsService(deps);
  return { clock, database, publisher, log, users, groups };
}

const appointment = {
  type: 'command',
  body: { type: 'event.create', draft, with: ['bob', 'carol'] },
};

async function refusal(
  t: ExecutionContext,
  service: LogicService,
  request: ServiceRequest,
): Promise<AgendaError> {
  const error = await t.throwsAsync<AgendaError>(service.handle(request, NEVER));
  if (error === undefined) throw new Error('the request was not refused');
  return error;
}

test('fresh ids are 16 lowercase letters and digits, and never repeat', (t) => {
  const ids = new Set(Array.from({ length: 2000 }, freshId));
  t.is(ids.size, 2000);
  for (const id of ids) t.regex(id, new RegExp(`^[a-z0-9]{${FRESH_ID_LENGTH}}$`));
});

test('a command carries as many fresh ids as the store consumes applying it', (t) => {
  t.is(freshIdCount({ type: 'event.create', draft }), 1);
  t.is(
    freshIdCount({
      type: 'event.import',
      events: [
        { uid: 'a', draft },
        { uid: null, draft },
        { uid: 'c', draft },
      ],
    }),
    3,
  );
  t.is(
    freshIdCount({
      type: 'event.updateOccurrence',
      eventId: 'ev1',
      occurrenceStart: 0,
      changes: { title: 'moved' },
      allowConflict: false,
    }),
    1,
  );
  t.is(freshIdCount({ type: 'invitation.accept', eventId: 'ev1' }), 0);
  t.is(freshIdCount({ type: 'group.create', name: 'team', kind: 'flat' }), 0);
});

test('a bus request id is the store request id when the store accepts it, else a stable digest', (t) => {
  t.is(storeRequestId('req-42_A'), 'req-42_A');
  const odd = storeRequestId('alice:my key');
  t.regex(odd, /^h-[A-Za-z0-9_-]{43}$/);
  t.is(storeRequestId('alice:my key'), odd);
  t.not(storeRequestId('bob:my key'), odd);
  t.regex(storeRequestId('x'.repeat(65)), /^h-/);
});

test('a command goes to the store as the actor, under the request id, with fresh ids and the time left', async (t) => {
  const { clock, database, users } = await setup();
  const request = busRequest('alice', appointment, { id: 'gw1-0001', clock });
  clock.now += 15_000;
  await users.handle(request, NEVER);
  const [sent] = database.commands;
  t.like(sent?.command, { v: 1, requestId: 'gw1-0001', actor: 'alice', body: appointment.body });
  t.is(sent?.command.ids.length, 1);
  t.is(sent?.opts?.deadlineMs, 45_000);
  t.is(sent?.opts?.signal, NEVER);
});

test('the notifications of a committed command become live updates for each recipient', async (t) => {
  const { clock, publisher, users } = await setup();
  const answer = await users.handle(busRequest('alice', appointment, { clock }), NEVER);
  t.like(answer, { event: { id: 'ev1' } });
  t.deepEqual(publisher.published, [
    {
      to: 'alice',
      update: {
        kind: 'event',
        change: 'created',
        eventId: 'ev1',
        by: 'alice',
        at: '2025-03-01T00:00:00.000Z',
      },
    },
    {
      to: 'bob',
      update: {
        kind: 'event',
        change: 'invited',
        eventId: 'ev1',
        by: 'alice',
        at: '2025-03-01T00:00:00.000Z',
      },
    },
    {
      to: 'carol',
      update: {
        kind: 'event',
        change: 'invited',
        eventId: 'ev1',
        by: 'alice',
        at: '2025-03-01T00:00:00.000Z',
      },
    },
  ]);
});

test('a replayed command answers the original result and publishes nothing again', async (t) => {
  const { clock, publisher, users } = await setup(() => appointmentResult(true));
  const answer = await users.handle(busRequest('alice', appointment, { clock }), NEVER);
  t.like(answer, { event: { id: 'ev1' } });
  t.deepEqual(publisher.published, []);
});

test('a live update that cannot be sent is logged and does not fail the committed request', async (t) => {
  const { clock, publisher, log, users } = await setup();
  publisher.unreachable.add('bob');
  const answer = await users.handle(busRequest('alice', appointment, { clock }), NEVER);
  t.like(answer, { event: { id: 'ev1' } });
  t.deepEqual(
    publisher.published.map((p) => p.to),
    ['alice', 'carol'],
  );
  t.is(log.warnings.length, 1);
  t.like(log.warnings[0], { fields: { to: 'bob', change: 'invited' } });
});

test("the store's refusal is rethrown as the error it names, details included", async (t) => {
  const conflicts = [{ id: 'ev0', title: 'Dentist', start: eventView.start, end: eventView.end }];
  const { clock, publisher, users } = await setup(() => ({
    ok: false,
    replayed: false,
    error: { code: 'conflict', message: 'it overlaps Dentist', details: { conflicts } },
  }));
  const error = (await refusal(t, users, busRequest('alice', appointment, { clock }))) as Conflict;
  t.is(error.code, 'conflict');
  t.is(error.message, 'it overlaps Dentist');
  t.deepEqual(error.conflicts, conflicts);
  t.deepEqual(publisher.published, []);
});

test('a malformed op is invalid, naming the field at fault, and reaches no DB', async (t) => {
  const { clock, database, users } = await setup();
  const cases: [unknown, string][] = [
    [{ type: 'account.login', username: 'alice', password: 7 }, 'password'],
    [{ type: 'account.dance' }, 'type'],
    [{ type: 'account.me', extra: true }, 'op'],
    [
      { type: 'command', body: { type: 'event.create', draft: { ...draft, title: 5 } } },
      'body.draft.title',
    ],
    [{ type: 'query', body: { type: 'event.list', from: 'monday', to: 1 } }, 'body.from'],
    [null, 'op'],
  ];
  for (const [op, field] of cases) {
    const error = (await refusal(t, users, busRequest('alice', op, { clock }))) as InvalidInput;
    t.is(error.code, 'invalid', JSON.stringify(op));
    t.is(error.field, field, JSON.stringify(op));
  }
  t.is(database.commands.length + database.queries.length, 0);
});

test('each service refuses the ops of the other', async (t) => {
  const { clock, database, users, groups } = await setup();
  const groupOps = [
    { type: 'command', body: { type: 'group.create', name: 'team', kind: 'flat' } },
    { type: 'command', body: { type: 'event.create', draft, group: 'team' } },
    { type: 'query', body: { type: 'group.list' } },
  ];
  for (const op of groupOps) {
    const error = (await refusal(t, users, busRequest('alice', op, { clock }))) as InvalidInput;
    t.is(error.code, 'invalid');
    t.is(error.field, 'type');
    t.regex(error.message, /the groups service does/);
  }
  const userOps = [
    { type: 'account.login', username: 'alice', password: 'secret-password' },
    { type: 'feed.create' },
    appointment,
    { type: 'query', body: { type: 'invitation.list' } },
  ];
  for (const op of userOps) {
    const error = (await refusal(t, groups, busRequest('alice', op, { clock }))) as InvalidInput;
    t.is(error.code, 'invalid');
    t.regex(error.message, /the users service does/);
  }
  t.is(database.commands.length + database.queries.length, 0);
});

test('operations for a signed-in user are refused without one', async (t) => {
  const { clock, database, users, groups } = await setup();
  for (const op of [
    appointment,
    { type: 'query', body: { type: 'invitation.list' } },
    { type: 'account.me' },
    { type: 'feed.create' },
    { type: 'agenda.import', ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' },
  ]) {
    t.is((await refusal(t, users, busRequest(null, op, { clock }))).code, 'unauthenticated');
  }
  const create = { type: 'command', body: { type: 'group.create', name: 'team', kind: 'flat' } };
  t.is((await refusal(t, groups, busRequest(null, create, { clock }))).code, 'unauthenticated');
  t.is(database.commands.length + database.queries.length, 0);
});

test("the store's own commands and queries are not a user's to send", async (t) => {
  const { clock, database, users } = await setup();
  for (const op of [
    {
      type: 'command',
      body: { type: 'user.register', username: 'mallory', passwordHash: 'scrypt$N=2,r=1,p=1$a$b' },
    },
    {
      type: 'command',
      body: { type: 'registry.cas', key: 'redis/primary', expectedEpoch: null, value: 'evil:6379' },
    },
    {
      type: 'command',
      body: { type: 'lease.acquire', name: 'vip', holder: 'mallory', ttlMs: 1000 },
    },
    { type: 'query', body: { type: 'user.lookup', username: 'alice' } },
    { type: 'query', body: { type: 'store.status' } },
  ]) {
    t.is((await refusal(t, users, busRequest('mallory', op, { clock }))).code, 'forbidden');
  }
  t.is(database.commands.length + database.queries.length, 0);
});

test('a request past its deadline or already abandoned is not worked on', async (t) => {
  const { clock, database, users } = await setup();
  const request = busRequest('alice', appointment, { clock });
  clock.now = request.deadline;
  t.is((await refusal(t, users, request)).code, 'unavailable');
  const abandoned = new AbortController();
  abandoned.abort();
  const fresh = busRequest('alice', appointment, { clock });
  const error = await t.throwsAsync<AgendaError>(users.handle(fresh, abandoned.signal));
  t.is(error?.code, 'unavailable');
  t.is(database.commands.length, 0);
});

test('a group notification becomes a group live update', (t) => {
  t.deepEqual(
    liveUpdateOf(
      {
        kind: 'group',
        to: 'bob',
        change: 'invited',
        group: 'team',
        member: 'bob',
        by: 'alice',
      },
      new Date(EPOCH),
    ),
    {
      kind: 'group',
      change: 'invited',
      group: 'team',
      member: 'bob',
      by: 'alice',
      at: '2025-03-01T00:00:00.000Z',
    },
  );
});

test('one request sends one command: a second under the same request id is refused before the DB', async (t) => {
  const { clock, database, publisher, log } = await setup();
  const request = busRequest('alice', appointment, { clock });
  const session = new StoreSession({
    database,
    publisher,
    log,
    clock: clock.read,
    request,
    signal: NEVER,
  });
  await session.command('alice', { type: 'event.create', draft });
  const error = await t.throwsAsync<AgendaError>(
    session.command('alice', { type: 'event.cancel', eventId: 'ev1' }),
  );
  t.is(error?.code, 'internal');
  t.is(database.commands.length, 1);
});
