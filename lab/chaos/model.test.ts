/**
 * The agenda model with the project's checker, on hand-made histories: what a correct
 * system may show under concurrency, and the anomalies a chaos run must catch (stale reads,
 * lost and duplicated writes, events nobody created).
 */
import test from 'ava';
import { MalformedHistoryError } from '../../base/linearizability.js';
import { checkAgendaHistory, type AgendaOperation } from './model.js';

function create(
  client: number,
  user: string,
  title: string,
  call: number,
  ret: number | null,
): AgendaOperation {
  return {
    clientId: client,
    input: { kind: 'create', user, title },
    call,
    return: ret,
    output: ret === null ? null : { kind: 'create' },
  };
}

function read(
  client: number,
  user: string,
  titles: string[],
  call: number,
  ret: number,
): AgendaOperation {
  return {
    clientId: client,
    input: { kind: 'read', user },
    call,
    return: ret,
    output: { kind: 'read', titles },
  };
}

test('concurrent creates and reads that a correct agenda could produce are linearizable', (t) => {
  const history = [
    create(0, 'ann', 'a', 0, 10),
    // Overlaps the create of b: may or may not see it.
    create(1, 'ann', 'b', 12, 30),
    read(2, 'ann', ['a'], 14, 20),
    read(3, 'ann', ['b', 'a'], 15, 25),
    read(2, 'ann', ['a', 'b'], 31, 40),
    create(0, 'bob', 'x', 0, 5),
    read(1, 'bob', ['x'], 6, 7),
  ];
  const result = checkAgendaHistory(history);
  t.like(result, { ok: true, verdict: 'linearizable', keysChecked: 2 });
});

test('a read that misses a create acknowledged before it started is a stale read', (t) => {
  const result = checkAgendaHistory([create(0, 'ann', 'a', 0, 10), read(1, 'ann', [], 20, 30)]);
  t.is(result.verdict, 'not_linearizable');
  t.is(result.failure?.key, 'ann');
  t.regex(result.failure?.explanation ?? '', /read → \{\}/);
});

test('reads that see writes out of real-time order are caught', (t) => {
  // a was acknowledged before b was sent, so no one may see b without a.
  const result = checkAgendaHistory([
    create(0, 'ann', 'a', 0, 10),
    create(1, 'ann', 'b', 20, 30),
    read(2, 'ann', ['b'], 5, 40),
  ]);
  t.is(result.verdict, 'not_linearizable');
});

test('an acknowledged write missing from a later read is a lost write', (t) => {
  const result = checkAgendaHistory([
    create(0, 'ann', 'a', 0, 10),
    read(1, 'ann', ['a'], 11, 12),
    create(0, 'ann', 'b', 13, 20),
    // The read-back after the scenario: b vanished.
    read(9, 'ann', ['a'], 100, 110),
  ]);
  t.is(result.verdict, 'not_linearizable');
  t.regex(result.failure?.explanation ?? '', /create\("b"\)/);
});

test('a title listed twice is a create applied twice, which no sequential agenda shows', (t) => {
  const result = checkAgendaHistory([
    create(0, 'ann', 'a', 0, 10),
    read(1, 'ann', ['a', 'a'], 20, 30),
  ]);
  t.is(result.verdict, 'not_linearizable');
});

test('a title nobody created, or one whose create was refused, fails the check', (t) => {
  // Refused creates are left out of the history, so seeing their title is seeing a phantom.
  const result = checkAgendaHistory([
    create(0, 'ann', 'a', 0, 10),
    read(1, 'ann', ['a', 'ghost'], 20, 30),
  ]);
  t.is(result.verdict, 'not_linearizable');
});

test('a create with unknown outcome may have applied or not, but not both', (t) => {
  t.true(checkAgendaHistory([create(0, 'ann', 'a', 0, null), read(1, 'ann', [], 5, 6)]).ok);
  t.true(checkAgendaHistory([create(0, 'ann', 'a', 0, null), read(1, 'ann', ['a'], 5, 6)]).ok);
  const flickers = checkAgendaHistory([
    create(0, 'ann', 'a', 0, null),
    read(1, 'ann', ['a'], 5, 6),
    read(1, 'ann', [], 7, 8),
  ]);
  t.is(flickers.verdict, 'not_linearizable');
});

test("users are independent partitions: a read never explains another user's writes", (t) => {
  const result = checkAgendaHistory([create(0, 'ann', 'a', 0, 10), read(1, 'bob', ['a'], 20, 30)]);
  t.is(result.verdict, 'not_linearizable');
  t.is(result.failure?.key, 'bob');
});

test('two creates of one title for one user are a recording bug, not a verdict', (t) => {
  const error = t.throws(
    () => checkAgendaHistory([create(0, 'ann', 'a', 0, 10), create(1, 'ann', 'a', 20, 30)]),
    { instanceOf: MalformedHistoryError },
  );
  t.regex(error?.message ?? '', /twice/);
  // The same title for two different users is fine.
  t.true(checkAgendaHistory([create(0, 'ann', 'a', 0, 10), create(1, 'bob', 'a', 20, 30)]).ok);
});

test('a long history with many concurrent clients per user is checked quickly', (t) => {
  // Two writers and two readers per user, 2000 operations each, every read overlapping writes.
  const history: AgendaOperation[] = [];
  for (const user of ['ann', 'bob']) {
    const titles: string[] = [];
    for (let i = 0; i < 500; i++) {
      const at = i * 10;
      history.push(create(0, user, `${user}-w0-${i}`, at, at + 6));
      history.push(create(1, user, `${user}-w1-${i}`, at + 1, at + 7));
      titles.push(`${user}-w0-${i}`, `${user}-w1-${i}`);
      history.push(read(2, user, titles.slice(0, -2), at, at + 5));
      history.push(read(3, user, [...titles], at + 8, at + 9));
    }
  }
  const started = performance.now();
  t.true(checkAgendaHistory(history, { timeoutMs: 20_000 }).ok);
  t.true(performance.now() - started < 10_000);
});
