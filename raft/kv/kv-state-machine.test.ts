import test from 'ava';
import { encodeKvCommand, KvStateMachine, type KvCommand } from './kv-state-machine.js';
import { loadSqlJs } from './sql.js';

const cmds = (list: KvCommand[]) =>
  list.map((c, i) => ({ index: i + 1, term: 1, data: encodeKvCommand(c) }));

test('put, cas, delete and get behave as a register per key', async (t) => {
  const sm = new KvStateMachine(await loadSqlJs());
  const results = sm.apply(
    cmds([
      { op: 'put', key: 'a', value: '1' },
      { op: 'cas', key: 'a', expected: '0', value: '2' },
      { op: 'cas', key: 'a', expected: '1', value: '3' },
      { op: 'delete', key: 'a' },
      { op: 'cas', key: 'b', expected: null, value: 'new' },
    ]),
  );
  t.deepEqual(
    results.map((r) => r.ok),
    [true, false, true, true, true],
  );
  t.is(results[1]?.prev, '1');
  t.deepEqual(sm.query({ op: 'get', key: 'a' }), { value: null });
  t.deepEqual(sm.query({ op: 'get', key: 'b' }), { value: 'new' });
  sm.close();
});

test('a malformed command is rejected by result, deterministically, without throwing', async (t) => {
  const sm = new KvStateMachine(await loadSqlJs());
  const [r] = sm.apply([{ index: 1, term: 1, data: new TextEncoder().encode('{"op":"put"') }]);
  t.false(r?.ok);
  t.is(r?.error, 'not JSON');
  sm.close();
});

test('replicas export byte-identical databases whatever the batching, and snapshots restore exactly', async (t) => {
  const SQL = await loadSqlJs();
  const log = cmds(
    Array.from({ length: 3000 }, (_, i): KvCommand =>
      i % 7 === 0
        ? { op: 'delete', key: `k${i % 300}` }
        : { op: 'put', key: `k${i % 300}`, value: 'x'.repeat(i % 250) },
    ),
  );
  const one = new KvStateMachine(SQL);
  for (const c of log) one.apply([c]);
  const batched = new KvStateMachine(SQL);
  for (let i = 0; i < log.length; i += 97) batched.apply(log.slice(i, i + 97));
  t.deepEqual(one.snapshot(), batched.snapshot());

  // Snapshot halfway, restore elsewhere, continue: same bytes as never snapshotting.
  const half = new KvStateMachine(SQL);
  half.apply(log.slice(0, 1500));
  const restored = new KvStateMachine(SQL);
  restored.restore(half.snapshot());
  restored.apply(log.slice(1500));
  t.deepEqual(restored.snapshot(), one.snapshot());
  t.is(restored.size(), one.size());
  for (const sm of [one, batched, half, restored]) sm.close();
});
