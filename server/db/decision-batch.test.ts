/**
 * The decision batcher: decisions asked for in one turn reach the store as one request, in
 * order, each caller gets its own; a full batch goes at once; a failure reaches every caller
 * of its batch and no other.
 */
import test from 'ava';
import type { Decided } from '../store/calendar-store.js';
import type { StoreCommand } from '../store/protocol.js';
import { DecisionBatcher, type DecideAll } from './decision-batch.js';

const command = (requestId: string): StoreCommand => ({
  v: 1,
  requestId,
  actor: null,
  ids: [],
  at: 0,
  body: { type: 'user.register', username: requestId, passwordHash: 'scrypt$x$y' },
});

/** A store that answers each command with its request id (as a refusal's message), and records each request. */
function recordingStore(fail?: (ids: string[]) => Error | null) {
  const requests: { ids: string[]; timeoutMs: number }[] = [];
  const decideAll: DecideAll = (commands, timeoutMs) => {
    const ids = commands.map((c) => c.requestId);
    requests.push({ ids, timeoutMs });
    const error = fail?.(ids) ?? null;
    if (error) return Promise.reject(error);
    return Promise.resolve(
      ids.map((id): Decided => ({
        kind: 'answer',
        result: {
          ok: false,
          error: { code: 'not_found', message: id, details: {} },
          replayed: false,
        },
      })),
    );
  };
  return { requests, decideAll };
}

const answered = (d: Decided) =>
  d.kind === 'answer' && !d.result.ok ? d.result.error.message : null;

test('decisions asked for in one turn go together, in order, each to its caller', async (t) => {
  const store = recordingStore();
  const batcher = new DecisionBatcher(store.decideAll);
  const first = await Promise.all(['a', 'b', 'c'].map((id) => batcher.decide(command(id), 500)));
  const second = await batcher.decide(command('d'), 1_000);
  t.deepEqual(first.map(answered), ['a', 'b', 'c']);
  t.is(answered(second), 'd');
  t.deepEqual(
    store.requests.map((r) => r.ids),
    [['a', 'b', 'c'], ['d']],
  );
  t.true(store.requests[1]!.timeoutMs > 500, 'a batch waits as long as its most patient caller');
});

test('a full batch goes at once; the rest follows in the next', async (t) => {
  const store = recordingStore();
  const batcher = new DecisionBatcher(store.decideAll, 4);
  const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const decided = await Promise.all(ids.map((id) => batcher.decide(command(id), 500)));
  t.deepEqual(decided.map(answered), ids);
  t.deepEqual(
    store.requests.map((r) => r.ids.length),
    [4, 4, 2],
  );
});

test('a failed batch fails its callers only', async (t) => {
  const store = recordingStore((ids) => (ids.includes('bad') ? new Error('store stopped') : null));
  const batcher = new DecisionBatcher(store.decideAll);
  const doomed = [batcher.decide(command('ok-1'), 500), batcher.decide(command('bad'), 500)];
  for (const call of doomed) await t.throwsAsync(call, { message: 'store stopped' });
  t.is(answered(await batcher.decide(command('ok-2'), 500)), 'ok-2');
});

test('a store that answers the wrong number of decisions fails the batch', async (t) => {
  const batcher = new DecisionBatcher(() => Promise.resolve([]));
  await t.throwsAsync(batcher.decide(command('x'), 500), { message: /0 decisions for 1/ });
});
