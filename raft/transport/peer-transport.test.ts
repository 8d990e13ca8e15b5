import test from 'ava';
import type { ExecutionContext } from 'ava';
import { once } from 'node:events';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Message, NodeId } from '../core/types.js';
import {
  FRAME_HEADER_BYTES,
  FRAME_PROTOCOL_VERSION,
  FrameKind,
  allocateFrame,
  encodeFrame,
} from './frame.js';
import { encodeMessage } from './codec.js';
import { TransportClosedError } from './errors.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { PeerTransport } from './peer-transport.js';
import type { PeerTransportOptions } from './peer-transport.js';
import { RecordingLogger, createTestPki, waitFor } from './test-support.js';
import type { TestPki } from './test-support.js';
import { ByteWriter, UINT_BYTES, stringSize } from './wire.js';

/** This file's ports: 21200–21399, ten per test. */
const BASE_PORT = 21200;
const CLUSTER = 'test-cluster';

const pki: Promise<TestPki> = createTestPki();

interface Member {
  readonly id: NodeId;
  readonly address: NetAddress;
  readonly material: MutualTlsMaterial;
  readonly logger: RecordingLogger;
  readonly received: Message[];
  transport: PeerTransport;
}

function heartbeat(from: NodeId, to: NodeId, context: string): Message {
  return { type: 'heartbeat', from, to, term: 1, commit: 0, context };
}

function contexts(messages: readonly Message[], from?: NodeId): string[] {
  return messages
    .filter((m) => from === undefined || m.from === from)
    .map((m) => (m.type === 'heartbeat' ? m.context : m.type));
}

function addressOf(basePort: number, id: NodeId): NetAddress {
  return { host: '127.0.0.1', port: basePort + id };
}

function peersOf(basePort: number, ids: readonly NodeId[], self: NodeId): Map<NodeId, NetAddress> {
  return new Map(ids.filter((id) => id !== self).map((id) => [id, addressOf(basePort, id)]));
}

function createMember(
  member: Omit<Member, 'transport'>,
  peers: Map<NodeId, NetAddress>,
  options: Partial<PeerTransportOptions>,
): PeerTransport {
  return new PeerTransport({
    self: member.id,
    clusterId: CLUSTER,
    listen: member.address,
    peers,
    tls: member.material,
    onMessage: (msg) => member.received.push(msg),
    logger: member.logger,
    ...options,
  });
}

/** Starts members `ids` of one cluster on `basePort + id`; they are closed after the test. */
async function startCluster(
  t: ExecutionContext,
  basePort: number,
  ids: readonly NodeId[],
  options: Partial<PeerTransportOptions> = {},
): Promise<Map<NodeId, Member>> {
  const { material } = await pki;
  const members = new Map<NodeId, Member>();
  for (const id of ids) {
    const base = {
      id,
      address: addressOf(basePort, id),
      material: await material(`member-${id}`),
      logger: new RecordingLogger(),
      received: [],
    };
    const member: Member = {
      ...base,
      transport: createMember(base, peersOf(basePort, ids, id), options),
    };
    members.set(id, member);
    t.teardown(() => member.transport.close());
  }
  await Promise.all([...members.values()].map((m) => m.transport.start()));
  return members;
}

function memberOf(members: Map<NodeId, Member>, id: NodeId): Member {
  const member = members.get(id);
  if (member === undefined) {
    throw new Error(`no member ${id}`);
  }
  return member;
}

function helloFrame(clusterId: string, sender: NodeId, receiver: NodeId): Uint8Array {
  const frame = allocateFrame(FrameKind.hello, stringSize(clusterId) + 2 * UINT_BYTES);
  const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
  w.string(clusterId);
  w.uint(sender);
  w.uint(receiver);
  return frame;
}

/** A hand-driven peer connection: writes `frames` and resolves when the server closes it. */
async function rawPeerConnection(
  address: NetAddress,
  material: MutualTlsMaterial,
  frames: readonly Uint8Array[],
): Promise<{ closed: boolean; opened: boolean }> {
  let opened = false;
  const socket: TLSSocket = tls.connect({ ...address, ...material, minVersion: 'TLSv1.3' });
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  // Under TLS 1.3 the server checks our certificate after our side finished the handshake,
  // so a refusal can reach us before or after 'secureConnect' (then as ECONNRESET): either
  // way the outcome is a closed connection, and the frames go out only if it opened.
  socket.once('secureConnect', () => {
    opened = true;
    for (const frame of frames) {
      socket.write(frame);
    }
  });
  // A connection the server keeps would hang this await, and the test would time out. Not
  // events.once: it rejects when 'error' (the ECONNRESET above) comes before 'close'.
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { closed: true, opened };
}

test('three members exchange messages over mutual TLS', async (t) => {
  const ids = [1, 2, 3];
  const members = await startCluster(t, BASE_PORT, ids);
  for (const from of ids) {
    for (const to of ids) {
      if (from !== to) {
        for (let i = 0; i < 50; i++) {
          memberOf(members, from).transport.send(heartbeat(from, to, `${from}->${to} #${i}`));
        }
      }
    }
  }
  await waitFor('all messages', () =>
    ids.every((id) => memberOf(members, id).received.length === 100),
  );
  for (const to of ids) {
    for (const from of ids.filter((id) => id !== to)) {
      t.deepEqual(
        contexts(memberOf(members, to).received, from),
        Array.from({ length: 50 }, (_, i) => `${from}->${to} #${i}`),
        'messages of one sender arrive in order',
      );
    }
  }
  const stats = memberOf(members, 1).transport.stats().get(2);
  t.is(stats?.sentFrames, 50);
  t.is(stats?.receivedFrames, 50);
  t.true((stats?.sentBytes ?? 0) > 50 * FRAME_HEADER_BYTES);
  t.is(stats?.dropped, 0);
  await waitFor(
    'connected',
    () => memberOf(members, 1).transport.stats().get(2)?.connected === true,
  );
});

test('app messages with batches of entries arrive intact', async (t) => {
  const members = await startCluster(t, BASE_PORT + 10, [1, 2]);
  const entries = Array.from({ length: 100 }, (_, i) => ({
    index: i + 1,
    term: 2,
    type: 'normal' as const,
    data: new Uint8Array(200).fill(i),
  }));
  const app: Message = {
    type: 'app',
    from: 1,
    to: 2,
    term: 2,
    prevIndex: 0,
    prevTerm: 0,
    commit: 0,
    entries,
  };
  for (let i = 0; i < 200; i++) {
    memberOf(members, 1).transport.send(app);
  }
  await waitFor('200 appends', () => memberOf(members, 2).received.length === 200);
  t.deepEqual(memberOf(members, 2).received[199], app);
});

test('a restarted member is reconnected to and receives again', async (t) => {
  const basePort = BASE_PORT + 20;
  const members = await startCluster(t, basePort, [1, 2, 3]);
  const one = memberOf(members, 1);
  const two = memberOf(members, 2);
  one.transport.send(heartbeat(1, 2, 'before'));
  await waitFor('first message', () => contexts(two.received).includes('before'));

  await two.transport.close();
  two.received.length = 0;
  two.transport = createMember(two, peersOf(basePort, [1, 2, 3], 2), {});
  t.teardown(() => two.transport.close());
  await two.transport.start();

  // Messages sent around the restart may be lost; keep sending until one gets through.
  let sent = 0;
  await waitFor('a message after the restart', () => {
    one.transport.send(heartbeat(1, 2, `after #${sent++}`));
    return two.received.length > 0;
  });
  await waitFor('reconnect counted', () => (one.transport.stats().get(2)?.reconnects ?? 0) >= 1);
  t.true(one.logger.has('warn', 'lost the connection to a peer'));
  // The restarted member reaches the others too.
  two.transport.send(heartbeat(2, 3, 'from the new 2'));
  await waitFor('message from restarted member', () =>
    contexts(memberOf(members, 3).received).includes('from the new 2'),
  );
  t.true(contexts(memberOf(members, 3).received).includes('from the new 2'));
});

test('messages queued while a peer is down are delivered once it comes up', async (t) => {
  const basePort = BASE_PORT + 30;
  const { material } = await pki;
  const one: Member = {
    id: 1,
    address: addressOf(basePort, 1),
    material: await material('member-1'),
    logger: new RecordingLogger(),
    received: [],
    transport: undefined as unknown as PeerTransport,
  };
  one.transport = createMember(one, peersOf(basePort, [1, 2], 1), {});
  t.teardown(() => one.transport.close());
  await one.transport.start();
  for (let i = 0; i < 10; i++) {
    one.transport.send(heartbeat(1, 2, `queued #${i}`));
  }
  await waitFor('peer reported unreachable', () => one.logger.has('warn', 'cannot reach a peer'));
  t.false(one.transport.stats().get(2)?.connected);
  t.true((one.transport.stats().get(2)?.queuedBytes ?? 0) > 0);

  const members = await startCluster(t, basePort, [2]);
  const two = memberOf(members, 2);
  await waitFor('queued messages', () => two.received.length === 10);
  t.deepEqual(
    contexts(two.received),
    Array.from({ length: 10 }, (_, i) => `queued #${i}`),
  );
});

test('beyond the queue bound the oldest messages are dropped and counted', async (t) => {
  const basePort = BASE_PORT + 40;
  const { material } = await pki;
  const logger = new RecordingLogger();
  const frameBytes = encodeMessage(heartbeat(1, 2, 'x #0000')).byteLength + FRAME_HEADER_BYTES;
  const transport = new PeerTransport({
    self: 1,
    clusterId: CLUSTER,
    listen: addressOf(basePort, 1),
    peers: peersOf(basePort, [1, 2], 1),
    tls: await material('member-1'),
    onMessage: () => undefined,
    logger,
    maxQueuedBytesPerPeer: frameBytes * 10,
  });
  t.teardown(() => transport.close());
  await transport.start();
  for (let i = 0; i < 100; i++) {
    transport.send(heartbeat(1, 2, `x #${String(i).padStart(4, '0')}`));
  }
  const stats = transport.stats().get(2);
  t.is(stats?.dropped, 90);
  t.is(stats?.queuedBytes, frameBytes * 10);
  t.true(logger.has('warn', 'send queue full'));

  const members = await startCluster(t, basePort, [2]);
  const two = memberOf(members, 2);
  await waitFor('the newest ten', () => two.received.length === 10);
  t.deepEqual(
    contexts(two.received),
    Array.from({ length: 10 }, (_, i) => `x #${String(90 + i).padStart(4, '0')}`),
  );
});

test('a garbage frame closes only that connection', async (t) => {
  const basePort = BASE_PORT + 50;
  const members = await startCluster(t, basePort, [1, 2]);
  const one = memberOf(members, 1);
  const { material } = await pki;
  const intruderMaterial = await material('member-7');

  const garbage = encodeFrame(FrameKind.raftMessage, new Uint8Array([1, 99, 3, 4, 5]));
  const outcome = await rawPeerConnection(one.address, intruderMaterial, [
    helloFrame(CLUSTER, 7, 1),
    garbage,
  ]);
  t.true(outcome.opened);
  t.true(outcome.closed);
  t.true(one.logger.has('warn', 'closing an inbound peer connection'));

  memberOf(members, 2).transport.send(heartbeat(2, 1, 'still working'));
  await waitFor('message after the garbage', () =>
    contexts(one.received).includes('still working'),
  );
  t.deepEqual(contexts(one.received, 7), []);
});

test('an oversized frame closes only that connection', async (t) => {
  const basePort = BASE_PORT + 60;
  const members = await startCluster(t, basePort, [1, 2], { maxFrameBytes: 64 * 1024 });
  const one = memberOf(members, 1);
  const { material } = await pki;

  const header = new Uint8Array([0, 0, 0x10, 0, FRAME_PROTOCOL_VERSION, FrameKind.raftMessage]);
  const outcome = await rawPeerConnection(one.address, await material('member-7'), [
    helloFrame(CLUSTER, 7, 1),
    header,
  ]);
  t.true(outcome.opened);
  t.true(outcome.closed);
  t.true(
    one.logger.records.some(
      (r) => r.level === 'warn' && r.message.includes('exceeds the 65536 byte limit'),
    ),
  );

  memberOf(members, 2).transport.send(heartbeat(2, 1, 'still working'));
  await waitFor('message after the oversized frame', () =>
    contexts(one.received).includes('still working'),
  );
  t.true(contexts(one.received).includes('still working'));
});

test('an outgoing message above the frame limit is dropped, not sent', async (t) => {
  const members = await startCluster(t, BASE_PORT + 70, [1, 2], { maxFrameBytes: 1024 });
  const one = memberOf(members, 1);
  const big: Message = { ...heartbeat(1, 2, 'x'.repeat(2000)) };
  one.transport.send(big);
  one.transport.send(heartbeat(1, 2, 'small'));
  await waitFor('the small message', () => memberOf(members, 2).received.length === 1);
  t.deepEqual(contexts(memberOf(members, 2).received), ['small']);
  t.is(one.transport.stats().get(2)?.dropped, 1);
});

test('a wrong cluster, a misaddressed hello and a forged sender are refused', async (t) => {
  const basePort = BASE_PORT + 80;
  const members = await startCluster(t, basePort, [1]);
  const one = memberOf(members, 1);
  const { material } = await pki;
  const intruder = await material('member-7');
  const forged = encodeFrame(FrameKind.raftMessage, encodeMessage(heartbeat(8, 1, 'forged')));
  const misaddressed = encodeFrame(
    FrameKind.raftMessage,
    encodeMessage(heartbeat(7, 3, 'misaddressed')),
  );

  await rawPeerConnection(one.address, intruder, [helloFrame('other-cluster', 7, 1)]);
  await rawPeerConnection(one.address, intruder, [helloFrame(CLUSTER, 7, 2)]);
  await rawPeerConnection(one.address, intruder, [helloFrame(CLUSTER, 7, 1), forged]);
  await rawPeerConnection(one.address, intruder, [helloFrame(CLUSTER, 7, 1), misaddressed]);
  await rawPeerConnection(one.address, intruder, [forged]);

  t.deepEqual(one.received, []);
  for (const reason of [
    'wrong cluster',
    'misaddressed hello',
    'message not from the hello sender to this member',
    'expected a hello',
  ]) {
    t.true(one.logger.has('warn', reason), reason);
  }
});

test('a peer with a certificate from another CA is refused', async (t) => {
  const basePort = BASE_PORT + 90;
  const members = await startCluster(t, basePort, [1]);
  const one = memberOf(members, 1);
  const otherPki = await createTestPki();
  const foreign = await otherPki.material('member-2');
  // Trusting our CA for the server side, but presenting a certificate our CA did not sign.
  const { ca } = await pki;

  const outcome = await rawPeerConnection(one.address, { ...foreign, ca: ca.certPem }, [
    helloFrame(CLUSTER, 2, 1),
    encodeFrame(FrameKind.raftMessage, encodeMessage(heartbeat(2, 1, 'intruder'))),
  ]);

  t.true(outcome.closed);
  t.deepEqual(one.received, []);
  await waitFor('handshake refusal logged', () =>
    one.logger.has('warn', 'during the TLS handshake'),
  );
});

test('a dialer refuses a server whose certificate is from another CA', async (t) => {
  const basePort = BASE_PORT + 100;
  const otherPki = await createTestPki();
  const { material } = await pki;
  const impostorLogger = new RecordingLogger();
  const impostor = new PeerTransport({
    self: 2,
    clusterId: CLUSTER,
    listen: addressOf(basePort, 2),
    peers: new Map(),
    tls: await otherPki.material('member-2'),
    onMessage: () => undefined,
    logger: impostorLogger,
  });
  t.teardown(() => impostor.close());
  await impostor.start();
  const logger = new RecordingLogger();
  const one = new PeerTransport({
    self: 1,
    clusterId: CLUSTER,
    listen: addressOf(basePort, 1),
    peers: peersOf(basePort, [1, 2], 1),
    tls: await material('member-1'),
    onMessage: () => undefined,
    logger,
  });
  t.teardown(() => one.close());
  await one.start();
  one.send(heartbeat(1, 2, 'secret'));
  await waitFor('dial failure logged', () => logger.has('warn', 'cannot reach a peer'));
  t.false(one.stats().get(2)?.connected);
  t.is(one.stats().get(2)?.sentFrames, 0);
});

test('peers can be added and removed at runtime', async (t) => {
  const basePort = BASE_PORT + 110;
  const members = await startCluster(t, basePort, [1, 2, 3]);
  const one = memberOf(members, 1);
  one.transport.setPeers(peersOf(basePort, [1, 2], 1));
  one.transport.send(heartbeat(1, 3, 'to a removed peer'));
  t.is(one.transport.stats().get(3)?.dropped, 1);

  one.transport.setPeers(peersOf(basePort, [1, 2, 3], 1));
  one.transport.send(heartbeat(1, 3, 'to a re-added peer'));
  await waitFor('message to the re-added peer', () =>
    contexts(memberOf(members, 3).received).includes('to a re-added peer'),
  );
  t.deepEqual(contexts(memberOf(members, 3).received), ['to a re-added peer']);
});

test('a peer that stops answering is redialled', async (t) => {
  const basePort = BASE_PORT + 120;
  const { material } = await pki;
  const silentMaterial = await material('member-2');
  let connections = 0;
  // Accepts peers but never answers their pings, like a host cut off by a partition.
  const silent = tls.createServer({
    ...silentMaterial,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  const silentSockets = new Set<TLSSocket>();
  silent.on('secureConnection', (socket: TLSSocket) => {
    connections++;
    silentSockets.add(socket);
    socket.on('error', () => undefined);
  });
  silent.listen(addressOf(basePort, 2).port, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(async () => {
    for (const socket of silentSockets) {
      socket.destroy();
    }
    await new Promise((resolve) => silent.close(resolve));
  });
  const logger = new RecordingLogger();
  const one = new PeerTransport({
    self: 1,
    clusterId: CLUSTER,
    listen: addressOf(basePort, 1),
    peers: peersOf(basePort, [1, 2], 1),
    tls: await material('member-1'),
    onMessage: () => undefined,
    logger,
    livenessTimeoutMs: 200,
  });
  t.teardown(() => one.close());
  await one.start();
  await waitFor('a second connection', () => connections >= 2);
  t.false(one.stats().get(2)?.connected);
});

test('close is idempotent and sending afterwards is a no-op', async (t) => {
  const members = await startCluster(t, BASE_PORT + 130, [1, 2]);
  const one = memberOf(members, 1);
  const first = one.transport.close();
  const second = one.transport.close();
  t.is(first, second);
  await first;
  t.notThrows(() => one.transport.send(heartbeat(1, 2, 'after close')));
  await t.throwsAsync(() => one.transport.start(), { instanceOf: TransportClosedError });
});

test('unusable TLS material is refused at construction', async (t) => {
  const { material } = await pki;
  const one = await material('member-1');
  const two = await material('member-2');
  t.throws(
    () =>
      new PeerTransport({
        self: 1,
        clusterId: CLUSTER,
        listen: addressOf(BASE_PORT + 140, 1),
        peers: new Map(),
        tls: { ...one, key: two.key },
        onMessage: () => undefined,
        logger: new RecordingLogger(),
      }),
  );
});
