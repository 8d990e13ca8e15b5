import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import test from 'ava';
import EventAdd from '../commands/event/add.js';
import type { EventView } from '../../contract/views.js';
import Watch, { watchedEvent } from '../commands/watch.js';
import type { WatchLine, WatchStatusLine } from '../commands/watch.js';
import type { LiveUpdate } from '../../contract/api.js';
import { FakeGateway, createTestTls, deadGatewayUrl, errorAnswer } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import {
  connectionFlags,
  eventDetails,
  eventView,
  logIn,
  loginAnswer,
} from './support/fixtures.js';
import { RecordedTerminal, runCommand, temporaryConfigDir, waitUntil } from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

const invited: LiveUpdate = {
  kind: 'event',
  change: 'invited',
  eventId: 'e1',
  by: 'bob',
  at: '2026-03-01T10:00:00.000Z',
};
/** `invited` as watch --json prints it: with the event as the watcher sees it now. */
const invitedLine: WatchLine = { ...invited, event: watchedEvent(eventDetails()) };
const joined: LiveUpdate = {
  kind: 'group',
  change: 'member_added',
  group: 'team',
  member: 'carol',
  by: 'alice',
  at: '2026-03-01T10:00:01.000Z',
};

/** The lines `watch --json` printed. */
function watchLines(stdout: string): WatchLine[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as WatchLine);
}

function openStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write(': connected\n\n');
}

function sendUpdate(response: ServerResponse, update: LiveUpdate): void {
  response.write(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
}

/** A logged-in config dir and a gateway for logging in and looking events up. */
async function setUp(): Promise<{ gateway: FakeGateway; configDir: string }> {
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events/:id', { status: 200, json: { event: eventDetails() } });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir };
}

/** The line that tells a --json reader that updates may have been missed while reconnecting. */
const reopened = {
  kind: 'resync',
  reason:
    'the stream was reopened after a disconnection; updates made meanwhile may have been missed',
};

test('watch --json prints each update as one JSON line, skipping heartbeats and other events', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  gateway.on('GET', '/v1/stream', (_request, _params, response) => {
    openStream(response);
    response.write('event: ping\ndata: {}\n\n');
    sendUpdate(response, invited);
    // The second update arrives split across writes, mid-line.
    const text = `event: update\r\ndata: ${JSON.stringify(joined)}\r\n\r\n`;
    response.write(text.slice(0, 20));
    response.write(text.slice(20));
    return undefined;
  });
  const run = await runCommand(Watch, ['--json', '--count', '2', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(watchLines(run.stdout), [invitedLine, joined]);
  t.is(run.stderr, '');
  const [stream] = gateway.requestsTo('GET', '/v1/stream');
  t.is(stream?.headers.authorization, 'Bearer token-of-alice');
  t.is(stream?.headers.accept, 'text/event-stream');
});

test('a resync from the gateway reaches --json readers as a line of its own', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  gateway.on('GET', '/v1/stream', (_request, _params, response) => {
    openStream(response);
    response.write('event: resync\ndata: {"reason":"live updates may have been missed"}\n\n');
    sendUpdate(response, invited);
    return undefined;
  });
  const run = await runCommand(Watch, ['--json', '--count', '1', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(watchLines(run.stdout), [
    { kind: 'resync', reason: 'live updates may have been missed' },
    invitedLine,
  ]);
});

test('watch reopens the stream on the next gateway when its gateway dies', async (t) => {
  const { gateway: first, configDir } = await setUp();
  const second = await FakeGateway.start(tls);
  t.teardown(() => Promise.all([first.close(), second.close()]));
  first.on('GET', '/v1/stream', (_request, _params, response) => {
    openStream(response);
    sendUpdate(response, invited);
    response.end();
    // The gateway goes away with its stream: the next attempt finds it refusing connections.
    void first.close();
    return undefined;
  });
  second
    .on('GET', '/v1/events/:id', { status: 200, json: { event: eventDetails() } })
    .on('GET', '/v1/stream', (_request, _params, response) => {
      openStream(response);
      sendUpdate(response, joined);
      return undefined;
    });
  const run = await runCommand(Watch, [
    '--json',
    '--count',
    '2',
    ...connectionFlags(`${first.url},${second.url}`, tls, configDir),
  ]);
  t.is(run.exitCode, 0, run.stderr);
  // Whatever was made while it reconnected is not replayed: a resync line says so.
  t.deepEqual(watchLines(run.stdout), [invitedLine, reopened, joined]);
  t.is(second.requestsTo('GET', '/v1/stream').length, 1);
});

test('a gateway that takes the connection but never opens the stream is left for the next within 5 s', async (t) => {
  const { gateway: hung, configDir } = await setUp();
  const live = await FakeGateway.start(tls);
  t.teardown(() => Promise.all([hung.close(), live.close()]));
  hung.on('GET', '/v1/stream', () => new Promise<undefined>(() => undefined));
  live
    .on('GET', '/v1/events/:id', { status: 200, json: { event: eventDetails() } })
    .on('GET', '/v1/stream', (_request, _params, response) => {
      openStream(response);
      sendUpdate(response, joined);
      return undefined;
    });
  const started = Date.now();
  const run = await runCommand(Watch, [
    '--json',
    '--count',
    '1',
    ...connectionFlags(`${hung.url},${live.url}`, tls, configDir),
  ]);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(watchLines(run.stdout), [joined]);
  // A write's 15 s answer timeout was what it waited before.
  const elapsed = Date.now() - started;
  t.true(elapsed < 9_000, `took ${elapsed} ms`);
});

test('Ctrl-C ends watch with exit 0; people see readable lines', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  let stream: ServerResponse | undefined;
  gateway.on('GET', '/v1/stream', (_request, _params, response) => {
    openStream(response);
    stream = response;
    return undefined;
  });
  const terminal = new RecordedTerminal();
  const running = runCommand(Watch, ['--tz', 'UTC', '--config-dir', configDir], terminal);
  await waitUntil(() => stream !== undefined && terminal.interruptible, 'the stream is open');
  sendUpdate(stream as ServerResponse, invited);
  await waitUntil(() => terminal.stdout.text.includes('\n'), 'the update is printed');
  terminal.interrupt();
  const run = await running;
  t.is(run.exitCode, 0, run.stderr);
  t.is(run.stdout, '10:00:00  bob invited you to Standup (Mon 2 Mar 09:00–09:15)\n');
  t.regex(run.stderr, /watching live updates via 127\.0\.0\.1:\d+; Ctrl-C to stop/);
});

test('while no gateway answers, watch keeps retrying with a growing pause until Ctrl-C', async (t) => {
  const { gateway, configDir } = await setUp();
  await gateway.close();
  const dead = deadGatewayUrl();
  const terminal = new RecordedTerminal();
  const running = runCommand(Watch, connectionFlags(dead, tls, configDir), terminal);
  await waitUntil(
    () => (terminal.stderr.text.match(/retrying in/g) ?? []).length >= 2,
    'two retries are announced',
  );
  terminal.interrupt();
  const run = await running;
  t.is(run.exitCode, 0);
  t.regex(run.stderr, /connection refused.*retrying in 0\.2 s\n.*retrying in 0\.4 s/s);
  // It never connected: nothing was lost.
  t.regex(run.stderr, /^could not connect \(service unavailable: .*connection refused\)/);
  t.notRegex(run.stderr, /connection lost/);
});

/** The status lines `watch --json` wrote on stderr. */
function statusLines(stderr: string): WatchStatusLine[] {
  return stderr
    .trimEnd()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as WatchStatusLine);
}

test('watch --json says on stderr, a JSON line each, that it cannot connect and when it will try again', async (t) => {
  const { gateway, configDir } = await setUp();
  await gateway.close();
  const dead = deadGatewayUrl();
  const terminal = new RecordedTerminal();
  const running = runCommand(Watch, ['--json', ...connectionFlags(dead, tls, configDir)], terminal);
  await waitUntil(
    () => (terminal.stderr.text.match(/\n/g) ?? []).length >= 2,
    'two failed attempts are reported',
  );
  terminal.interrupt();
  const run = await running;
  t.is(run.exitCode, 0);
  t.is(run.stdout, '');
  const [first, second] = statusLines(run.stderr);
  t.like(first, { kind: 'status', state: 'disconnected', retryInMs: 200 });
  t.like(second, { kind: 'status', state: 'disconnected', retryInMs: 400 });
  t.regex(
    first?.state === 'disconnected' ? first.reason : '',
    /^service unavailable: no gateway answered .*connection refused/,
  );
});

test('watch --json says when it is connected again, and people are told what failed: lost, or not reopened', async (t) => {
  for (const json of [true, false]) {
    const { gateway, configDir } = await setUp();
    t.teardown(() => gateway.close());
    // The first stream ends at once; reopening it is refused once (503); then it stays open.
    let streams = 0;
    gateway.on('GET', '/v1/stream', (_request, _params, response) => {
      streams += 1;
      if (streams === 2) return errorAnswer(503, 'unavailable', 'no messaging service answered');
      openStream(response);
      if (streams === 1) response.end();
      else sendUpdate(response, invited);
      return undefined;
    });
    const run = await runCommand(Watch, [
      ...(json ? ['--json'] : ['--tz', 'UTC']),
      '--count',
      '1',
      '--config-dir',
      configDir,
    ]);
    t.is(run.exitCode, 0, run.stderr);
    const host = new URL(gateway.url).host;
    if (json) {
      t.deepEqual(watchLines(run.stdout), [reopened, invitedLine]);
      t.deepEqual(statusLines(run.stderr), [
        {
          kind: 'status',
          state: 'disconnected',
          reason: `the stream from ${host} ended`,
          retryInMs: 200,
        },
        {
          kind: 'status',
          state: 'disconnected',
          reason: `service unavailable (503 from the gateway): ${host}: no messaging service answered`,
          retryInMs: 400,
        },
        { kind: 'status', state: 'connected', server: host },
      ]);
    } else {
      t.deepEqual(run.stderr.trimEnd().split('\n'), [
        `watching live updates via ${host}; Ctrl-C to stop`,
        `connection lost (the stream from ${host} ended); retrying in 0.2 s`,
        `could not reconnect (service unavailable (503 from the gateway): ${host}: no messaging service answered); retrying in 0.4 s`,
        `reconnected to ${host} (updates made while disconnected are not replayed)`,
      ]);
    }
  }
});

test('a stream that could not be reopened after its token expired waits before trying again, as after any failure', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  // The first stream ends as its token expires; the next two attempts are refused (503).
  let streams = 0;
  gateway.on('GET', '/v1/stream', (_request, _params, response) => {
    streams += 1;
    if (streams === 2 || streams === 3) {
      return errorAnswer(503, 'unavailable', 'no messaging service answered');
    }
    openStream(response);
    if (streams === 1) response.end('event: expired\ndata: {}\n\n');
    else sendUpdate(response, invited);
    return undefined;
  });
  const run = await runCommand(Watch, ['--json', '--count', '1', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.is(streams, 4);
  t.deepEqual(
    statusLines(run.stderr).map((line) =>
      line.state === 'disconnected' ? line.retryInMs : line.server,
    ),
    [200, 400, new URL(gateway.url).host],
  );
  t.deepEqual(watchLines(run.stdout), [reopened, invitedLine]);
});

test('a stream the gateway refuses for good (401) exits 2 without retrying', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  gateway.on('GET', '/v1/stream', errorAnswer(401, 'unauthenticated', 'the token expired'));
  const run = await runCommand(Watch, ['--json', '--config-dir', configDir]);
  t.is(run.exitCode, 2);
  t.like(JSON.parse(run.stderr) as object, {
    error: { code: 'unauthenticated', message: 'the token expired: run agenda login' },
  });
  t.is(gateway.requestsTo('GET', '/v1/stream').length, 1);
});

test('watch --json lines say what changed: the event as the watcher may see it now, or null with why', async (t) => {
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  const cancelled = eventDetails({ id: 'e2', title: 'Retro', status: 'cancelled' });
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events/e1', { status: 200, json: { event: eventDetails() } })
    .on('GET', '/v1/events/e2', { status: 200, json: { event: cancelled } })
    .on('GET', '/v1/events/gone', errorAnswer(404, 'not_found', 'no event gone'))
    .on('GET', '/v1/stream', (_request, _params, response) => {
      openStream(response);
      sendUpdate(response, { ...invited, change: 'created', by: 'alice' });
      sendUpdate(response, { ...invited, eventId: 'e2', change: 'cancelled' });
      sendUpdate(response, { ...invited, eventId: 'gone', change: 'removed' });
      return undefined;
    });
  await logIn(gateway, tls, configDir);
  const run = await runCommand(Watch, ['--json', '--count', '3', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(watchLines(run.stdout), [
    {
      kind: 'event',
      change: 'created',
      eventId: 'e1',
      by: 'alice',
      at: invited.at,
      event: {
        id: 'e1',
        title: 'Standup',
        start: '2026-03-02T09:00:00.000Z',
        end: '2026-03-02T09:15:00.000Z',
        timeZone: 'Europe/Madrid',
        organizer: 'alice',
        group: null,
        status: 'confirmed',
        myStatus: 'accepted',
        recurrence: null,
        location: '',
      },
    },
    { ...invited, eventId: 'e2', change: 'cancelled', event: watchedEvent(cancelled) },
    { ...invited, eventId: 'gone', change: 'removed', event: null, eventError: 'not_found' },
  ]);
});

test('watch --remind announces the reminders of accepted occurrences as they fall due, once each, and notifies where notify-send exists', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  const soon = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
  const occurrence = (start: string, fields: Partial<EventView> = {}): EventView =>
    eventView({
      id: 'series',
      title: 'Daily sync',
      start,
      end: new Date(Date.parse(start) + 15 * 60_000).toISOString(),
      recurrence: 'FREQ=DAILY',
      reminders: [10, 60],
      ...fields,
    });
  const listed: EventView[] = [
    // Due now (10 min before, 5 min ahead): one line, for the nearest reminder.
    occurrence(soon(5)),
    // Tomorrow's occurrence: due in about a day, not now.
    occurrence(soon(24 * 60 + 5)),
    // Not the watcher's to be reminded of: pending, declined, cancelled.
    occurrence(soon(6), { id: 'invite', myStatus: 'pending' }),
    occurrence(soon(6), { id: 'no', myStatus: 'declined' }),
    occurrence(soon(6), { id: 'off', status: 'cancelled' }),
  ];
  gateway
    .on('GET', '/v1/events', { status: 200, json: { events: listed, next: null } })
    .on('GET', '/v1/stream', (_request, _params, response) => {
      openStream(response);
      return undefined;
    });
  // A notify-send of our own on the PATH, which writes down what it was asked.
  const bin = await temporaryConfigDir();
  const said = path.join(bin, 'notified.txt');
  await writeFile(path.join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s|' "$@" >> '${said}'\n`, {
    mode: 0o755,
  });
  const terminal = new RecordedTerminal({ env: { PATH: `${bin}:/usr/bin:/bin` } });
  const run = await runCommand(
    Watch,
    ['--json', '--remind', '--count', '1', '--config-dir', configDir],
    terminal,
  );
  t.is(run.exitCode, 0, run.stderr);
  const [line, ...rest] = watchLines(run.stdout);
  t.deepEqual(rest, []);
  t.like(line, {
    kind: 'reminder',
    minutes: 10,
    event: { id: 'series', title: 'Daily sync', start: listed[0]?.start, reminders: [10, 60] },
  });
  // The window read: from now, a day of due times plus the earliest a reminder may come.
  const [read] = gateway.requestsTo('GET', '/v1/events');
  const span = Date.parse(read?.query.get('to') ?? '') - Date.parse(read?.query.get('from') ?? '');
  t.is(span, 24 * 3_600_000 + 28 * 86_400_000);
  await waitUntil(() => existsSync(said), 'notify-send ran');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.regex(
    await readFile(said, 'utf8'),
    /^--app-name=agenda\|Daily sync\|starts in 5 min|starts in 10 min/,
  );
});

test('bad --remind input is refused before any request, with a reason and exit 1', async (t) => {
  const { gateway, configDir } = await setUp();
  t.teardown(() => gateway.close());
  const add = (...remind: string[]) =>
    runCommand(EventAdd, [
      'Standup',
      '--start',
      '2026-03-02T09:00Z',
      '--duration',
      '15m',
      ...remind.flatMap((r) => ['--remind', r]),
      '--json',
      '--config-dir',
      configDir,
    ]);
  for (const [value, reason] of [
    ['soon', /the remind "soon" is not a duration/],
    ['90s', /reminders are whole minutes/],
    ['-10m', /not negative/],
  ] as const) {
    const run = await add(value);
    t.is(run.exitCode, 1, value);
    t.regex((JSON.parse(run.stderr) as { error: { message: string } }).error.message, reason);
  }
  t.is(gateway.requestsTo('POST', '/v1/events').length, 0);
});
