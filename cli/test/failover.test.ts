import test, { type ExecutionContext } from 'ava';
import EventAdd from '../commands/event/add.js';
import EventList from '../commands/event/list.js';
import { readFile } from 'node:fs/promises';
import { Unavailable } from '../../contract/errors.js';
import { GatewayClient, parseServerList } from '../http/gateway-client.js';
import {
  BlackHoleGateway,
  FakeGateway,
  createTestTls,
  deadGatewayUrl,
  errorAnswer,
} from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { eventDetails, logIn, loginAnswer, timedJsonList } from './support/fixtures.js';
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

/**
 * A live gateway the test logs in through, closed after the test with `others`: the live
 * one and the config directory holding the login.
 */
async function loggedIn(
  t: ExecutionContext,
  ...others: readonly { close(): Promise<unknown> }[]
): Promise<{ live: FakeGateway; configDir: string }> {
  const live = await liveGateway();
  t.teardown(() => Promise.all([...others, live].map((g) => g.close())));
  const configDir = await temporaryConfigDir();
  await logIn(live, tls, configDir);
  return { live, configDir };
}

/** A gateway that is up but whose services are not: 503 to everything. */
async function unavailableGateway(): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  return gateway
    .on('POST', '/v1/events', errorAnswer(503, 'unavailable', 'no users service answered'))
    .on('GET', '/v1/events', errorAnswer(503, 'unavailable', 'no users service answered'));
}

const ADD = ['Standup', '--start', '2026-03-02T09:00Z', '--duration', '15m', '--json'];

/** How a write whose fate is unknown ends its message: what to do with the CLI, no key. */
const MAY_HAVE_BEEN_MADE =
  '. The change may or may not have been made: check with agenda event list or agenda search before running the command again';

/** The `--json` error on stderr, with the details scripts read. */
function jsonError(stderr: string): {
  code: string;
  message: string;
  details: { forwarded?: boolean; idempotencyKey?: string };
} {
  return (parseJsonLine(stderr) as { error: ReturnType<typeof jsonError> }).error;
}

test('--server a,b,c moves past a dead gateway and a 503 to a live one, with one idempotency key', async (t) => {
  const dead = deadGatewayUrl();
  const busy = await unavailableGateway();
  const { live, configDir } = await loggedIn(t, busy);

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
  const { configDir } = await loggedIn(t, busy);
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
  const { live, configDir } = await loggedIn(t, refusing);
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
  // Refused, so certainly not made: nothing about its key.
  t.notRegex(run.stderr, /idempotency|may or may not/);
});

test('only the given CA is trusted: a gateway with another certificate is skipped', async (t) => {
  const otherTls = await createTestTls();
  const impostor = await FakeGateway.start(otherTls);
  impostor.on('POST', '/v1/events', {
    status: 201,
    json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
  });
  const { live, configDir } = await loggedIn(t, impostor);

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

test('a read gives up within 2.5 s (the command within 3 s) when no gateway can answer — refused, black-holed, 503 — naming each, exit 5, no idempotency key', async (t) => {
  const dead = deadGatewayUrl();
  const hole = await BlackHoleGateway.start();
  const busy = await unavailableGateway();
  const { configDir } = await loggedIn(t, hole, busy);
  const { run, elapsed } = await timedJsonList(`${dead},${hole.url},${busy.url}`, configDir);
  t.is(run.exitCode, 5);
  t.true(elapsed < 3_000, `took ${elapsed} ms`);
  t.true(hole.accepted > 0, 'the black hole was tried');
  const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
  t.is(error.code, 'unavailable');
  // The budget did not run out: each gateway failed in its own way, one of them answering.
  t.regex(error.message, /^service unavailable: no gateway could answer \(tried /);
  t.true(error.message.includes(`${new URL(dead).host}: connection refused`), error.message);
  t.true(error.message.includes(`${new URL(hole.url).host}: connection timed out`), error.message);
  t.true(error.message.includes(`${new URL(busy.url).host}: unavailable`), error.message);
  t.notRegex(error.message, /idempotency/);

  // The same without --json: one clear line, no stack.
  const human = await runCommand(EventList, [
    '--server',
    `${dead},${hole.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(human.exitCode, 5);
  t.regex(human.stderr, /^error: service unavailable: no gateway answered \(tried .*\)\n$/);
});

/** A gateway that takes the connection and the request and never answers (its services hung). */
async function hungGateway(): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  return gateway.on('GET', '/v1/events', () => new Promise<undefined>(() => undefined));
}

test("a hung gateway gets its share of a read's budget, not all of it: the next gateway answers", async (t) => {
  const hung = await hungGateway();
  const { live, configDir } = await loggedIn(t, hung);
  const { run, elapsed } = await timedJsonList(`${hung.url},${live.url}`, configDir);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(parseJsonLine(run.stdout), { events: [] });
  t.is(hung.requestsTo('GET', '/v1/events').length, 1);
  t.is(live.requestsTo('GET', '/v1/events').length, 1);
  // About half the budget went to the hung gateway, and the answer came within the budget
  // (before the change the hung gateway took all of it and the command failed at 2.5 s);
  // the bound leaves a loaded machine slack.
  t.true(elapsed < 3_500, `took ${elapsed} ms`);
});

test('two hung gateways: exit 5 within the read budget, each named with the time it was given', async (t) => {
  const first = await hungGateway();
  const second = await hungGateway();
  const { configDir } = await loggedIn(t, first, second);
  const { run, elapsed } = await timedJsonList(`${first.url},${second.url}`, configDir);
  t.is(run.exitCode, 5);
  // At the budget, counted from the command's start, not before; the upper bound leaves a
  // loaded machine its slack (each gateway's own timeout, without the budget, is 15 s).
  t.true(elapsed >= 2_000 && elapsed < 4_000, `took ${elapsed} ms`);
  const { error } = parseJsonLine(run.stderr) as { error: { message: string } };
  t.regex(error.message, /^service unavailable: no gateway answered within 2.5 s \(tried /);
  for (const gateway of [first, second]) {
    t.is(gateway.requestsTo('GET', '/v1/events').length, 1);
    t.regex(
      error.message,
      new RegExp(`${new URL(gateway.url).host}: no answer within 1(\\.\\d)? s`),
      error.message,
    );
  }
  t.notRegex(error.message, /not tried in time/);
});

test('a gateway that has begun to answer may take the rest of the budget for the body, not only its share', async (t) => {
  const slow = await FakeGateway.start(tls);
  const other = await liveGateway();
  t.teardown(() => Promise.all([slow.close(), other.close()]));
  // The headers at once, the body after more than this gateway's share (half the budget,
  // 3 s of 6: a budget this long leaves a loaded machine's pauses room).
  slow.on('GET', '/v1/events', (_request, _params, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"events":');
    setTimeout(() => response.end('[]}'), 3_500);
    return undefined;
  });
  const client = new GatewayClient({
    servers: [new URL(slow.url), new URL(other.url)],
    ca: await readFile(tls.caFile, 'utf8'),
    readDeadlineMs: 6_000,
  });
  t.teardown(() => client.close());
  const answer = await client.call({ method: 'GET', path: '/v1/events', authenticated: false });
  t.is(answer.server.href, new URL(slow.url).href);
  t.is(answer.body, '{"events":[]}');
  t.is(other.requestsTo('GET', '/v1/events').length, 0);
});

test("a read's budget counts from the command's start until a gateway answers; later reads have a whole one", async (t) => {
  const hung = await hungGateway();
  const live = await liveGateway();
  t.teardown(() => Promise.all([hung.close(), live.close()]));
  const ca = await readFile(tls.caFile, 'utf8');
  const list = { method: 'GET', path: '/v1/events', authenticated: false } as const;
  // What a hung gateway was given, as the failure says it (the time its wait was set for,
  // whatever pauses a loaded machine adds to it).
  const given = async (client: GatewayClient): Promise<string> => {
    const error = await client.call(list).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (!(error instanceof Unavailable)) throw new Error(`not unavailable: ${String(error)}`);
    t.regex(error.message, /^service unavailable: no gateway answered within 2.5 s \(tried /);
    return /: no answer within ([\d.]+) s\)$/.exec(error.message)?.[1] ?? error.message;
  };

  // A command 1.5 s old when it reads, no gateway having answered: 1 s of the 2.5 s is left,
  // and a read has at least half its budget, 1.25 s.
  const late = new GatewayClient({
    servers: [new URL(hung.url)],
    ca,
    startedAt: Date.now() - 1_500,
  });
  t.teardown(() => late.close());
  t.regex(await given(late), /^1\.[23]$/);

  // Once a gateway has answered, the service is up: a read has its whole budget again.
  let asked = 0;
  const flaky = await FakeGateway.start(tls);
  t.teardown(() => flaky.close());
  flaky.on('GET', '/v1/events', () => {
    asked += 1;
    return asked === 1
      ? { status: 200, json: { events: [] } }
      : new Promise<undefined>(() => undefined);
  });
  const answered = new GatewayClient({
    servers: [new URL(flaky.url)],
    ca,
    startedAt: Date.now() - 1_500,
  });
  t.teardown(() => answered.close());
  await answered.call(list);
  t.is(await given(answered), '2.5');

  // A command older than the budget (a read after a prompt, or in a long watch): a whole one.
  const old = new GatewayClient({
    servers: [new URL(hung.url)],
    ca,
    startedAt: Date.now() - 60_000,
  });
  t.teardown(() => old.close());
  t.is(await given(old), '2.5');
});

test('two hung gateways before a live one leave it its part of a budget start-up ate into', async (t) => {
  const first = await BlackHoleGateway.start();
  const second = await BlackHoleGateway.start();
  const live = await liveGateway();
  t.teardown(() => Promise.all([first.close(), second.close(), live.close()]));
  // A command 0.8 s old (a loaded machine's start-up): 1.7 s left for three gateways. The
  // first hung one used to wait out its connect (1 s), the second all that was left.
  const client = new GatewayClient({
    servers: [new URL(first.url), new URL(second.url), new URL(live.url)],
    ca: await readFile(tls.caFile, 'utf8'),
    startedAt: Date.now() - 800,
  });
  t.teardown(() => client.close());
  const outcome = await client
    .call({ method: 'GET', path: '/v1/events', authenticated: false })
    .then(
      (answer) => answer.server.href,
      (error: unknown) => (error instanceof Unavailable ? error.message : String(error)),
    );
  // It answers; or, on a machine too loaded to finish a handshake in its 0.4 s, it was at
  // least tried. Before, it was "not tried in time".
  const host = new URL(live.url).host;
  t.true(
    outcome === new URL(live.url).href || outcome.includes(`${host}: no answer within`),
    outcome,
  );
});

test('a write keeps its longer deadline; its failure says whether it may have been made, and how to check', async (t) => {
  const dead = deadGatewayUrl();
  const hole = await BlackHoleGateway.start();
  const busy = await unavailableGateway();
  const { configDir } = await loggedIn(t, hole, busy);

  // Never sent anywhere (refused, no handshake): nothing to worry about.
  const unsent = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${dead},${hole.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(unsent.exitCode, 5);
  const quiet = (parseJsonLine(unsent.stderr) as { error: { message: string } }).error.message;
  t.regex(quiet, /^service unavailable: no gateway answered \(tried /);
  t.notRegex(quiet, /may or may not|idempotency/);
  // Said as plainly as the other case: the two call for opposite things.
  t.true(quiet.endsWith('). Nothing was changed: the request reached no service'), quiet);
  const refused = await runCommand(EventAdd, [
    ...ADD.filter((arg) => arg !== '--json'),
    '--server',
    dead,
    '--config-dir',
    configDir,
  ]);
  t.is(refused.exitCode, 5);
  t.true(
    refused.stderr.endsWith(
      `\nerror: service unavailable: no gateway answered (tried ${new URL(dead).host}: connection refused). Nothing was changed: the request reached no service\n`,
    ),
    refused.stderr,
  );

  // A gateway that took it and answered 503 may have passed it on.
  const maybe = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    busy.url,
    '--config-dir',
    configDir,
  ]);
  t.is(maybe.exitCode, 5);
  const error = jsonError(maybe.stderr);
  const key = busy.requestsTo('POST', '/v1/events')[0]?.headers['idempotency-key'];
  t.true(error.message.endsWith(MAY_HAVE_BEEN_MADE), error.message);
  // For a script: it reached a gateway, and the key under which resending it is safe.
  t.deepEqual(error.details, { forwarded: true, idempotencyKey: String(key) });
});

test('a write answered 500 may or may not have been made: the error says so and how to check, its key in the JSON details, exit 5', async (t) => {
  // The gateway had the request: a service may have applied it and then failed, or failed
  // before. Final all the same (only a 503 moves on), so the live gateway is not asked.
  const failing = await FakeGateway.start(tls);
  failing.on('POST', '/v1/events', errorAnswer(500, 'internal', 'internal error'));
  const { live, configDir } = await loggedIn(t, failing);
  const run = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${failing.url},${live.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 5);
  t.is(live.requestsTo('POST', '/v1/events').length, 0);
  const key = String(failing.requestsTo('POST', '/v1/events')[0]?.headers['idempotency-key']);
  const error = jsonError(run.stderr);
  t.is(error.code, 'internal');
  t.is(
    error.message,
    `${new URL(failing.url).host} answered 500 (internal error)${MAY_HAVE_BEEN_MADE}`,
  );
  t.deepEqual(error.details, { forwarded: true, idempotencyKey: key });

  // Without an error body (a proxy's 502, say), the same.
  const bare = await FakeGateway.start(tls);
  t.teardown(() => bare.close());
  bare.on('POST', '/v1/events', { status: 502, text: 'Bad Gateway' });
  const human = await runCommand(EventAdd, [
    ...ADD.filter((arg) => arg !== '--json'),
    '--server',
    bare.url,
    '--config-dir',
    configDir,
  ]);
  t.is(human.exitCode, 5);
  t.true(
    human.stderr.endsWith(
      `\nerror: ${new URL(bare.url).host} answered 502 without an error body${MAY_HAVE_BEEN_MADE}\n`,
    ),
    human.stderr,
  );
  t.notRegex(human.stderr, /idempotency/);
});

test("a read's 500 or 502 names the gateway that answered it, as its other failures do, and never speaks of keys", async (t) => {
  const failing = await FakeGateway.start(tls);
  failing.on('GET', '/v1/events', errorAnswer(500, 'internal', 'internal error'));
  const bare = await FakeGateway.start(tls);
  bare.on('GET', '/v1/events', { status: 502, text: 'Bad Gateway' });
  const advising = await FakeGateway.start(tls);
  advising.on(
    'GET',
    '/v1/events',
    errorAnswer(
      502,
      'unavailable',
      'the events service stopped; retry with the same idempotency-key 0b7e-not-yours',
    ),
  );
  const { configDir } = await loggedIn(t, failing, bare, advising);

  // A read changes nothing: what happened, and where, without "may or may not".
  const read = await timedJsonList(failing.url, configDir);
  t.is(read.run.exitCode, 5);
  t.deepEqual(parseJsonLine(read.run.stderr), {
    error: {
      code: 'internal',
      message: `${new URL(failing.url).host} answered 500 (internal error)`,
      details: {},
    },
  });

  // A proxy's 502 without an error body, as a person reads it.
  const human = await runCommand(EventList, ['--server', bare.url, '--config-dir', configDir]);
  t.is(human.exitCode, 5);
  t.is(human.stderr, `error: ${new URL(bare.url).host} answered 502 without an error body\n`);

  // A gateway's advice about a key is not passed on: a read has none.
  const advised = await timedJsonList(advising.url, configDir);
  t.is(advised.run.exitCode, 5);
  t.deepEqual(parseJsonLine(advised.run.stderr), {
    error: {
      code: 'unavailable',
      message: `${new URL(advising.url).host} answered 502 (the events service stopped)`,
      details: {},
    },
  });
  for (const run of [read.run, human, advised.run]) {
    t.notRegex(run.stderr, /idempotency|may or may not/);
  }
});

test("a write's failure does not pass on the gateways' advice to retry with the key: it says what to do with the CLI, the key only in the JSON details", async (t) => {
  // What a gateway answers when its service missed the deadline (server/gateway/service-calls.ts):
  // advice for a client that can resend the request, which a person at the CLI cannot.
  const timedOut = async (advice: string): Promise<FakeGateway> => {
    const gateway = await FakeGateway.start(tls);
    return gateway.on('POST', '/v1/events', (request) =>
      errorAnswer(
        503,
        'unavailable',
        `the users service did not answer within 10 s; ${advice} ${String(request.headers['idempotency-key'])}`,
      ),
    );
  };
  const first = await timedOut('retry with idempotency-key');
  const second = await timedOut('retry with the same idempotency-key');
  const { configDir } = await loggedIn(t, first, second);
  const run = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${first.url},${second.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 5);
  const key = String(first.requestsTo('POST', '/v1/events')[0]?.headers['idempotency-key']);
  const { message, details } = jsonError(run.stderr);
  t.is(
    message,
    `service unavailable (503 from both gateways): ${new URL(first.url).host}: the users service did not answer within 10 s; ${new URL(second.url).host}: the users service did not answer within 10 s${MAY_HAVE_BEEN_MADE}`,
  );
  t.false(message.includes(key), 'a person is not given the key');
  t.deepEqual(details, { forwarded: true, idempotencyKey: key });

  // A 5xx other than 503 (final: no other gateway is asked) goes the same way, as a person
  // reads it: the gateway named, its advice left out.
  const failing = await FakeGateway.start(tls);
  t.teardown(() => failing.close());
  failing.on('POST', '/v1/events', (request) =>
    errorAnswer(
      504,
      'unavailable',
      `the events service did not answer in time; retry with the same idempotency-key ${String(request.headers['idempotency-key'])}`,
    ),
  );
  const human = await runCommand(EventAdd, [
    ...ADD.filter((arg) => arg !== '--json'),
    '--server',
    failing.url,
    '--config-dir',
    configDir,
  ]);
  t.is(human.exitCode, 5);
  t.true(
    human.stderr.endsWith(
      `\nerror: ${new URL(failing.url).host} answered 504 (the events service did not answer in time)${MAY_HAVE_BEEN_MADE}\n`,
    ),
    human.stderr,
  );
  t.notRegex(human.stderr, /idempotency/);

  // A read's "try again later" goes the same way.
  const reading = await FakeGateway.start(tls);
  t.teardown(() => reading.close());
  reading.on(
    'GET',
    '/v1/events',
    errorAnswer(
      503,
      'unavailable',
      'the events service did not answer within 10 s; try again later',
    ),
  );
  const read = await runCommand(EventList, [
    '--json',
    '--server',
    reading.url,
    '--config-dir',
    configDir,
  ]);
  t.is(read.exitCode, 5);
  t.regex(
    (parseJsonLine(read.stderr) as { error: { message: string } }).error.message,
    /^service unavailable \(503 from the gateway\): [^ ]+: the events service did not answer within 10 s$/,
  );
});

test('gateways that answer 503 at once: the message says so, not that none answered in time', async (t) => {
  const first = await unavailableGateway();
  const second = await unavailableGateway();
  const { configDir } = await loggedIn(t, first, second);
  const { run, elapsed } = await timedJsonList(`${first.url},${second.url}`, configDir);
  t.is(run.exitCode, 5);
  t.true(elapsed < 2_500, `took ${elapsed} ms`);
  const { error } = parseJsonLine(run.stderr) as { error: { message: string } };
  t.is(
    error.message,
    `service unavailable (503 from both gateways): ${new URL(first.url).host}: no users service answered; ${new URL(second.url).host}: no users service answered`,
  );
});

test('a write the gateways refused before passing it on is said not to have been made: no key, no "may or may not"', async (t) => {
  // What a gateway answers when gossip says the service is down (server/gateway/service-calls.ts).
  const refusing = async (): Promise<FakeGateway> => {
    const gateway = await FakeGateway.start(tls);
    return gateway.on(
      'POST',
      '/v1/events',
      errorAnswer(503, 'unavailable', 'no events service replica is alive', { forwarded: false }),
    );
  };
  const first = await refusing();
  const second = await refusing();
  const { configDir } = await loggedIn(t, first, second);
  const dead = deadGatewayUrl();
  const run = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${first.url},${dead},${second.url}`,
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 5);
  const { message } = (parseJsonLine(run.stderr) as { error: { message: string } }).error;
  t.is(
    message,
    `service unavailable: no gateway could answer (tried ${new URL(first.url).host}: unavailable: no events service replica is alive; ${new URL(dead).host}: connection refused; ${new URL(second.url).host}: unavailable: no events service replica is alive). Nothing was changed: the request reached no service`,
  );
  t.notRegex(message, /idempotency|may or may not/);
  t.like(parseJsonLine(run.stderr), { error: { details: { forwarded: false } } });

  // A caller that sends a write again under its own key (an import's request) may have had
  // an earlier sending made: only it can say, so the client does not.
  const client = new GatewayClient({
    servers: [new URL(deadGatewayUrl())],
    ca: await readFile(tls.caFile, 'utf8'),
  });
  t.teardown(() => client.close());
  const again = await t.throwsAsync(
    client.call({ method: 'POST', path: '/v1/events', authenticated: false, idempotencyKey: 'k1' }),
    { instanceOf: Unavailable },
  );
  t.notRegex(again.message, /Nothing was changed|may or may not/);
  // Both refusing gateways were asked, with the one key, which the message need not name.
  t.is(first.requestsTo('POST', '/v1/events').length, 1);
  t.is(second.requestsTo('POST', '/v1/events').length, 1);

  // One gateway that passed it on (503 after its deadline) makes the fate unknown again.
  const late = await unavailableGateway();
  t.teardown(() => late.close());
  const unknown = await runCommand(EventAdd, [
    ...ADD,
    '--server',
    `${first.url},${late.url}`,
    '--config-dir',
    configDir,
  ]);
  const fate = jsonError(unknown.stderr);
  t.regex(fate.message, /^service unavailable \(503 from both gateways\): /);
  t.true(fate.message.endsWith(MAY_HAVE_BEEN_MADE), fate.message);
  t.deepEqual(fate.details, {
    forwarded: true,
    idempotencyKey: String(late.requestsTo('POST', '/v1/events')[0]?.headers['idempotency-key']),
  });
});
