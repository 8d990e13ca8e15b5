/**
 * The HTTP fuzz test: requests drawn from the API's declaration, hostile in every part
 * (./hostile-requests.ts), sent to a real gateway in front of the real bus, services and
 * store (./in-process-system.ts). Whatever is sent, the system answers — below 500, within
 * {@link ANSWER_WITHIN_MS}, a refusal as a JSON error with a reason — and still serves a
 * normal request afterwards.
 *
 * Seeded: `AGENDA_FUZZ_SEED=<n>` replays a run (the seed is logged, and a failure prints it
 * with the shrunk request); `AGENDA_FUZZ_RUNS=<n>` runs longer; `AGENDA_FUZZ_TRACE=1` prints
 * every request's route, status, time and answer, to see what the run reached. Ports
 * 28900–28919.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import tls from 'node:tls';
import { request } from 'undici';
import { API_ROUTES, type RouteName } from '../../contract/api-routes.js';
import { PortRange } from '../bus/test-support.js';
import {
  hostileRequests,
  type Credentials,
  type HostileRequest,
  type World,
} from './hostile-requests.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

const ports = new PortRange(28_900, 28_919);

/** Generous for a loaded two-core machine: the gateway's own deadline is 10 s. */
const ANSWER_WITHIN_MS = 5_000;
const SEED = Number(process.env.AGENDA_FUZZ_SEED ?? 1_302_026);
/** Runs of one to three requests each: about 1,200 requests, some 15 s on an idle machine. */
const RUNS = Number(process.env.AGENDA_FUZZ_RUNS ?? 600);
/** A loaded machine runs fewer rather than fail on time; a failure found is still reported. */
const RUN_FOR_AT_MOST_MS = 100_000;

/** An answer as the property looks at it. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly ms: number;
}

/**
 * Sends requests, turning named credentials into tokens: the sessions login gave the
 * registered users, and tokens minted for the rest (each once).
 */
function sender(
  system: InProcessSystem,
  sessions: ReadonlyMap<string, string>,
): (r: HostileRequest) => Promise<Answer> {
  const minted = new Map<string, Promise<string>>();
  const token = (kind: 'session' | 'expired' | 'foreign' | 'feed', user: string) => {
    const session = kind === 'session' ? sessions.get(user) : undefined;
    if (session !== undefined) return Promise.resolve(session);
    const key = `${kind}:${user}`;
    let promise = minted.get(key);
    if (promise === undefined) {
      promise = system.tokens[kind](user);
      minted.set(key, promise);
    }
    return promise;
  };
  const authorization = async (credentials: Credentials): Promise<string | undefined> => {
    switch (credentials.kind) {
      case 'none':
        return undefined;
      case 'header':
        return credentials.value;
      default:
        return `Bearer ${await token(credentials.kind, credentials.user)}`;
    }
  };
  return async (r) => {
    const headers: [string, string][] = [];
    const auth = await authorization(r.credentials);
    if (auth !== undefined) headers.push(['authorization', auth]);
    if (r.contentType !== undefined) headers.push(['content-type', r.contentType]);
    if (r.idempotencyKey !== undefined) headers.push(['idempotency-key', r.idempotencyKey]);
    const body =
      r.body === undefined
        ? undefined
        : r.body.kind === 'text'
          ? Buffer.from(r.body.text, 'utf8')
          : Buffer.from(r.body.base64, 'base64');
    return exchange(system, r.method, r.target, headers, body);
  };
}

/**
 * One request on a connection of its own, written byte for byte as given (no client
 * library second-guesses a header or a path), and its answer read until the server closes
 * the connection, or {@link ANSWER_WITHIN_MS} passes. A live stream that opens counts as
 * answered.
 */
/** A chunked body's content, or null until its last (empty) chunk has arrived. */
function dechunked(bytes: Buffer): string | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return Buffer.concat(parts).toString('utf8');
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return null;
    parts.push(bytes.subarray(start, start + size));
    at = start + size + 2;
  }
}

function exchange(
  system: InProcessSystem,
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  body: Buffer | undefined,
): Promise<Answer> {
  const started = performance.now();
  const { port } = new URL(system.url);
  const head = [
    `${method} ${target} HTTP/1.1`,
    `host: 127.0.0.1:${port}`,
    'connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`),
    ...(body === undefined ? [] : [`content-length: ${body.length}`]),
    '',
    '',
  ].join('\r\n');
  return new Promise<Answer>((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...answer, ms: performance.now() - started });
    };
    const parsed = (): Omit<Answer, 'ms'> | null => {
      const bytes = Buffer.concat(chunks);
      const end = bytes.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
      const header = (name: string) =>
        lines
          .slice(1)
          .find((line) => line.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const contentType = header('content-type') ?? '';
      if (status === 200 && contentType.startsWith('text/event-stream')) {
        return { status, contentType, text: '' };
      }
      const length = Number(header('content-length') ?? NaN);
      const rest = bytes.subarray(end + 4);
      if (method === 'HEAD') return { status, contentType, text: '' };
      // An answer sent in parts (an export) comes chunked: whole once its last chunk is in.
      if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
        const text = dechunked(rest);
        return text === null ? null : { status, contentType, text };
      }
      if (!Number.isInteger(length) || rest.length < length) return null;
      return { status, contentType, text: rest.subarray(0, length).toString('utf8') };
    };
    const timer = setTimeout(
      () => finish({ status: 0, contentType: '', text: 'no answer' }),
      ANSWER_WITHIN_MS,
    );
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: system.caPem });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = parsed();
      if (answer !== null) finish(answer);
    });
    // The server may answer (413, 400) and close before the upload is over: not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () =>
      finish(
        parsed() ?? { status: 0, contentType: '', text: 'the connection closed without an answer' },
      ),
    );
    socket.write(head);
    if (body !== undefined) socket.write(body);
  });
}

/** Why `answer` breaks the property, or null when it keeps it. */
function violation(r: HostileRequest, answer: Answer): string | null {
  const excerpt = answer.text.slice(0, 300);
  if (answer.status === 0) return `no answer within ${ANSWER_WITHIN_MS} ms (${answer.text})`;
  if (answer.status >= 500) return `answered ${answer.status}: ${excerpt}`;
  if (answer.ms > ANSWER_WITHIN_MS) return `answered after ${Math.round(answer.ms)} ms`;
  if (r.method === 'HEAD') return null;
  if (answer.status >= 400) {
    if (!answer.contentType.startsWith('application/json')) {
      return `refused ${answer.status} as ${answer.contentType || 'no media type'}: ${excerpt}`;
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `refused ${answer.status} with a body that is not JSON: ${excerpt}`;
    }
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (
      typeof error?.code !== 'string' ||
      typeof error.message !== 'string' ||
      error.message === ''
    ) {
      return `refused ${answer.status} without a code and a reason: ${excerpt}`;
    }
    return null;
  }
  const declared = API_ROUTES[r.route].answer;
  if (declared.kind === 'json' && r.method === API_ROUTES[r.route].method) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `answered ${answer.status} with a body that is not JSON: ${excerpt}`;
    }
    if (typeof body !== 'object' || body === null || !(declared.field in body)) {
      return `answered ${answer.status} without "${declared.field}": ${excerpt}`;
    }
  }
  return null;
}

/** A readable request in a counterexample: long bodies are cut (the seed replays them whole). */
function printable(r: HostileRequest): HostileRequest {
  const cut = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}…(${s.length} chars)` : s);
  const shown = {
    ...r,
    target: cut(r.target),
    ...(r.body === undefined
      ? {}
      : {
          body:
            r.body.kind === 'text'
              ? { ...r.body, text: cut(r.body.text) }
              : { ...r.body, base64: cut(r.body.base64) },
        }),
  };
  return Object.assign(r, { [fc.toStringMethod]: () => JSON.stringify(shown) });
}

/** The system made ready for fuzzing: who exists, and its users' sessions. */
interface Populated {
  readonly world: World;
  /** Session tokens of the registered users, by username, as login answered them. */
  readonly sessions: ReadonlyMap<string, string>;
}

const PASSWORD = 'correct horse battery staple';

/**
 * Registers users, logs them in, makes groups and events, all through the API, so that
 * fuzzed names and ids hit real things (and every session is one the system issued).
 */
async function populate(t: ExecutionContext, system: InProcessSystem): Promise<Populated> {
  const sessions = new Map<string, string>();
  const send = async (method: string, path: string, user: string | null, body?: unknown) => {
    const token = user === null ? undefined : sessions.get(user);
    const response = await request(`${system.url}${path}`, {
      dispatcher: system.agent,
      method: method as 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.body.json()) as Record<string, unknown>;
    if (response.statusCode >= 300) {
      throw new Error(`${method} ${path}: ${response.statusCode} ${JSON.stringify(json)}`);
    }
    return json;
  };
  const users = ['alice', 'bob', 'carol'];
  for (const username of users) {
    await send('POST', '/v1/users', null, { username, password: PASSWORD });
    const login = await send('POST', '/v1/sessions', null, { username, password: PASSWORD });
    sessions.set(username, String(login.token));
  }
  await send('POST', '/v1/groups', 'alice', { name: 'team', kind: 'flat' });
  await send('POST', '/v1/groups', 'alice', { name: 'ranks', kind: 'hierarchical' });
  await send('POST', '/v1/groups', 'bob', { name: 'club', kind: 'flat' });
  await send('POST', '/v1/groups/team/members', 'alice', { username: 'bob' });
  await send('POST', '/v1/groups/ranks/members', 'alice', { username: 'carol', level: 2 });
  await send('POST', '/v1/groups/club/members', 'bob', { username: 'alice' });
  const eventIds: string[] = [];
  const created = async (user: string, body: object) => {
    const answer = await send('POST', '/v1/events', user, body);
    eventIds.push((answer.event as { id: string }).id);
  };
  const day = '2026-03-02';
  await created('alice', {
    title: 'Standup',
    start: `${day}T09:00:00Z`,
    duration: '15m',
    repeat: 'FREQ=DAILY',
  });
  await created('alice', {
    title: 'Lunch',
    start: `${day}T12:00:00Z`,
    duration: '1h',
    with: ['bob'],
  });
  await created('alice', {
    title: 'Offsite',
    start: '2026-03-04T10:00:00Z',
    end: '2026-03-04T17:00:00Z',
    group: 'team',
  });
  await created('alice', {
    title: 'Review',
    start: `${day}T15:00:00+01:00`,
    duration: '1h',
    repeat: 'FREQ=MONTHLY;BYDAY=-1FR;COUNT=24',
    timeZone: 'Europe/Madrid',
    with: ['carol'],
  });
  await created('bob', {
    title: 'Gym',
    start: `${day}T18:00:00Z`,
    duration: '1h',
    visibility: 'private',
  });
  await created('bob', {
    title: 'Chess',
    start: `${day}T20:00:00Z`,
    duration: '2h',
    repeat: 'FREQ=WEEKLY;BYDAY=TU,TH',
    with: ['alice', 'carol'],
  });
  const feed = await send('POST', '/v1/feeds', 'alice');
  const feedToken = /\/v1\/feeds\/([^/]+)\/calendar\.ics$/.exec(String(feed.url))?.[1];
  t.truthy(feedToken, 'the feed URL carries a token');
  return {
    world: { users, groups: ['team', 'ranks', 'club'], eventIds, feedTokens: [feedToken ?? ''] },
    sessions,
  };
}

test('no request, however hostile, is answered 5xx or hangs, and the system serves on', async (t) => {
  t.timeout(RUN_FOR_AT_MOST_MS + 60_000);
  const system = await startInProcessSystem(t, ports, {
    // Its wrong passwords (logins, and alice's password changes and deletions, which count as
    // failed logins for her) would otherwise spend the budget her last login needs: what is
    // tested here is hostile input, not the limits (abuse-limits.test.ts,
    // gateway.password-checks.test.ts).
    abuseLimits: {
      loginsPerAddress: { points: 100_000, durationSec: 60 },
      loginFailuresPerUserAndAddress: { points: 100_000, durationSec: 60 },
      loginFailuresPerUser: { points: 100_000, durationSec: 60 },
    },
  });
  t.teardown(() => {
    // What the layers said, when something went wrong: where a 5xx came from.
    const warnings = system.log.filter((line) => line.level === 'warn');
    if (warnings.length > 0) t.log('warnings logged', warnings.slice(-20));
  });
  const { world, sessions } = await populate(t, system);
  const send = sender(system, sessions);
  t.log(`seed ${SEED}, ${RUNS} runs (AGENDA_FUZZ_SEED=${SEED} replays them)`);

  const statuses = new Map<number, number>();
  const routes = Object.keys(API_ROUTES) as RouteName[];
  const started = performance.now();
  let sent = 0;
  await fc.assert(
    // A few requests at once, now and then: what is shared between requests (idempotency
    // keys, the bus, the store) is exercised by their meeting.
    fc.asyncProperty(
      fc.array(hostileRequests(world, routes).map(printable), { minLength: 1, maxLength: 3 }),
      async (requests) => {
        const answers = await Promise.all(requests.map(send));
        requests.forEach((r, i) => {
          const answer = answers[i] as Answer;
          sent += 1;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (process.env.AGENDA_FUZZ_TRACE) {
            console.log(
              r.route,
              r.method,
              answer.status,
              Math.round(answer.ms),
              answer.text.slice(0, 160),
            );
          }
          const wrong = violation(r, answer);
          if (wrong !== null) throw new Error(`${r.method} ${r.target.slice(0, 200)} ${wrong}`);
        });
      },
    ),
    {
      seed: SEED,
      numRuns: RUNS,
      includeErrorInReport: true,
      interruptAfterTimeLimit: RUN_FOR_AT_MOST_MS,
      markInterruptAsFailure: false,
    },
  );
  t.log(
    `${sent} requests in ${Math.round(performance.now() - started)} ms; statuses`,
    Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
  );

  // Nothing broke: a normal request is answered normally.
  const health = await request(`${system.url}/healthz`, { dispatcher: system.agent });
  t.is(health.statusCode, 200);
  await health.body.dump();
  // In a new session: the fuzz may have logged alice's out (DELETE /v1/sessions/current).
  const login = await request(`${system.url}/v1/sessions`, {
    dispatcher: system.agent,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: PASSWORD }),
  });
  t.is(login.statusCode, 200);
  const { token } = (await login.body.json()) as { token: string };
  const me = await request(`${system.url}/v1/me`, {
    dispatcher: system.agent,
    headers: { authorization: `Bearer ${token}` },
  });
  t.is(me.statusCode, 200);
  t.like(await me.body.json(), { user: { username: 'alice' } });

  // And no layer met what it took for a bug.
  const failures = system.log.filter(
    (line) =>
      line.level === 'warn' &&
      /unexpected failure|handler failed|failed to answer|dropped a malformed|does not declare/.test(
        line.message,
      ),
  );
  t.deepEqual(failures, []);
});
