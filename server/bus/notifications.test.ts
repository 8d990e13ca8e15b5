import test from 'ava';
import { NotificationPublisher, NotificationSubscriber } from './notifications.js';
import { StaticPrimarySource } from './primary-source.js';
import { notificationChannel } from './protocol.js';
import {
  PortRange,
  RecordingLogger,
  createRedisTls,
  openBus,
  startRedis,
  waitFor,
} from './test-support.js';
import type { RedisProcess, RedisTlsFiles } from './test-support.js';

/** This file's ports: 28300–28399. */
const ports = new PortRange(28_300, 28_399);
let tls: RedisTlsFiles;

test.before(async () => {
  tls = await createRedisTls();
});
test.after.always(async () => {
  await tls?.remove();
});

/** Redis subscriptions of `username`'s channel, as the server counts them. */
async function subscriptions(server: RedisProcess, username: string): Promise<number> {
  const answer = (await server
    .admin()
    .call('PUBSUB', 'NUMSUB', notificationChannel(username))) as unknown[];
  return Number(answer[1]);
}

test('notifications fan out to every stream of the user over one Redis subscription', async (t) => {
  const server = await startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
  const source = new StaticPrimarySource(server.address(1));
  const publisher = new NotificationPublisher(openBus(t, tls, source, 'service'));
  const subscriber = new NotificationSubscriber(openBus(t, tls, source, 'gateway'));

  const received: string[] = [];
  const stopAlice1 = await subscriber.subscribe('alice', (update) =>
    received.push(`alice-1 ${JSON.stringify(update)}`),
  );
  const stopAlice2 = await subscriber.subscribe('alice', (update) =>
    received.push(`alice-2 ${JSON.stringify(update)}`),
  );
  const stopBob = await subscriber.subscribe('bob', (update) =>
    received.push(`bob ${JSON.stringify(update)}`),
  );
  t.is(await subscriptions(server, 'alice'), 1);
  t.is(subscriber.subscribedUsers, 2);

  t.is(await publisher.publish('alice', { event: 'e1' }), 1);
  await waitFor('both of alice’s streams to get it', () => received.length === 2);
  t.deepEqual(received.sort(), ['alice-1 {"event":"e1"}', 'alice-2 {"event":"e1"}']);

  stopAlice1();
  stopAlice1(); // a second call changes nothing
  t.is(await subscriptions(server, 'alice'), 1);
  received.length = 0;
  await publisher.publish('alice', { event: 'e2' });
  await waitFor('the remaining stream to get it', () => received.length === 1);
  t.deepEqual(received, ['alice-2 {"event":"e2"}']);

  stopAlice2();
  await waitFor(
    'alice’s subscription to end',
    async () => (await subscriptions(server, 'alice')) === 0,
  );
  t.is(await publisher.publish('alice', { event: 'e3' }), 0);
  t.is(await subscriptions(server, 'bob'), 1);
  stopBob();
});

test('subscriptions survive a dropped connection and a move to a new primary', async (t) => {
  const teardown = (stop: () => Promise<void>) => t.teardown(stop);
  const first = await startRedis({ ports, tls, teardown });
  const second = await startRedis({ ports, tls, teardown });
  const source = new StaticPrimarySource(first.address(1));
  const publisher = new NotificationPublisher(openBus(t, tls, source, 'service'));
  const gateway = openBus(t, tls, source, 'gateway');
  const subscriber = new NotificationSubscriber(gateway);
  let restored = 0;
  gateway.onResubscribed(() => restored++);

  const received: unknown[] = [];
  await subscriber.subscribe('alice', (update) => received.push(update));
  await subscriber.subscribe('alice', (update) => received.push(update));
  const before = restored;

  // The server drops the subscriber connection (as a network blip would).
  await first.admin().call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  await waitFor('the subscriptions to be restored', () => restored > before);
  t.is(await subscriptions(first, 'alice'), 1);
  await publisher.publish('alice', 'after the blip');
  await waitFor('the update after the blip', () => received.length === 2);

  source.set(second.address(2));
  await waitFor(
    'the subscriptions to move to the new primary',
    async () => (await subscriptions(second, 'alice')) === 1,
  );
  await waitFor(
    'the publisher to move too',
    async () => (await publisher.publish('alice', 'after the failover')) === 1,
  );
  await waitFor('the update after the failover', () => received.length === 4);
  t.deepEqual(received, [
    'after the blip',
    'after the blip',
    'after the failover',
    'after the failover',
  ]);
});

test('a malformed notification is dropped with a log line; the next one is delivered', async (t) => {
  const server = await startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
  const source = new StaticPrimarySource(server.address(1));
  const logger = new RecordingLogger();
  const subscriber = new NotificationSubscriber(openBus(t, tls, source, 'gateway'), logger);
  const publisher = new NotificationPublisher(openBus(t, tls, source, 'service'));
  const received: unknown[] = [];
  await subscriber.subscribe('alice', (update) => received.push(update));

  await server.admin().publish(notificationChannel('alice'), '{"v":1,"to":"alice"');
  await server.admin().publish(notificationChannel('alice'), '{"v":1,"to":"mallory","update":1}');
  await publisher.publish('alice', { ok: true });
  await waitFor('the good notification', () => received.length === 1);
  t.deepEqual(received, [{ ok: true }]);
  t.is(logger.count('dropped a malformed notification'), 2);
});
