/**
 * Heartbeats on loopback: the peer's state arrives; forged, foreign, replayed, reordered and
 * malformed datagrams are counted and dropped without changing what the peer is believed to
 * say; a restarted peer is heard again. Ports 30360–30369.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createSocket } from 'node:dgram';
import { z } from 'zod';
import { waitFor } from '../server/bus/test-support.js';
import { AuthenticatedDatagramCodec } from '../server/gossip/wire.js';
import { HeartbeatChannel, HeartbeatSchema } from './heartbeat.js';
import type { Heartbeat, HeartbeatChannelOptions } from './heartbeat.js';
import { vipPorts } from './test-support.js';

const KEY = 'vip-pair-key-for-tests-0123456789';
const ports = vipPorts(30_360, 30_369);
const portA = ports.take();
const portB = ports.take();
const portC = ports.take();
const localhost = (port: number) => ({ host: '127.0.0.1', port });

async function open(
  t: ExecutionContext,
  options: Partial<HeartbeatChannelOptions> & Pick<HeartbeatChannelOptions, 'self' | 'peerId'>,
): Promise<HeartbeatChannel> {
  const channel = await HeartbeatChannel.open({
    listen: localhost(options.self === 'vip-a' ? portA : portB),
    peer: localhost(options.self === 'vip-a' ? portB : portA),
    key: KEY,
    restartAfterMs: 300,
    ...options,
  });
  t.teardown(() => channel.close());
  return channel;
}

/** Sends raw datagrams to `port`, as an attacker on the network could. */
async function rawSender(t: ExecutionContext, port: number) {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(portC, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return (datagram: Uint8Array) =>
    new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
}

function sealer(key: string, body: z.ZodType<unknown> = HeartbeatSchema) {
  return new AuthenticatedDatagramCodec<unknown>(
    { key },
    { body, error: () => new Error('not expected') },
  );
}

const heartbeat = (overrides: Partial<Heartbeat> = {}): Heartbeat => ({
  type: 'vip-heartbeat',
  from: 'vip-a',
  state: 'passive',
  epoch: 9,
  seq: 1_000,
  ...overrides,
});

test.serial(
  'the peer’s state, epoch and age arrive; bad datagrams are dropped and counted',
  async (t) => {
    const a = await open(t, { self: 'vip-a', peerId: 'vip-b' });
    const b = await open(t, { self: 'vip-b', peerId: 'vip-a', restartAfterMs: 60_000 });
    t.like(b.peer(), {
      id: 'vip-a',
      claimed: 'unknown',
      epoch: null,
      acknowledgedActiveAgeMs: null,
    });
    // Never heard: counted from the channel's opening, as if heard then (see peer()).
    t.true((b.peer().heartbeatAgeMs ?? Infinity) < 60_000);

    a.send('active', 4);
    await waitFor('the heartbeat', () => b.peer().claimed === 'active');
    t.like(b.peer(), { id: 'vip-a', claimed: 'active', epoch: 4 });
    t.true((b.peer().heartbeatAgeMs ?? Infinity) < 1_000);
    await waitFor('the send to be counted', () => a.stats().sent === 1);

    const send = await rawSender(t, portB);
    const genuine = sealer(KEY);
    const captured = genuine.encode(heartbeat({ seq: Date.now() * 2 }));
    const cases: [string, Uint8Array, string][] = [
      ['empty', new Uint8Array(0), 'too_short'],
      ['garbage', Buffer.alloc(100, 1), 'bad_mac'],
      ['another key', sealer('not-the-pair-key-0123456789abcdef').encode(heartbeat()), 'bad_mac'],
      [
        'a stranger',
        genuine.encode(heartbeat({ from: 'vip-c', seq: Date.now() * 3 })),
        'unknown_sender',
      ],
      [
        'its own echo',
        genuine.encode(heartbeat({ from: 'vip-b', seq: Date.now() * 3 })),
        'unknown_sender',
      ],
      [
        'not a heartbeat',
        sealer(KEY, z.unknown()).encode({ type: 'ping', from: 'vip-a' }),
        'malformed',
      ],
      ['an older sequence number', genuine.encode(heartbeat({ seq: 1 })), 'out_of_order'],
      [
        'a negative epoch',
        sealer(KEY, z.unknown()).encode({ ...heartbeat(), epoch: -1 }),
        'malformed',
      ],
    ];
    for (const [name, datagram, reason] of cases) {
      const before = b.stats().dropped[reason as 'bad_mac'];
      await send(datagram);
      await waitFor(name, () => b.stats().dropped[reason as 'bad_mac'] === before + 1);
    }
    t.like(b.peer(), { claimed: 'active', epoch: 4 }, 'nothing forged changed the peer’s state');

    // A genuine heartbeat, then the very same bytes again.
    await send(captured);
    await waitFor('the captured heartbeat', () => b.peer().claimed === 'passive');
    await send(captured);
    await waitFor('the replay to be dropped', () => b.stats().dropped.replay === 1);
    t.is(b.stats().received, 2);
  },
);

test.serial(
  'a peer restarted on a clock that went back is heard again after a silence',
  async (t) => {
    const b = await open(t, { self: 'vip-b', peerId: 'vip-a', restartAfterMs: 300 });
    const send = await rawSender(t, portB);
    const genuine = sealer(KEY);
    await send(genuine.encode(heartbeat({ state: 'active', seq: 5_000 })));
    await waitFor('the first heartbeat', () => b.peer().claimed === 'active');
    await send(genuine.encode(heartbeat({ state: 'passive', seq: 10 })));
    await waitFor('the reordered one to be dropped', () => b.stats().dropped.out_of_order === 1);
    await waitFor('the silence', () => (b.peer().heartbeatAgeMs ?? 0) > 300);
    await send(genuine.encode(heartbeat({ state: 'passive', seq: 11 })));
    await waitFor('the restarted peer to be heard', () => b.peer().claimed === 'passive');
    t.is(b.stats().received, 2);
  },
);

test.serial(
  'a channel refuses a short key, its own id as the peer’s, and a busy port',
  async (t) => {
    await t.throwsAsync(open(t, { self: 'vip-a', peerId: 'vip-b', key: 'short' }), {
      message: /at least 16 bytes/,
    });
    await t.throwsAsync(open(t, { self: 'vip-a', peerId: 'vip-a' }), { message: /must differ/ });
    await open(t, { self: 'vip-a', peerId: 'vip-b' });
    await t.throwsAsync(open(t, { self: 'vip-a', peerId: 'vip-b' }), { code: 'EADDRINUSE' });
  },
);

test.serial('sequence numbers start above anything an earlier run could have sent', async (t) => {
  const before = Date.now();
  const probe = sealer(KEY);
  const received: Heartbeat[] = [];
  const listener = createSocket('udp4');
  await new Promise<void>((resolve) => listener.bind(portC, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  listener.on('message', (datagram) => {
    const result = probe.decode(datagram);
    if (result.ok) received.push(result.body as Heartbeat);
  });
  const a = await open(t, { self: 'vip-a', peerId: 'vip-b', peer: localhost(portC) });
  a.send('passive', 0);
  a.send('active', 2);
  await waitFor('two heartbeats', () => received.length === 2);
  t.true((received[0]?.seq ?? 0) >= before, 'the first is numbered by the start time');
  t.like(received[1], {
    from: 'vip-a',
    state: 'active',
    epoch: 2,
    seq: (received[0]?.seq ?? 0) + 1,
  });
});

test.serial(
  'a passive peer confirms our active heartbeats; its own activity or our passivity voids that',
  async (t) => {
    const a = await open(t, { self: 'vip-a', peerId: 'vip-b' });
    const b = await open(t, { self: 'vip-b', peerId: 'vip-a' });
    a.send('active', 3);
    await waitFor('b to hear a', () => b.peer().claimed === 'active');
    t.is(a.peer().acknowledgedActiveAgeMs, null, 'nothing confirmed before b answers');

    b.send('passive', 3);
    await waitFor('the confirmation', () => a.peer().acknowledgedActiveAgeMs !== null);
    t.true((a.peer().acknowledgedActiveAgeMs ?? Infinity) < 1_000);

    // The peer says it is active: it may act, so its word no longer counts.
    b.send('active', 4);
    await waitFor('b active', () => a.peer().claimed === 'active');
    t.is(a.peer().acknowledgedActiveAgeMs, null);

    // Confirmed again while passive, then we say passive and that is confirmed: void.
    b.send('passive', 4);
    await waitFor('confirmed again', () => a.peer().acknowledgedActiveAgeMs !== null);
    a.send('passive', 4);
    await waitFor('b hears a passive', () => b.peer().claimed === 'passive');
    b.send('passive', 4);
    await waitFor('our passivity confirmed', () => a.peer().acknowledgedActiveAgeMs === null);
    t.is(a.peer().acknowledgedActiveAgeMs, null);
  },
);

test.serial('a heartbeat without a confirmation (an older agent) is accepted', async (t) => {
  const b = await open(t, { self: 'vip-b', peerId: 'vip-a' });
  const send = await rawSender(t, portB);
  await send(sealer(KEY).encode(heartbeat({ state: 'active', seq: Date.now() * 4 })));
  await waitFor('the heartbeat', () => b.peer().claimed === 'active');
  t.is(b.peer().acknowledgedActiveAgeMs, null);
});

test.serial(
  'a peer never heard counts as heard when we started, until restartAfterMs',
  async (t) => {
    const b = await open(t, { self: 'vip-b', peerId: 'vip-a', restartAfterMs: 300 });
    const age = b.peer().heartbeatAgeMs;
    t.true(age !== null && age < 300, 'a restarted agent keeps the promise it may have made');
    await waitFor('the promise to run out', () => b.peer().heartbeatAgeMs === null);
    t.is(b.peer().claimed, 'unknown');
  },
);
