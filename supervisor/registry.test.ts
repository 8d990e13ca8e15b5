import test from 'ava';
import type { CommandInput, CallOptions } from '../server/db/client.js';
import type { QueryBody, StoreQueryResult, StoreResult } from '../server/store/protocol.js';
import { DbRegistry } from './registry.js';
import type { RegistryDb } from './registry.js';

/** A DB client that answers from a script and remembers what it was asked. */
class ScriptedDb implements RegistryDb {
  readonly commands: { command: CommandInput; opts: CallOptions | undefined }[] = [];

  constructor(
    private readonly commandAnswer: StoreResult,
    private readonly queryAnswer: StoreQueryResult = { ok: true, result: { entry: null } },
  ) {}

  command(command: CommandInput, opts?: CallOptions): Promise<StoreResult> {
    this.commands.push({ command, opts });
    return Promise.resolve(this.commandAnswer);
  }

  query(_actor: string | null, _body: QueryBody): Promise<StoreQueryResult> {
    return Promise.resolve(this.queryAnswer);
  }
}

const lease = { name: 'redis-supervisor', holder: 's1', epoch: 3, expiresAt: 10, expired: false };

test('each lease renewal is a new request, sent with the registry deadline', async (t) => {
  const db = new ScriptedDb({
    ok: true,
    result: { acquired: true, renewed: true, lease },
    notifications: [],
    replayed: false,
  });
  const registry = new DbRegistry(db, 500);
  t.like(await registry.acquireLease('redis-supervisor', 's1', 1000), { acquired: true });
  await registry.acquireLease('redis-supervisor', 's1', 1000);
  const [first, second] = db.commands;
  t.not(first?.command.requestId, second?.command.requestId);
  t.deepEqual(first?.command.body, {
    type: 'lease.acquire',
    name: 'redis-supervisor',
    holder: 's1',
    ttlMs: 1000,
  });
  t.is(first?.opts?.deadlineMs, 500);
});

test('a refusal from the DB rejects with its error code', async (t) => {
  const db = new ScriptedDb({
    ok: false,
    error: { code: 'unavailable', message: 'no leader', details: {} },
    replayed: false,
  });
  const registry = new DbRegistry(db, 500);
  await t.throwsAsync(registry.compareAndSet('redis/primary', 1, '{}'), {
    message: 'no leader',
  });
  const error = await registry.compareAndSet('redis/primary', 1, '{}').catch((e: unknown) => e);
  t.like(error, { code: 'unavailable' });
});

test('an answer of the wrong kind is an internal error, not a value', async (t) => {
  const db = new ScriptedDb(
    { ok: true, result: { released: true, lease: null }, notifications: [], replayed: false },
    { ok: true, result: { lease: null } },
  );
  const registry = new DbRegistry(db, 500);
  await t.throwsAsync(registry.acquireLease('redis-supervisor', 's1', 1000), { code: 'internal' });
  await t.throwsAsync(registry.entry('redis/primary'), { code: 'internal' });
  t.is(await registry.lease('redis-supervisor'), null);
});
