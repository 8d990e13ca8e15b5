import test from 'ava';
import {
  checkKvHistory,
  checkOperations,
  HistoryRecorder,
  HistoryRecorderMisuseError,
  kvRegisterModel,
  MalformedHistoryError,
  type HistoryOperation,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
} from './linearizability.js';
import { seededRandom } from './rng.js';

// ---------------------------------------------------------------------------------------------
// Builders: `ret === null` records an operation whose outcome the client never learned.

function put(client: number, key: string, value: string, call: number, ret: number | null) {
  return kvOp(client, { kind: 'put', key, value }, call, ret, { kind: 'put' });
}

function del(client: number, key: string, call: number, ret: number | null) {
  return kvOp(client, { kind: 'delete', key }, call, ret, { kind: 'delete' });
}

function get(client: number, key: string, seen: string | null, call: number, ret: number | null) {
  return kvOp(client, { kind: 'get', key }, call, ret, { kind: 'get', value: seen });
}

function cas(
  client: number,
  key: string,
  swap: { expected: string | null; value: string; ok: boolean },
  call: number,
  ret: number | null,
) {
  const input: KvInput = { kind: 'cas', key, expected: swap.expected, value: swap.value };
  return kvOp(client, input, call, ret, { kind: 'cas', ok: swap.ok });
}

function kvOp(
  clientId: number,
  input: KvInput,
  call: number,
  ret: number | null,
  output: KvOutput,
): Operation {
  return { clientId, input, call, return: ret, output: ret === null ? null : output };
}

// ---------------------------------------------------------------------------------------------
// Sequential histories

test('an empty history is linearizable', (t) => {
  t.like(checkKvHistory([]), { ok: true, verdict: 'linearizable', keysChecked: 0 });
});

test('a sequential history that follows register semantics is linearizable', (t) => {
  const history = [
    get(1, 'x', null, 0, 1),
    put(1, 'x', 'a', 2, 3),
    get(2, 'x', 'a', 4, 5),
    put(2, 'x', 'b', 6, 7),
    get(1, 'x', 'b', 8, 9),
  ];
  t.like(checkKvHistory(history), { ok: true, verdict: 'linearizable', keysChecked: 1 });
});

test('a sequential read of a value never written is not linearizable', (t) => {
  const result = checkKvHistory([put(1, 'x', 'a', 0, 1), get(1, 'x', 'z', 2, 3)]);
  t.like(result, { ok: false, verdict: 'not_linearizable', failure: { key: 'x' } });
});

test('keys start absent unless an initial value is given', (t) => {
  const history = [get(1, 'x', 'seed', 0, 1)];
  t.false(checkKvHistory(history).ok);
  t.true(checkKvHistory(history, { initial: new Map([['x', 'seed']]) }).ok);
  t.false(checkKvHistory([get(1, 'x', null, 0, 1)], { initial: new Map([['x', 'seed']]) }).ok);
});

// ---------------------------------------------------------------------------------------------
// Concurrency

test('a read overlapping a put may see the old or the new value', (t) => {
  const write = put(1, 'x', 'a', 0, 10);
  t.true(checkKvHistory([write, get(2, 'x', null, 5, 15)]).ok);
  t.true(checkKvHistory([write, get(2, 'x', 'a', 5, 15)]).ok);
});

test('overlapping reads may see the old and the new value in either real-time order', (t) => {
  // Porcupine's first register example: the read of the old value can be placed before the
  // put even though it was called after the read of the new value.
  const history = [
    put(0, 'x', '100', 0, 100),
    get(1, 'x', '100', 25, 75),
    get(2, 'x', '0', 30, 60),
  ];
  t.true(checkKvHistory(history, { initial: new Map([['x', '0']]) }).ok);
});

test('a read that starts after another read saw the new value cannot see the old one', (t) => {
  // Porcupine's second register example: the new value was already visible at 30.
  const history = [
    put(0, 'x', '200', 0, 100),
    get(1, 'x', '200', 10, 30),
    get(2, 'x', '0', 40, 90),
  ];
  const result = checkKvHistory(history, { initial: new Map([['x', '0']]) });
  t.like(result, { verdict: 'not_linearizable', failure: { key: 'x' } });
  t.deepEqual(result.failure?.operations, [history[2]]);
});

test('two concurrent puts may land in either order, but the order cannot flip afterwards', (t) => {
  const puts = [put(1, 'x', 'a', 0, 10), put(2, 'x', 'b', 0, 10)];
  t.true(checkKvHistory([...puts, get(3, 'x', 'a', 11, 12), get(3, 'x', 'a', 13, 14)]).ok);
  t.true(checkKvHistory([...puts, get(3, 'x', 'b', 11, 12), get(3, 'x', 'b', 13, 14)]).ok);
  t.false(checkKvHistory([...puts, get(3, 'x', 'b', 11, 12), get(3, 'x', 'a', 13, 14)]).ok);
});

test('a stale read after a completed write is not linearizable', (t) => {
  const stale = get(2, 'x', 'a', 30, 40);
  const history = [put(1, 'x', 'a', 0, 10), put(1, 'x', 'b', 11, 20), stale];
  const result = checkKvHistory(history);
  t.like(result, { ok: false, verdict: 'not_linearizable', keysChecked: 1 });
  t.is(result.failure?.key, 'x');
  t.deepEqual(result.failure?.operations, [stale]);
  t.deepEqual(result.failure?.prefix, [history[0], history[1]]);
});

test('a read cannot see a value before the put that writes it was invoked', (t) => {
  const early = get(2, 'x', 'a', 0, 5);
  const result = checkKvHistory([early, put(1, 'x', 'a', 6, 10)]);
  t.like(result, { verdict: 'not_linearizable', failure: { key: 'x', prefix: [] } });
  t.deepEqual(result.failure?.operations, [early]);
});

test('an operation called at the instant another returned counts as concurrent with it', (t) => {
  // Clock resolution must not turn into false failures: equal timestamps overlap.
  t.true(checkKvHistory([put(1, 'x', 'a', 0, 10), get(2, 'x', null, 10, 12)]).ok);
  t.false(checkKvHistory([put(1, 'x', 'a', 0, 10), get(2, 'x', null, 11, 12)]).ok);
});

// ---------------------------------------------------------------------------------------------
// Unknown outcomes

test('a put with unknown outcome may explain a later read', (t) => {
  const history = [put(1, 'x', 'a', 0, null), get(2, 'x', 'a', 50, 60)];
  t.true(checkKvHistory(history).ok);
});

test('a put with unknown outcome may also never have taken effect', (t) => {
  const history = [put(1, 'x', 'a', 0, null), get(2, 'x', null, 50, 60), get(2, 'x', null, 70, 80)];
  t.true(checkKvHistory(history).ok);
});

test('a put with unknown outcome takes effect at most once', (t) => {
  const history = [
    put(1, 'x', 'a', 0, null),
    get(2, 'x', 'a', 10, 20),
    put(3, 'x', 'b', 21, 22),
    get(2, 'x', 'a', 30, 40),
  ];
  const result = checkKvHistory(history);
  t.like(result, { verdict: 'not_linearizable', failure: { key: 'x' } });
  t.deepEqual(result.failure?.operations, [history[3]]);
});

test('a put with unknown outcome cannot take effect before it was called', (t) => {
  t.false(checkKvHistory([get(2, 'x', 'a', 0, 5), put(1, 'x', 'a', 10, null)]).ok);
});

test('a read with unknown outcome constrains nothing', (t) => {
  const history = [put(1, 'x', 'a', 0, 1), get(2, 'x', null, 2, null), get(2, 'x', 'a', 3, 4)];
  t.true(checkKvHistory(history).ok);
});

test('an unknown put no one could have observed does not hide a stale read', (t) => {
  // The unknown put of 'c' is pruned before the search; the failure must survive it.
  const history = [
    put(1, 'x', 'a', 0, 10),
    put(3, 'x', 'c', 5, null),
    put(1, 'x', 'b', 11, 20),
    get(2, 'x', 'a', 30, 40),
  ];
  t.false(checkKvHistory(history).ok);
});

test('many concurrent unknown puts that nobody observed are checked quickly', (t) => {
  // Each of these puts could take effect at any point or never: without setting them aside,
  // proving the stale read at the end impossible means trying 2^40 combinations.
  const history: Operation[] = [put(0, 'x', 'start', 0, 1)];
  for (let client = 1; client <= 40; client++) {
    history.push(put(client, 'x', `lost-${client}`, 2 + client, null));
  }
  for (let i = 0; i < 40; i++) history.push(get(99, 'x', 'start', 100 + 2 * i, 101 + 2 * i));
  t.is(checkKvHistory(history, { timeoutMs: 2_000 }).verdict, 'linearizable');
  const stale = [...history, put(0, 'x', 'later', 200, 201), get(98, 'x', 'start', 300, 301)];
  t.like(checkKvHistory(stale, { timeoutMs: 2_000 }), {
    verdict: 'not_linearizable',
    failure: { operations: [stale.at(-1)] },
  });
});

test('a put with unknown outcome whose value was read took effect before that read returned', (t) => {
  const history = [
    put(1, 'x', 'old', 0, 1),
    put(2, 'x', 'new', 5, null),
    get(3, 'x', 'new', 10, 20),
    get(4, 'x', 'old', 30, 40),
  ];
  const result = checkKvHistory(history);
  t.like(result, { verdict: 'not_linearizable', failure: { operations: [history[3]] } });
  // The explanation shows the put as recorded, not as the checker pinned it down.
  t.regex(
    result.failure?.explanation ?? '',
    /put\("x", "new"\) → \? \(outcome unknown\) +\[call 5, outcome unknown\]/,
  );
});

// ---------------------------------------------------------------------------------------------
// Compare-and-swap and delete

test('cas swaps only when the current value is the expected one', (t) => {
  const history = [
    cas(1, 'x', { expected: null, value: 'a', ok: true }, 0, 1),
    cas(1, 'x', { expected: null, value: 'b', ok: false }, 2, 3),
    cas(1, 'x', { expected: 'a', value: 'c', ok: true }, 4, 5),
    get(1, 'x', 'c', 6, 7),
  ];
  t.true(checkKvHistory(history).ok);
});

test('a cas reported as swapped when the value did not match is not linearizable', (t) => {
  const history = [
    put(1, 'x', 'a', 0, 1),
    cas(1, 'x', { expected: 'z', value: 'b', ok: true }, 2, 3),
  ];
  t.false(checkKvHistory(history).ok);
});

test('a cas reported as not swapped when the value matched is not linearizable', (t) => {
  const history = [
    put(1, 'x', 'a', 0, 1),
    cas(1, 'x', { expected: 'a', value: 'b', ok: false }, 2, 3),
  ];
  t.false(checkKvHistory(history).ok);
});

test('two concurrent cas with the same expected value cannot both swap (lost update)', (t) => {
  const first = cas(1, 'x', { expected: 'a', value: 'b', ok: true }, 2, 10);
  const both = cas(2, 'x', { expected: 'a', value: 'c', ok: true }, 3, 9);
  const loser = cas(2, 'x', { expected: 'a', value: 'c', ok: false }, 3, 9);
  t.false(checkKvHistory([put(0, 'x', 'a', 0, 1), first, both]).ok);
  t.true(checkKvHistory([put(0, 'x', 'a', 0, 1), first, loser]).ok);
});

test('a cas with unknown outcome may explain a later read, or never take effect', (t) => {
  const unknown = cas(1, 'x', { expected: 'a', value: 'b', ok: true }, 2, null);
  t.true(checkKvHistory([put(0, 'x', 'a', 0, 1), unknown, get(2, 'x', 'b', 10, 11)]).ok);
  t.true(checkKvHistory([put(0, 'x', 'a', 0, 1), unknown, get(2, 'x', 'a', 10, 11)]).ok);
  // It can only swap from its expected value.
  t.false(checkKvHistory([put(0, 'x', 'z', 0, 1), unknown, get(2, 'x', 'b', 10, 11)]).ok);
});

test('delete makes the key absent', (t) => {
  const history = [
    put(1, 'x', 'a', 0, 1),
    del(1, 'x', 2, 3),
    get(2, 'x', null, 4, 5),
    cas(2, 'x', { expected: null, value: 'b', ok: true }, 6, 7),
    get(1, 'x', 'b', 8, 9),
  ];
  t.true(checkKvHistory(history).ok);
  t.false(checkKvHistory([put(1, 'x', 'a', 0, 1), del(1, 'x', 2, 3), get(2, 'x', 'a', 4, 5)]).ok);
});

test('a delete with unknown outcome may explain a read of an absent key', (t) => {
  const history = [put(1, 'x', 'a', 0, 1), del(1, 'x', 2, null), get(2, 'x', null, 10, 11)];
  t.true(checkKvHistory(history).ok);
});

// ---------------------------------------------------------------------------------------------
// Partitions and results

test('keys are checked independently and the failing key is named', (t) => {
  const history = [
    put(1, 'a', '1', 0, 10),
    put(2, 'b', '1', 0, 10),
    get(3, 'a', '1', 11, 12),
    get(3, 'b', null, 11, 12),
    put(1, 'c', '1', 0, 10),
  ];
  const result = checkKvHistory(history);
  t.like(result, { ok: false, verdict: 'not_linearizable', failure: { key: 'b' } });
  t.true(checkKvHistory(history.filter((op) => op.input.key !== 'b')).ok);
  t.is(checkKvHistory(history.filter((op) => op.input.key !== 'b')).keysChecked, 2);
});

test('the explanation shows the longest prefix with its states and the impossible candidates', (t) => {
  const history = [
    put(1, 'x', 'a', 0, 10),
    put(1, 'x', 'b', 11, 20),
    get(2, 'x', 'b', 12, 25),
    get(3, 'x', 'a', 30, 40),
    get(4, 'x', null, 31, 35),
  ];
  const result = checkKvHistory(history);
  t.is(
    result.failure?.explanation,
    [
      'Key "x" is not linearizable (5 operations).',
      'Longest linearizable prefix found: 3 of 5 operations, starting from null (absent):',
      '  #0 client 1: put("x", "a")    [call 0, return 10]   → "a"',
      '  #1 client 1: put("x", "b")    [call 11, return 20]  → "b"',
      '  #2 client 2: get("x") → "b"   [call 12, return 25]  → "b"',
      'Then none of the 2 operations that could come next is possible in state "b":',
      '  #3 client 3: get("x") → "a"   [call 30, return 40]',
      '  #4 client 4: get("x") → null  [call 31, return 35]',
      '#4 returned at 35, and nothing called after that can precede it, so one of these had to come next.',
    ].join('\n'),
  );
});

test('the explanation names operations with unknown outcome and those set aside', (t) => {
  // A lost update: both cas saw "a". The puts with unknown outcome could always come next, so
  // they are listed as dead ends rather than hiding the state that matters. The read with
  // unknown outcome cannot affect the verdict at all.
  const history = [
    put(0, 'x', 'a', 0, 1),
    cas(1, 'x', { expected: 'a', value: 'b', ok: true }, 2, 10),
    cas(2, 'x', { expected: 'a', value: 'c', ok: true }, 3, 9),
    put(3, 'x', 'q', 4, null),
    put(4, 'x', 'q', 5, null),
    get(5, 'x', null, 6, null),
    get(6, 'x', 'q', 50, 60),
  ];
  t.is(
    checkKvHistory(history).failure?.explanation,
    [
      'Key "x" is not linearizable (7 operations, of which 1 cannot affect the verdict).',
      'Longest linearizable prefix found: 2 of 6 operations, starting from null (absent):',
      '  #0 client 0: put("x", "a")                            [call 0, return 1]         → "a"',
      '  #1 client 1: cas("x", expect "a", set "b") → swapped  [call 2, return 10]        → "b"',
      'Then none of the 3 operations that could come next leads to a linearization from state "b":',
      '  #2 client 2: cas("x", expect "a", set "c") → swapped  [call 3, return 9]',
      '  #3 client 3: put("x", "q") → ? (outcome unknown)      [call 4, outcome unknown]  (possible here, but a dead end)',
      '  #4 client 4: put("x", "q") → ? (outcome unknown)      [call 5, outcome unknown]  (possible here, but a dead end)',
      '#2 returned at 9, and nothing called after that can precede it, so one of these had to come next.',
    ].join('\n'),
  );
});

test('a long prefix is shortened to its last operations in the explanation', (t) => {
  const history: Operation[] = [];
  for (let i = 0; i < 30; i++) history.push(put(1, 'x', `v${i}`, 2 * i, 2 * i + 1));
  history.push(get(2, 'x', 'v3', 100, 101));
  const explanation = checkKvHistory(history).failure?.explanation ?? '';
  t.regex(explanation, /… 20 earlier operations/);
  t.regex(explanation, /#29 client 1: put\("x", "v29"\) +\[call 58, return 59\] +→ "v29"/);
  t.regex(explanation, /only operation that could come next is impossible in state "v29"/);
  t.true(explanation.split('\n').length < 20);
});

test('histories that are inconsistent in themselves are rejected as malformed', (t) => {
  const backwards = put(1, 'x', 'a', 10, 5);
  const wrongKind: Operation = { ...put(1, 'x', 'a', 0, 1), output: { kind: 'get', value: 'a' } };
  const noReturn: Operation = { ...put(1, 'x', 'a', 0, 1), return: null };
  const noOutput: Operation = { ...put(1, 'x', 'a', 0, 1), output: null };
  for (const bad of [backwards, wrongKind, noReturn, noOutput]) {
    const error = t.throws(() => checkKvHistory([put(0, 'y', 'b', 0, 1), bad]), {
      instanceOf: MalformedHistoryError,
    });
    t.is(error?.code, 'MALFORMED_HISTORY');
    t.is(error?.index, 1);
  }
});

// ---------------------------------------------------------------------------------------------
// Time budget

/** Many overlapping puts and a read of a value nobody wrote: WGL explores every subset. */
function hardHistory(key: string, puts: number): Operation[] {
  const history: Operation[] = [];
  for (let client = 0; client < puts; client++) {
    history.push(put(client, key, `v${client}`, client, 1_000));
  }
  history.push(get(puts, key, 'never-written', 500, 1_000));
  return history;
}

test('a hard history with a tiny budget ends with a timeout verdict, promptly', (t) => {
  const started = performance.now();
  const result = checkKvHistory(hardHistory('x', 30), { timeoutMs: 20 });
  const elapsed = performance.now() - started;
  t.like(result, { ok: false, verdict: 'timeout', keysChecked: 0, timedOutKeys: ['x'] });
  t.is(result.failure, undefined);
  t.true(elapsed < 1_000, `took ${elapsed} ms`);
});

test('the memory budget also ends a hard search with a timeout verdict', (t) => {
  // The time budget stays at its 10 s default: only the cap on configurations can stop it.
  const started = performance.now();
  const result = checkKvHistory(hardHistory('x', 30), { maxConfigurations: 10_000 });
  t.true(performance.now() - started < 1_000);
  t.like(result, { ok: false, verdict: 'timeout', timedOutKeys: ['x'] });
});

test('a definite failure on one key wins over a timeout on another', (t) => {
  const history = [
    ...hardHistory('hard', 30),
    put(1, 'easy', 'a', 0, 1),
    get(2, 'easy', 'b', 2, 3),
  ];
  t.like(checkKvHistory(history, { timeoutMs: 50 }), {
    verdict: 'not_linearizable',
    failure: { key: 'easy' },
  });
});

// ---------------------------------------------------------------------------------------------
// Random histories from a real register

/** Seeded integers in [0, bound) so every failure is reproducible from its seed. */
function randomSource(seed: number): (bound: number) => number {
  const random = seededRandom(seed);
  return (bound) => Math.floor(random() * bound);
}

/** The register itself, independent of the checker's model: what a correct store answers. */
function applyToStore(store: Map<string, string>, input: KvInput): KvOutput {
  switch (input.kind) {
    case 'put':
      store.set(input.key, input.value);
      return { kind: 'put' };
    case 'delete':
      store.delete(input.key);
      return { kind: 'delete' };
    case 'get':
      return { kind: 'get', value: store.get(input.key) ?? null };
    case 'cas': {
      const ok = (store.get(input.key) ?? null) === input.expected;
      if (ok) store.set(input.key, input.value);
      return { kind: 'cas', ok };
    }
  }
}

interface RandomHistoryShape {
  operations: number;
  keys: number;
  clients: number;
  /** Distinct values per key; small means many ambiguous reads. */
  values: number;
  /** Probability that a client never learns an operation's outcome. */
  unknownRate: number;
}

/**
 * A history a correct register produces: every client runs operations one after another;
 * each takes effect at a random instant between its call and its return, in the order of
 * those instants. Some clients lose the answer; the lost write then happened or not.
 */
function linearizableHistory(seed: number, shape: RandomHistoryShape): Operation[] {
  const random = randomSource(seed);
  const freeAt = new Array<number>(shape.clients).fill(0);
  const planned: { op: Operation; takesEffectAt: number; happens: boolean }[] = [];
  for (let i = 0; i < shape.operations; i++) {
    const clientId = random(shape.clients);
    const call = freeAt[clientId]! + random(20);
    const takesEffectAt = call + random(60);
    const ret = takesEffectAt + random(60);
    freeAt[clientId] = ret + 1;
    const key = `k${random(shape.keys)}`;
    const value = `v${random(shape.values)}`;
    const dice = random(100);
    const input: KvInput =
      dice < 35
        ? { kind: 'put', key, value }
        : dice < 75
          ? { kind: 'get', key }
          : dice < 90
            ? {
                kind: 'cas',
                key,
                expected: random(4) === 0 ? null : `v${random(shape.values)}`,
                value,
              }
            : { kind: 'delete', key };
    const unknown = random(1000) < shape.unknownRate * 1000;
    const op: Operation = { clientId, input, call, return: unknown ? null : ret, output: null };
    planned.push({ op, takesEffectAt, happens: !unknown || random(2) === 0 });
  }
  const store = new Map<string, string>();
  for (const { op, happens } of [...planned].sort((a, b) => a.takesEffectAt - b.takesEffectAt)) {
    if (!happens) continue;
    const output = applyToStore(store, op.input);
    if (op.return !== null) op.output = output;
  }
  return planned.map(({ op }) => op).sort((a, b) => a.call - b.call);
}

/** A completed read near the middle of the history, made to see a value nobody wrote. */
function corruptOneRead(history: Operation[]): { history: Operation[]; corrupted: Operation } {
  const index = history.findIndex(
    (op, i) => i >= history.length / 2 && op.input.kind === 'get' && op.output !== null,
  );
  const corrupted: Operation = { ...history[index]!, output: { kind: 'get', value: 'corrupted' } };
  return { history: history.with(index, corrupted), corrupted };
}

test('a large random history from a real register passes, well under a second', (t) => {
  const history = linearizableHistory(1, {
    operations: 5_000,
    keys: 50,
    clients: 40,
    values: 1_000,
    unknownRate: 0.05,
  });
  const started = performance.now();
  const result = checkKvHistory(history);
  const elapsed = performance.now() - started;
  t.like(result, { ok: true, verdict: 'linearizable', keysChecked: 50 });
  t.true(elapsed < 1_000, `took ${elapsed} ms`);
  t.log(`5,000 operations on 50 keys checked in ${elapsed.toFixed(0)} ms`);
});

test('the same history with one read corrupted fails and names the right key', (t) => {
  const original = linearizableHistory(1, {
    operations: 5_000,
    keys: 50,
    clients: 40,
    values: 1_000,
    unknownRate: 0.05,
  });
  const { history, corrupted } = corruptOneRead(original);
  const result = checkKvHistory(history);
  t.like(result, { ok: false, verdict: 'not_linearizable' });
  t.is(result.failure?.key, corrupted.input.key);
  t.true(result.failure?.operations.includes(corrupted));
  t.regex(result.failure?.explanation ?? '', /get\("k\d+"\) → "corrupted"/);
});

test('a single hot key with few values and many clients is checked quickly', (t) => {
  const history = linearizableHistory(7, {
    operations: 2_000,
    keys: 1,
    clients: 8,
    values: 5,
    unknownRate: 0.02,
  });
  const started = performance.now();
  t.is(checkKvHistory(history, { timeoutMs: 5_000 }).verdict, 'linearizable');
  const elapsed = performance.now() - started;
  t.true(elapsed < 2_000, `took ${elapsed} ms`);
});

test('random histories pass and every corrupted one fails on its key', (t) => {
  for (let seed = 100; seed < 130; seed++) {
    const shape = { operations: 400, keys: 5, clients: 6, values: 4, unknownRate: 0.1 };
    const original = linearizableHistory(seed, shape);
    t.true(checkKvHistory(original).ok, `seed ${seed}`);
    const { history, corrupted } = corruptOneRead(original);
    const result = checkKvHistory(history);
    t.like(result, { verdict: 'not_linearizable' }, `seed ${seed}`);
    t.is(result.failure?.key, corrupted.input.key, `seed ${seed}`);
    t.true(result.failure?.operations.includes(corrupted), `seed ${seed}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Agreement with the definition, by brute force

/**
 * Linearizability straight from its definition: some total order of all the operations that
 * respects real time (a before b whenever a returned before b was called) replays on the
 * register with the recorded outputs. Unknown outcomes accept any output; placed last, they
 * stand for "never took effect". No partitions, no pruning, no memoization.
 */
function linearizableByDefinition(
  history: readonly Operation[],
  initial: ReadonlyMap<string, string>,
): boolean {
  const pending = [...history];
  const search = (store: Map<string, string>): boolean => {
    if (pending.length === 0) return true;
    return pending.some((candidate, position) => {
      const mustWait = pending.some(
        (other) => other.return !== null && other.return < candidate.call,
      );
      if (mustWait) return false;
      const next = new Map(store);
      const output = applyToStore(next, candidate.input);
      if (
        candidate.output !== null &&
        JSON.stringify(output) !== JSON.stringify(candidate.output)
      ) {
        return false;
      }
      pending.splice(position, 1);
      const found = search(next);
      pending.splice(position, 0, candidate);
      return found;
    });
  };
  return search(new Map(initial));
}

/**
 * Short histories with arbitrary (often wrong) outputs, overlapping intervals and lost
 * answers. Few values make reads ambiguous; many make them pin down the writes.
 */
function arbitraryHistory(seed: number, values: number): Operation[] {
  const random = randomSource(seed);
  const value = (): string => `v${random(values)}`;
  const length = 1 + random(8);
  return Array.from({ length }, (_, clientId): Operation => {
    const key = `k${random(2)}`;
    const call = random(20);
    const ret = random(4) === 0 ? null : call + random(10);
    const dice = random(4);
    const [input, output]: [KvInput, KvOutput] =
      dice === 0
        ? [{ kind: 'put', key, value: value() }, { kind: 'put' }]
        : dice === 1
          ? [
              { kind: 'get', key },
              { kind: 'get', value: random(4) === 0 ? null : value() },
            ]
          : dice === 2
            ? [
                { kind: 'cas', key, expected: random(3) === 0 ? null : value(), value: value() },
                { kind: 'cas', ok: random(2) === 0 },
              ]
            : [{ kind: 'delete', key }, { kind: 'delete' }];
    return { clientId, input, call, return: ret, output: ret === null ? null : output };
  });
}

for (const values of [3, 10]) {
  test(`verdicts agree with the definition on thousands of short histories (${values} values)`, (t) => {
    const initial = new Map([['k0', 'v1']]);
    const unsimplified = { ...kvRegisterModel(initial), simplify: undefined };
    const plainWgl = { ...unsimplified, readOnly: undefined };
    let linearizable = 0;
    for (let seed = 0; seed < 2_000; seed++) {
      const history = arbitraryHistory(seed * 31 + values, values);
      const expected = linearizableByDefinition(history, initial);
      if (expected) linearizable += 1;
      t.is(checkKvHistory(history, { initial }).ok, expected, `seed ${seed}`);
      t.is(checkOperations(unsimplified, history).ok, expected, `seed ${seed}, not simplified`);
      t.is(checkOperations(plainWgl, history).ok, expected, `seed ${seed}, no eager reads`);
    }
    // Both verdicts must be well represented for the agreement to mean anything.
    t.true(linearizable > 300 && linearizable < 1_700, `${linearizable} linearizable`);
  });
}

// ---------------------------------------------------------------------------------------------
// Reuse with another model

type CounterInput = { kind: 'add'; amount: number } | { kind: 'read' };
type CounterOutput = { kind: 'added' } | { kind: 'read'; total: number };

const counterModel: Model<number, CounterInput, CounterOutput> = {
  init: () => 0,
  step(total, input, output) {
    if (input.kind === 'add') return { ok: true, next: total + input.amount };
    return output === null || (output.kind === 'read' && output.total === total)
      ? { ok: true, next: total }
      : { ok: false };
  },
  key: (total) => total,
  readOnly: (input) => input.kind === 'read',
  describeOperation: (input, output) =>
    input.kind === 'add'
      ? `add(${input.amount})`
      : `read() → ${output?.kind === 'read' ? output.total : '?'}`,
  describeState: (total) => `total ${total}`,
};

function add(clientId: number, amount: number, call: number, ret: number) {
  const op: HistoryOperation<CounterInput, CounterOutput> = {
    clientId,
    input: { kind: 'add', amount },
    call,
    return: ret,
    output: { kind: 'added' },
  };
  return op;
}

function read(clientId: number, total: number, call: number, ret: number) {
  const op: HistoryOperation<CounterInput, CounterOutput> = {
    clientId,
    input: { kind: 'read' },
    call,
    return: ret,
    output: { kind: 'read', total },
  };
  return op;
}

test('the generic checker works with any sequential model', (t) => {
  const concurrentAdds = [add(1, 2, 0, 10), add(2, 3, 0, 10)];
  const history = [...concurrentAdds, read(3, 3, 5, 8), read(3, 5, 11, 12)];
  t.like(checkOperations(counterModel, history), { ok: true, keysChecked: 1 });

  const lost = [...concurrentAdds, read(3, 3, 5, 8), read(3, 2, 11, 12)];
  const result = checkOperations(counterModel, lost);
  t.like(result, { verdict: 'not_linearizable', failure: { key: '', operations: [lost[3]] } });
  t.regex(result.failure?.explanation ?? '', /^The history is not linearizable/);
  t.regex(result.failure?.explanation ?? '', /read\(\) → 2 +\[call 11, return 12\]/);
  t.regex(result.failure?.explanation ?? '', /impossible in state total 5/);
});

// ---------------------------------------------------------------------------------------------
// Recording histories

test('the recorder turns invocations and answers into a history the checker accepts', (t) => {
  let now = 0;
  const recorder = new HistoryRecorder(() => now);
  const write = recorder.invoke(1, { kind: 'put', key: 'x', value: 'a' });
  now = 5;
  const read = recorder.invoke(2, { kind: 'get', key: 'x' });
  now = 7;
  recorder.complete(read, { kind: 'get', value: 'a' });
  now = 9;
  recorder.unknown(write);
  const stillPending = recorder.invoke(3, { kind: 'delete', key: 'x' });

  t.deepEqual(recorder.history(), [
    {
      clientId: 1,
      input: { kind: 'put', key: 'x', value: 'a' },
      call: 0,
      return: null,
      output: null,
    },
    {
      clientId: 2,
      input: { kind: 'get', key: 'x' },
      call: 5,
      return: 7,
      output: { kind: 'get', value: 'a' },
    },
    { clientId: 3, input: { kind: 'delete', key: 'x' }, call: 9, return: null, output: null },
  ]);
  t.true(checkKvHistory(recorder.history()).ok);

  recorder.complete(stillPending, { kind: 'delete' });
  t.like(recorder.history()[2], { return: 9, output: { kind: 'delete' } });
});

test('the recorder refuses to finish an operation twice or one it did not start', (t) => {
  const recorder = new HistoryRecorder(() => 0);
  const op = recorder.invoke(1, { kind: 'get', key: 'x' });
  recorder.complete(op, { kind: 'get', value: null });
  const twice = t.throws(() => recorder.unknown(op), { instanceOf: HistoryRecorderMisuseError });
  t.is(twice?.code, 'HISTORY_RECORDER_MISUSE');
  const foreign = new HistoryRecorder(() => 0).invoke(1, { kind: 'get', key: 'x' });
  t.throws(() => recorder.complete(foreign, { kind: 'get', value: null }), {
    instanceOf: HistoryRecorderMisuseError,
  });
});
