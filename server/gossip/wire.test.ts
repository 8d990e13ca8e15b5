import { createHmac } from 'node:crypto';
import test from 'ava';
import type { GossipMessage } from './types.js';
import { GossipCodec, MAX_DATAGRAM_BYTES } from './wire.js';

const KEY = 'cluster-key-for-tests-0123456789';

const ping: GossipMessage = {
  type: 'ping',
  from: 'gateway-vm1',
  seq: 7,
  target: 'users-vm2',
  updates: [
    {
      id: 'gateway-vm1',
      role: 'gateway',
      address: '10.0.0.1:7946',
      meta: { http: '10.0.0.1:8443' },
      incarnation: 2,
      state: 'alive',
    },
  ],
};

function codecAt(clock: { now: number }, key = KEY): GossipCodec {
  let counter = 0;
  return new GossipCodec({
    key,
    replayWindowMs: 10_000,
    clock: () => clock.now,
    nonce: () => (++counter).toString(16).padStart(32, '0'),
  });
}

/** A datagram signed with the right key around an arbitrary envelope. */
function signed(envelope: unknown, key = KEY): Buffer {
  const bytes = Buffer.from(JSON.stringify(envelope));
  return Buffer.concat([createHmac('sha256', key).update(bytes).digest(), bytes]);
}

test('a message survives the round trip', (t) => {
  const clock = { now: 1_000_000 };
  const result = codecAt(clock).decode(codecAt(clock).encode(ping));
  t.deepEqual(result, { ok: true, message: ping });
});

test('a datagram signed with another key, or altered on the way, is refused', (t) => {
  const clock = { now: 1_000_000 };
  const receiver = codecAt(clock);
  const forged = codecAt(clock, 'not-the-cluster-key-0123456789ab').encode(ping);
  t.deepEqual(receiver.decode(forged), { ok: false, reason: 'bad_mac' });
  const altered = codecAt(clock).encode(ping);
  altered.writeUInt8((altered.readUInt8(altered.length - 5) ^ 1) & 0xff, altered.length - 5);
  t.deepEqual(receiver.decode(altered), { ok: false, reason: 'bad_mac' });
});

test('a replayed datagram is refused, and so is one outside the time window', (t) => {
  const clock = { now: 1_000_000 };
  const receiver = codecAt(clock);
  const datagram = codecAt(clock).encode(ping);
  t.true(receiver.decode(datagram).ok);
  t.deepEqual(receiver.decode(datagram), { ok: false, reason: 'replay' });
  const old = codecAt({ now: clock.now - 10_001 }).encode(ping);
  t.deepEqual(receiver.decode(old), { ok: false, reason: 'stale' });
  const future = codecAt({ now: clock.now + 10_001 }).encode(ping);
  t.deepEqual(receiver.decode(future), { ok: false, reason: 'stale' });
});

test('garbage and authenticated nonsense are refused with a reason, never thrown', (t) => {
  const clock = { now: 1_000_000 };
  const receiver = codecAt(clock);
  const nonce = 'ab'.repeat(16);
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'too_short'],
    ['only a tag', new Uint8Array(32), 'too_short'],
    ['random bytes', Buffer.alloc(200, 7), 'bad_mac'],
    ['oversized', Buffer.alloc(MAX_DATAGRAM_BYTES + 1), 'too_large'],
    ['a JSON number', signed(42), 'malformed'],
    ['another version', signed({ v: 2, ts: clock.now, nonce, body: ping }), 'version'],
    [
      'an unknown message type',
      signed({ v: 1, ts: clock.now, nonce, body: { ...ping, type: 'shutdown' } }),
      'malformed',
    ],
    [
      'a negative incarnation',
      signed({
        v: 1,
        ts: clock.now,
        nonce,
        body: { ...ping, updates: [{ ...ping.updates[0], incarnation: -1 }] },
      }),
      'malformed',
    ],
  ];
  for (const [name, datagram, reason] of cases) {
    t.deepEqual(receiver.decode(datagram), { ok: false, reason }, name);
  }
  const notJson = Buffer.from('{oops');
  const tagged = Buffer.concat([createHmac('sha256', KEY).update(notJson).digest(), notJson]);
  t.deepEqual(receiver.decode(tagged), { ok: false, reason: 'malformed' }, 'not JSON');
});

test('a short cluster key is refused', (t) => {
  const error = t.throws(() => new GossipCodec({ key: 'short' }));
  t.is((error as { code?: string }).code, 'invalid_config');
});
