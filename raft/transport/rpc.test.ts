import test from 'ava';
import type { ExecutionContext } from 'ava';
import { once } from 'node:events';
import tls from 'node:tls';
import { RpcError, TransportClosedError } from './errors.js';
import { FrameKind, encodeFrame } from './frame.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { RpcClient, RpcServer } from './rpc.js';
import type { RpcContext, RpcServerOptions } from './rpc.js';
import { RecordingLogger, createTestPki, waitFor } from './test-support.js';
import type { TestPki } from './test-support.js';

/** This file's ports: 21400–21499. */
const BASE_PORT = 21400;

const pki: Promise<TestPki> = createTestPki();
const text = new TextEncoder();
const fromText = new TextDecoder();

function address(offset: number): NetAddress {
  return { host: '127.0.0.1', port: BASE_PORT + offset };
}

/** A typed error as handlers raise them: a literal code and JSON details. */
class NotLeaderError extends Error {
  readonly code = 'not_leader';
  constructor(readonly details: { leader: number }) {
    super(`not the leader; try ${details.leader}`);
  }
}

async function startServer(
  t: ExecutionContext,
  offset: number,
  options: Partial<RpcServerOptions> = {},
): Promise<{ server: RpcServer; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const server = new RpcServer({
    listen: address(offset),
    tls: await (await pki).material('db-1'),
    logger,
    ...options,
  });
  server.handle('echo', (body) => Promise.resolve(body));
  server.handle('whoami', (_body, context) =>
    Promise.resolve(text.encode(context.clientName ?? '')),
  );
  t.teardown(() => server.close());
  await server.start();
  return { server, logger };
}

async function createClient(
  t: ExecutionContext,
  offset: number,
  material?: MutualTlsMaterial,
): Promise<RpcClient> {
  const client = new RpcClient({
    address: address(offset),
    tls: material ?? (await (await pki).material('users-service')),
  });
  t.teardown(() => client.close());
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

test('a call returns the handler response and the handler knows the caller', async (t) => {
  await startServer(t, 0);
  const client = await createClient(t, 0);
  t.is(fromText.decode(await client.call('echo', text.encode('ping'))), 'ping');
  t.is(fromText.decode(await client.call('whoami', new Uint8Array(0))), 'users-service');
  t.deepEqual(await client.call('echo', new Uint8Array(0)), new Uint8Array(0));
  const large = new Uint8Array(3 * 1024 * 1024).fill(42);
  t.is((await client.call('echo', large)).byteLength, large.byteLength);
});

test('many calls are outstanding at once on one connection', async (t) => {
  const { server } = await startServer(t, 1);
  const contexts = new Set<RpcContext>();
  let releaseSlow: () => void = () => undefined;
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
  server.handle('slow', async (body, context) => {
    contexts.add(context);
    await slowReleased;
    return body;
  });
  server.handle('fast', (body, context) => {
    contexts.add(context);
    return Promise.resolve(body);
  });
  const client = await createClient(t, 1);

  const slow = client.call('slow', text.encode('slow'));
  const fast = await Promise.all(
    Array.from({ length: 200 }, (_, i) => client.call('fast', text.encode(`fast ${i}`))),
  );
  // The fast calls completed while the slow one, sent first, was still running.
  t.deepEqual(
    fast.map((body) => fromText.decode(body)),
    Array.from({ length: 200 }, (_, i) => `fast ${i}`),
  );
  releaseSlow();
  t.is(fromText.decode(await slow), 'slow');
  t.is(contexts.size, 1, 'all calls shared one connection');
});

test('handler errors with a code reach the caller typed', async (t) => {
  const { server, logger } = await startServer(t, 2);
  server.handle('write', () => Promise.reject(new NotLeaderError({ leader: 3 })));
  server.handle('crash', () => Promise.reject(new Error('secret internal detail')));
  server.handle('throws', () => {
    throw Object.assign(new Error('bad input'), { code: 'invalid_argument' });
  });
  const client = await createClient(t, 2);

  const notLeader = await rejection(client.call('write', new Uint8Array(0)));
  t.is(notLeader.code, 'not_leader');
  t.true(notLeader.remote);
  t.is(notLeader.message, 'not the leader; try 3');
  t.deepEqual(notLeader.details, { leader: 3 });

  const crash = await rejection(client.call('crash', new Uint8Array(0)));
  t.is(crash.code, 'internal');
  t.false(crash.message.includes('secret'));
  t.true(logger.has('warn', 'rpc handler failed'));

  const thrown = await rejection(client.call('throws', new Uint8Array(0)));
  t.is(thrown.code, 'invalid_argument');
  t.is(thrown.details, undefined);

  const unknown = await rejection(client.call('nope', new Uint8Array(0)));
  t.is(unknown.code, 'unknown_method');
  t.true(unknown.remote);

  // The connection survives typed errors.
  t.is(fromText.decode(await client.call('echo', text.encode('still here'))), 'still here');
});

test('a call without a response in time fails with timeout', async (t) => {
  const { server } = await startServer(t, 3);
  server.handle(
    'hang',
    (_body, context) =>
      new Promise((_resolve, reject) =>
        context.signal.addEventListener('abort', () => reject(new Error('gone'))),
      ),
  );
  const client = await createClient(t, 3);
  const error = await rejection(client.call('hang', new Uint8Array(0), { timeoutMs: 100 }));
  t.is(error.code, 'timeout');
  t.false(error.remote);
  t.is(fromText.decode(await client.call('echo', text.encode('next'))), 'next');
});

test('an aborted call fails with aborted and the connection stays usable', async (t) => {
  const { server } = await startServer(t, 4);
  let started = false;
  server.handle('hang', () => {
    started = true;
    return new Promise(() => undefined);
  });
  const client = await createClient(t, 4);
  const controller = new AbortController();
  const call = client.call('hang', new Uint8Array(0), { signal: controller.signal });
  await waitFor('the handler to start', () => started);
  controller.abort();
  t.is((await rejection(call)).code, 'aborted');
  t.is(
    (await rejection(client.call('echo', new Uint8Array(0), { signal: controller.signal }))).code,
    'aborted',
  );
  t.is(fromText.decode(await client.call('echo', text.encode('ok'))), 'ok');
});

test('outstanding calls fail with unavailable when the server dies, and the client reconnects', async (t) => {
  const { server } = await startServer(t, 5);
  let started = false;
  let handlerSignal: AbortSignal | null = null;
  server.handle('hang', (_body, context) => {
    started = true;
    handlerSignal = context.signal;
    return new Promise(() => undefined);
  });
  const client = await createClient(t, 5);
  const call = client.call('hang', new Uint8Array(0), { timeoutMs: 30_000 });
  await waitFor('the handler to start', () => started);
  await server.close();

  const error = await rejection(call);
  t.is(error.code, 'unavailable');
  t.true((handlerSignal as AbortSignal | null)?.aborted);
  // With the server gone the next call cannot even connect: it was never delivered.
  t.is((await rejection(client.call('echo', new Uint8Array(0)))).code, 'unreachable');

  await startServer(t, 5);
  t.is(fromText.decode(await client.call('echo', text.encode('back'))), 'back');
});

test('a garbage frame closes only that connection', async (t) => {
  const { logger } = await startServer(t, 6);
  const client = await createClient(t, 6);
  t.is(fromText.decode(await client.call('echo', text.encode('before'))), 'before');

  const material = await (await pki).material('intruder');
  const socket = tls.connect({ ...address(6), ...material, minVersion: 'TLSv1.3' });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  socket.write(encodeFrame(FrameKind.rpcRequest, new Uint8Array([1, 2, 3])));
  await once(socket, 'close');
  t.true(logger.has('warn', 'closing an rpc connection'));

  const oversized = tls.connect({ ...address(6), ...material, minVersion: 'TLSv1.3' });
  oversized.on('error', () => undefined);
  await once(oversized, 'secureConnect');
  oversized.write(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, FrameKind.rpcRequest]));
  await once(oversized, 'close');

  t.is(fromText.decode(await client.call('echo', text.encode('after'))), 'after');
});

test('a client with a certificate from another CA is refused', async (t) => {
  await startServer(t, 7);
  const { ca } = await pki;
  const foreign = await (await createTestPki()).material('users-service');
  const client = await createClient(t, 7, { ...foreign, ca: ca.certPem });
  const error = await rejection(client.call('echo', text.encode('let me in')));
  t.is(error.code, 'unavailable');
});

test('calls to an address nobody listens on fail with unreachable (never delivered)', async (t) => {
  const client = await createClient(t, 8);
  t.is((await rejection(client.call('echo', new Uint8Array(0)))).code, 'unreachable');
});

test('a request above the frame limit is refused locally', async (t) => {
  const client = new RpcClient({
    address: address(9),
    tls: await (await pki).material('users-service'),
    maxFrameBytes: 1024,
  });
  t.teardown(() => client.close());
  t.is((await rejection(client.call('echo', new Uint8Array(2000)))).code, 'frame_too_large');
});

test('close is idempotent and fails outstanding and later calls with closed', async (t) => {
  const { server } = await startServer(t, 10);
  let started = false;
  server.handle('hang', () => {
    started = true;
    return new Promise(() => undefined);
  });
  const client = await createClient(t, 10);
  const call = client.call('hang', new Uint8Array(0));
  await waitFor('the handler to start', () => started);
  const first = client.close();
  t.is(client.close(), first);
  await first;
  t.is((await rejection(call)).code, 'closed');
  t.is((await rejection(client.call('echo', new Uint8Array(0)))).code, 'closed');

  await server.close();
  await t.throwsAsync(() => server.start(), { instanceOf: TransportClosedError });
});

test('a method is registered once', async (t) => {
  const { server } = await startServer(t, 11);
  t.throws(() => server.handle('echo', (body) => Promise.resolve(body)), {
    message: /already handled/,
  });
});
