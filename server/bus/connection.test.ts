import test from 'ava';
import { Redis } from 'ioredis';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import { Unavailable } from '../../contract/errors.js';
import { BusConnection } from './connection.js';
import { StaticPrimarySource } from './primary-source.js';
import type { PrimaryAddress } from './primary-source.js';
import { PortRange, createRedisTls, startRedis, waitFor } from './test-support.js';
import type { RedisProcess, RedisTlsFiles } from './test-support.js';

/** This file's ports: 28000–28099. */
const ports = new PortRange(28_000, 28_099);
let tls: RedisTlsFiles;

test.before(async () => {
  tls = await createRedisTls();
});
test.after.always(async () => {
  await tls?.remove();
});

function start(t: { teardown(fn: () => Promise<void>): void }): Promise<RedisProcess> {
  return startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
}

/** A static source that counts how often it was asked. */
class CountingSource extends StaticPrimarySource {
  asked = 0;

  override current(): Promise<PrimaryAddress> {
    this.asked++;
    return super.current();
  }
}

/** Names of the clients connected to `server` whose name starts with `prefix`. */
async function clientNames(server: RedisProcess, prefix: string): Promise<string[]> {
  const list = String(await server.admin().call('CLIENT', 'LIST'));
  return [...list.matchAll(/ name=(\S*)/g)]
    .map((match) => match[1] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** Tries one connection and reports how it ended. */
async function connectOnce(
  server: RedisProcess,
  material: { ca: string; cert?: string; key?: string },
) {
  const client = new Redis({
    host: server.host,
    port: server.port,
    tls: material,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  } finally {
    client.disconnect();
  }
}

test('Redis refuses clients whose certificate comes from another CA, or that have none', async (t) => {
  const server = await start(t);
  const foreignCa = await createCertificateAuthority();
  const foreign = await issueCertificate(foreignCa, { name: 'intruder', usages: 'client' });
  const caPem = String(tls.client.ca);

  t.is(
    await connectOnce(server, {
      ca: caPem,
      cert: String(tls.client.cert),
      key: String(tls.client.key),
    }),
    'PONG',
  );
  t.regex(
    await connectOnce(server, { ca: caPem, cert: foreign.certPem, key: foreign.keyPem }),
    /^refused/,
  );
  t.regex(await connectOnce(server, { ca: caPem }), /^refused/);
});

test('commands go to the primary of the newest epoch; older epochs are ignored', async (t) => {
  const first = await start(t);
  const second = await start(t);
  const source = new CountingSource(first.address(1));
  const connection = new BusConnection({
    primary: source,
    tls: tls.client,
    name: 'follower',
    checkIntervalMs: 50,
  });
  t.teardown(() => connection.close());

  await (await connection.commands()).set('where', 'first');
  t.is(connection.epoch, 1);
  t.is(await first.admin().get('where'), 'first');
  t.true((await clientNames(first, 'follower:')).includes('follower:commands'));

  const moved: number[] = [];
  connection.onPrimaryChanged((primary) => moved.push(primary.epoch));
  source.set(second.address(2));
  await waitFor('the connection to follow the primary', () => connection.epoch === 2);
  await (await connection.commands()).set('where', 'second');
  t.is(await second.admin().get('where'), 'second');
  t.is(await first.admin().get('where'), 'first');
  t.deepEqual(moved, [2]);
  // Nothing of ours stays connected to the superseded primary.
  await waitFor(
    'the old connections to close',
    async () => (await clientNames(first, 'follower:')).length === 0,
  );

  // A stale answer (a lagging registry read) does not move us back.
  source.set(first.address(1));
  const askedBefore = source.asked;
  await waitFor('two checks of the stale answer', () => source.asked >= askedBefore + 2);
  t.is(connection.epoch, 2);
  await (await connection.commands()).set('where', 'still second');
  t.is(await second.admin().get('where'), 'still second');
  t.is(await first.admin().get('where'), 'first');
});

test('after close every call fails with unavailable, and close is idempotent', async (t) => {
  const server = await start(t);
  const connection = new BusConnection({
    primary: new StaticPrimarySource(server.address(1)),
    tls: tls.client,
    name: 'closing',
  });
  await connection.commands();
  const waiting = connection.blocking('never-ready', AbortSignal.timeout(5_000)).then(
    () => 'ready',
    (error: unknown) => error,
  );
  await Promise.all([connection.close(), connection.close()]);
  t.true(connection.closed);
  await t.throwsAsync(connection.commands(), { instanceOf: Unavailable });
  const outcome = await waiting;
  t.true(outcome === 'ready' || outcome instanceof Unavailable);
  await waitFor(
    'the server to see no client of ours',
    async () => (await clientNames(server, 'closing:')).length === 0,
  );
});

test('a call waiting for a primary that never comes ends with its signal', async (t) => {
  const connection = new BusConnection({
    primary: { current: () => Promise.reject(new Unavailable('the registry has no primary')) },
    tls: tls.client,
    name: 'orphan',
  });
  t.teardown(() => connection.close());
  const error = await t.throwsAsync(connection.commands(AbortSignal.timeout(200)), {
    instanceOf: Unavailable,
  });
  t.is((error?.cause as Error).name, 'TimeoutError');
});

test('a blocking read on a primary that stopped answering ends as soon as the primary moves', async (t) => {
  const first = await start(t);
  const second = await start(t);
  const source = new StaticPrimarySource(first.address(1));
  const connection = new BusConnection({
    primary: source,
    tls: tls.client,
    name: 'reader',
    checkIntervalMs: 50,
  });
  t.teardown(() => connection.close());
  const blocking = await connection.blocking('reads');
  // Blocks for 10 s unless something ends it.
  const read = blocking.call('BLPOP', 'nothing-comes', 10).then(
    () => 'answered',
    (error: Error) => error.message,
  );
  await waitFor(
    'the read to block',
    async () => (await clientNames(first, 'reader:blocking-reads')).length === 1,
  );
  first.pause();
  t.teardown(() => first.resume());
  const moved = performance.now();
  source.set(second.address(2));
  const outcome = await read;
  const tookMs = performance.now() - moved;
  t.regex(outcome, /closed/i);
  // The check interval plus a little: not ioredis's 2 s wait for a polite close.
  t.true(tookMs < 1_000, `the read ended ${Math.round(tookMs)} ms after the move`);
  t.is(connection.epoch, 2);
});
