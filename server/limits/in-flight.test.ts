import test from 'ava';
import { AbortedError, InFlightGate } from './in-flight.js';

const never = new AbortController().signal;

test('past perKey a call waits, and the places pass on in order as calls end', async (t) => {
  const gate = new InFlightGate({ perKey: 2, waitingPerKey: 10 });
  const first = await gate.enter('alice', never);
  const second = await gate.enter('alice', never);
  const order: number[] = [];
  const waiting = [3, 4, 5].map((n) =>
    gate.enter('alice', never).then((release) => {
      order.push(n);
      return release;
    }),
  );
  // Another user never waits behind alice.
  t.truthy(await gate.enter('bob', never));
  await Promise.resolve();
  t.deepEqual(order, []);
  t.deepEqual(gate.load('alice'), { running: 2, waiting: 3 });
  first?.();
  first?.(); // a second release does nothing
  const third = await waiting[0];
  t.deepEqual(order, [3]);
  t.deepEqual(gate.load('alice'), { running: 2, waiting: 2 });
  second?.();
  third?.();
  const [fourth, fifth] = await Promise.all([waiting[1], waiting[2]]);
  t.deepEqual(order, [3, 4, 5]);
  fourth?.();
  fifth?.();
  t.deepEqual(gate.load('alice'), { running: 0, waiting: 0 });
  t.is(gate.keys, 1, 'alice is forgotten; bob still holds his place');
});

test('a full line refuses at once (null), and a waiting call that gives up leaves it', async (t) => {
  const gate = new InFlightGate({ perKey: 1, waitingPerKey: 1 });
  const running = await gate.enter('alice', never);
  const stop = new AbortController();
  const waiting = gate.enter('alice', stop.signal);
  t.is(await gate.enter('alice', never), null);
  stop.abort();
  await t.throwsAsync(waiting, { instanceOf: AbortedError });
  t.deepEqual(gate.load('alice'), { running: 1, waiting: 0 });
  // Its place in the line is free again; the release passes nothing to the one that left.
  const next = gate.enter('alice', never);
  running?.();
  const release = await next;
  t.truthy(release);
  release?.();
  t.is(gate.keys, 0);
  await t.throwsAsync(gate.enter('alice', stop.signal), { instanceOf: AbortedError });
  t.is(gate.keys, 0);
});

test('a gate without a place is refused', (t) => {
  t.throws(() => new InFlightGate({ perKey: 0, waitingPerKey: 1 }), { instanceOf: RangeError });
});
