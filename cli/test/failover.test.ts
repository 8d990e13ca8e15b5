import test from 'ava';
import EventAdd from '../commands/event/add.js';
import EventList from '../commands/event/list.js';
import { parseServerList } from '../http/gateway-client.js';
import { FakeGateway, createTestTls, deadGatewayUrl, errorAnswer } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { eventDetails, logIn, loginAnswer } from './support/fixtures.js';
import { parseJsonLine, runCommand, temporaryConfigDir } from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

/** A gateway that logs alice in and schedules any event. */
async function liveGateway(): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  return gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/events', {
      status: 201,
      json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
    })
    .on('GET', '/v1/events', { status: 200, json: { events: [] } });
}

/** A gateway that is up but whose services are not: 503 to everything. */
async function unavailableGateway(): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  return gateway
    .on('POST', '/v1/events', errorAnswer(503, 'unavailable', 'no users service answered'))
    .on('GET', '/v1/events', errorAnswer(503, 'unavailable', 'no users service answered'));
}

const ADD = ['Standup', '--start', '2026-03-02T09:00Z', '--duration', '15m', '--json'];

test('--server a,b,c moves past a dead gateway and a 503 to a live one, with one idempotency key', async (t) => {
  const dead = deadGatewayUrl();
  const busy = await unavailableGateway();
  const live = await liveGateway();
  t.teardown(() => Promise.all([busy.close(), live.close()]));
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);

  const servers = [dead, busy.url, live.url].join(',');
  const run = await runCommand(EventAdd, [...ADD, '--server', servers, '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.like(parseJsonLine(run.stdout), { event: { id: 'e1' } });

  const [refused] = busy.requestsTo('POST', '/v1/events');
  const [applied] = live.requestsTo('POST', '/v1/events');
  const key = refused?.headers['idempotency-key'];
  t.regex(String(key), /^[A-Za-z0-9_-]{1,64}$/);
  t.is(applied?.headers['idempotency-key'], key);
  t.is(applied?.body, refused?.body);

  // The next write is another operation, so it gets a key of its own.
  await runCommand(EventAdd, [...ADD, '--server', servers, '--config-dir', configDir]);
  const second = live.requestsTo('POST', '/v1/events')[1];
  t.not(second?.headers['idempotency-key'], key);
});

test('reads fail over the same way and carry no idempotency key', async (t) => {
  const dead = deadGatewayUrl();
  const live = await liveGateway();
  t.teardown(() => live.close());
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);
  const run = await runCommand(EventList, [
    '--json',
    '--server',
    `${dead},${live.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(parseJsonLine(run.stdout), { events: [] });
  t.is(live.requestsTo('GET', '/v1/events')[0]?.headers['idempotency-key'], undefined);
});

test('when no gateway can answer the exit code is 5 and every gateway is named', async (t) => {
  const dead = deadGatewayUrl();
  const busy = await unavailableGateway();
  const live = await liveGateway();
  t.teardown(() => Promise.all([busy.close(), live.close()]));
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);
  const run = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${dead},${busy.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 5);
  const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
  t.is(error.code, 'unavailable');
  t.true(error.message.includes(`${new URL(dead).host}: connection refused`), error.message);
  t.true(
    error.message.includes(`${new URL(busy.url).host}: unavailable: no users service answered`),
    error.message,
  );
});

test('any answer other than 503 is final: no other gateway is asked', async (t) => {
  const refusing = await FakeGateway.start(tls);
  refusing.on('POST', '/v1/events', errorAnswer(404, 'not_found', 'no user named zed'));
  const live = await liveGateway();
  t.teardown(() => Promise.all([refusing.close(), live.close()]));
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);
  const run = await runCommand(EventAdd, [
    ...ADD,
    '--with',
    'zed',
    '--server',
    `${refusing.url},${live.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 3);
  t.is(live.requestsTo('POST', '/v1/events').length, 0);
});

test('only the given CA is trusted: a gateway with another certificate is skipped', async (t) => {
  const otherTls = await createTestTls();
  const impostor = await FakeGateway.start(otherTls);
  impostor.on('POST', '/v1/events', {
    status: 201,
    json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
  });
  const live = await liveGateway();
  t.teardown(() => Promise.all([impostor.close(), live.close()]));
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);

  const alone = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    impostor.url,
    '--config-dir',
    configDir,
  ]);
  t.is(alone.exitCode, 5);
  t.regex(alone.stderr, /not trusted/);
  t.is(impostor.requests.length, 0);

  const withLive = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${impostor.url},${live.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(withLive.exitCode, 0, withLive.stderr);
  t.is(impostor.requests.length, 0);
});

test('a server list that names no https gateway is a usage error', (t) => {
  t.throws(() => parseServerList('http://127.0.0.1:8080'), { message: /https/ });
  t.throws(() => parseServerList(' , '), { message: /no gateway/ });
  t.throws(() => parseServerList('https://[nope'), { message: /not a gateway URL/ });
  t.deepEqual(
    parseServerList('127.0.0.1:8443, https://gw2:9443/base').map((url) => url.href),
    ['https://127.0.0.1:8443/', 'https://gw2:9443/base'],
  );
});

test('a bad --server or --ca exits 1 before any request', async (t) => {
  const live = await liveGateway();
  t.teardown(() => live.close());
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);
  const insecure = await runCommand(EventList, [
    '--json',
    '--server',
    'http://127.0.0.1:1',
    '--config-dir',
    configDir,
  ]);
  t.is(insecure.exitCode, 1);
  const noCa = await runCommand(EventList, [
    '--json',
    '--ca',
    '/nonexistent/ca.pem',
    '--config-dir',
    configDir,
  ]);
  t.is(noCa.exitCode, 1);
  t.regex(noCa.stderr, /cannot read the CA file/);
  t.is(live.requestsTo('GET', '/v1/events').length, 0);
});
