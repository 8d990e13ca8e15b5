import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { request } from 'undici';
import { seededRandom } from '../../base/rng.js';
import { portsFrom, startTestGateway, type TestGateway } from './test-support.js';

/** This file's ports: 29800–29899. */
const nextPort = portsFrom(29800);

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}

/** Asserts a JSON refusal with `status`, a reason, and (when given) the field at fault. */
function refusal(
  t: ExecutionContext,
  answer: { status: number; json: unknown; text: string },
  status: number,
  field?: string,
  reason?: RegExp,
): void {
  t.is(answer.status, status, answer.text);
  const body = answer.json as ErrorBody;
  t.is(typeof body?.error?.message, 'string', answer.text);
  t.true(body.error.message.length > 0);
  if (field !== undefined) t.like(body, { error: { details: { field } } });
  if (reason !== undefined) t.regex(body.error.message, reason);
}

async function healthy(t: ExecutionContext, g: TestGateway): Promise<void> {
  t.is((await g.call('/healthz')).status, 200, 'the gateway still serves');
}

test('malformed JSON, wrong types, missing and unknown fields: 400 naming the field', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const post = (body: unknown) => g.call('/v1/events', { token, method: 'POST', body });
  const valid = { title: 'x', start: '2026-03-02T09:00:00Z', duration: '1h' };

  refusal(t, await post('{"title": "x",'), 400, undefined, /not valid JSON/);
  refusal(t, await post('[1, 2]'), 400, undefined, /expected object/);
  refusal(t, await post('null'), 400);
  refusal(t, await post({ ...valid, colour: 'red' }), 400, 'colour', /unknown field "colour"/);
  refusal(t, await post({ ...valid, __proto__x: 1 }), 400, '__proto__x');
  refusal(
    t,
    await post(
      '{"title":"x","start":"2026-03-02T09:00:00Z","duration":"1h","__proto__":{"admin":true}}',
    ),
    400,
    '__proto__',
  );
  refusal(t, await post({ ...valid, title: 42 }), 400, 'title');
  refusal(t, await post({ ...valid, with: ['bob', 7] }), 400, 'with.1');
  refusal(t, await post({ ...valid, allowConflict: 'yes' }), 400, 'allowConflict');
  refusal(t, await post({ ...valid, visibility: 'secret' }), 400, 'visibility');
  refusal(t, await post({ start: valid.start, duration: '1h' }), 400, 'title');
  refusal(
    t,
    await g.call('/v1/events', { token, method: 'POST' }),
    400,
    undefined,
    /needs a JSON body/,
  );
  refusal(t, await g.call('/v1/groups/team/leave', { token, body: { extra: 1 } }), 400, 'extra');
  refusal(
    t,
    await g.call('/v1/groups/team/members', { token, body: { username: 'b', level: 1.5 } }),
    400,
    'level',
  );
  t.is(g.dispatcher.calls.length, 0);
  await healthy(t, g);
});

test('invalid dates and durations: 400 naming the field', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const post = (body: object) => g.call('/v1/events', { token, body: { title: 'x', ...body } });
  refusal(t, await post({ start: '2026-02-30T09:00:00Z', duration: '1h' }), 400, 'start');
  refusal(t, await post({ start: '2026-03-02T09:00:00', duration: '1h' }), 400, 'start', /offset/);
  refusal(t, await post({ start: 'tomorrow', duration: '1h' }), 400, 'start');
  refusal(t, await post({ start: '1900-01-01T00:00:00Z', duration: '1h' }), 400, 'start');
  refusal(t, await post({ start: '2026-03-02T09:00:00Z', duration: 'forever' }), 400, 'duration');
  refusal(t, await post({ start: '2026-03-02T09:00:00Z', duration: '-1h' }), 400, 'duration');
  refusal(
    t,
    await post({ start: '2026-03-02T09:00:00Z', duration: '99999999999d' }),
    400,
    'duration',
  );
  refusal(t, await post({ start: '2026-03-02T09:00:00Z' }), 400, 'end', /end or a duration/);
  refusal(
    t,
    await post({ start: '2026-03-02T09:00:00Z', end: '2026-03-02T10:00:00Z', duration: '1h' }),
    400,
    'duration',
    /not both/,
  );
  refusal(
    t,
    await g.call('/v1/events/e1', { token, method: 'PATCH', body: { duration: '1h' } }),
    400,
    'duration',
    /needs the start/,
  );
  const list = (query: string) => g.call(`/v1/events${query}`, { token });
  refusal(t, await list(''), 400, 'from', /"from" is required/);
  refusal(t, await list('?from=2026-03-01T00:00:00Z'), 400, 'to');
  refusal(t, await list('?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z'), 400, 'to');
  refusal(
    t,
    await list('?from=2026-03-01T00:00:00Z&to=2028-03-01T00:00:00Z'),
    400,
    'to',
    /spans at most/,
  );
  refusal(t, await list('?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&page=5'), 400, 'page');
  refusal(
    t,
    await list('?from=2026-03-01T00:00:00Z&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z'),
    400,
    'from',
    /twice/,
  );
  refusal(
    t,
    await g.call('/v1/free?group=g&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z', { token }),
    400,
    'duration',
  );
  refusal(
    t,
    await g.call('/v1/agendas?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z', { token }),
    400,
    'group',
  );
  refusal(
    t,
    await g.call('/v1/agendas?users=,,&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z', {
      token,
    }),
    400,
    'users',
  );
  refusal(
    t,
    await g.call('/v1/import?allowConflict=maybe', {
      token,
      body: 'x',
      headers: { 'content-type': 'text/calendar' },
    }),
    400,
    'allowConflict',
  );
  // Outside attack 7: the visibility of events without CLASS is one of the three.
  refusal(
    t,
    await g.call('/v1/import?visibility=secret', {
      token,
      body: 'x',
      headers: { 'content-type': 'text/calendar' },
    }),
    400,
    'visibility',
    /visibility must be public, busy or private/,
  );
  t.is(g.dispatcher.calls.length, 0);
  await healthy(t, g);
});

test('injection-looking strings are data: passed on verbatim or refused, never interpreted', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  g.dispatcher.respond = () => ({ event: { id: 'e1' }, conflicts: [] });
  const title = `Robert'); DROP TABLE events;-- <script>alert(1)</script> \${process.exit()} {{7*7}}`;
  const created = await g.call('/v1/events', {
    token,
    body: { title, start: '2026-03-02T09:00:00Z', duration: '1h', location: '../../etc/passwd' },
  });
  t.is(created.status, 201);
  const op = g.dispatcher.only().op;
  t.like(op, { type: 'command', body: { draft: { title, location: '../../etc/passwd' } } });

  refusal(t, await g.call("/v1/events/1'%20OR%20'1'='1", { token }), 400, 'eventId');
  refusal(t, await g.call('/v1/events/%E0%A4%A', { token }), 400, 'eventId', /percent escape/);
  refusal(t, await g.call('/v1/../../etc/passwd', { token }), 404);
  refusal(t, await g.call('/v1/events?<script>=1', { token }), 400, '<script>');
  const header = await g.call('/v1/me', { headers: { authorization: 'Bearer $(rm -rf /)' } });
  refusal(t, header, 401);
  await healthy(t, g);
});

test('deep nesting and huge arrays are refused cleanly', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const depth = 200_000;
  const nested = '['.repeat(depth) + ']'.repeat(depth);
  refusal(t, await g.call('/v1/events', { token, body: nested }), 400);
  const deepObject = '{"title":'.repeat(10_000) + '1' + '}'.repeat(10_000);
  refusal(t, await g.call('/v1/events', { token, body: deepObject }), 400);
  const many = {
    title: 'x',
    start: '2026-03-02T09:00:00Z',
    duration: '1h',
    with: Array(5_000).fill('bob'),
  };
  refusal(t, await g.call('/v1/events', { token, body: many }), 400, 'with');
  await healthy(t, g);
});

test('bodies past the limit are 413 (declared or streamed); wrong media type 415', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    maxJsonBytes: 64 * 1024,
    maxCalendarBytes: 128 * 1024,
  });
  const token = await g.token('alice');
  const big = JSON.stringify({ title: 'x'.repeat(100 * 1024) });
  refusal(
    t,
    await g.call('/v1/events', { token, body: big }),
    413,
    undefined,
    /larger than 65536 bytes/,
  );

  // No content-length: the limit is enforced while reading the chunks.
  const streamed = await request(`${g.url}/v1/events`, {
    dispatcher: g.agent,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(4096, 0x20);
      })(),
    ),
  });
  t.is(streamed.statusCode, 413);
  t.like(await streamed.body.json(), { error: { code: 'invalid' } });

  const ics = `BEGIN:VCALENDAR\r\n${'X-FILL:'.padEnd(70, 'x')}\r\n`.repeat(3000);
  refusal(
    t,
    await g.call('/v1/import', { token, body: ics, headers: { 'content-type': 'text/calendar' } }),
    413,
  );
  refusal(
    t,
    await g.call('/v1/events', { token, body: '{}', headers: { 'content-type': 'text/plain' } }),
    415,
  );
  refusal(
    t,
    await g.call('/v1/import', {
      token,
      body: '{}',
      headers: { 'content-type': 'application/json' },
    }),
    415,
  );
  refusal(
    t,
    await g.call('/v1/import', { token, method: 'POST' }),
    400,
    undefined,
    /iCalendar body/,
  );
  const notUtf8 = await request(`${g.url}/v1/events`, {
    dispatcher: g.agent,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
  });
  t.is(notUtf8.statusCode, 400);
  t.like(await notUtf8.body.json(), { error: { message: 'the body is not UTF-8 text' } });
  t.is(g.dispatcher.calls.length, 0);
  await healthy(t, g);
});

test('unknown routes are 404 and wrong methods 405 with allow', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  refusal(t, await g.call('/v1/nothing', { token }), 404, undefined, /no route GET \/v1\/nothing/);
  refusal(t, await g.call('/v2/events', { token }), 404);
  refusal(t, await g.call('/v1/events/', { token }), 404);
  refusal(t, await g.call('/', {}), 404);
  const wrong = await g.call('/v1/events', { token, method: 'PUT', body: {} });
  refusal(t, wrong, 405);
  t.is(wrong.headers.allow, 'POST, GET');
  const members = await g.call('/v1/groups/team/members/bob', { token });
  refusal(t, members, 405);
  t.is(members.headers.allow, 'PATCH, DELETE');
  await healthy(t, g);
});

test('malformed HTTP and broken TLS only cost their own connection', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const { port } = g.gateway.address();
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      socket.write('GARBAGE / NOT-HTTP\r\n\r\n');
    });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  t.regex(raw, /^HTTP\/1\.1 400 Bad Request/);
  t.regex(raw, /"code":"invalid"/);
  // A client offering only TLS 1.2 is turned away at the handshake.
  await t.throwsAsync(
    new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
        () => resolve(socket.end()),
      );
      socket.on('error', reject);
    }),
  );
  await healthy(t, g);
});

/** Random JSON: the shapes a confused or hostile client might send. */
function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 6 : 8));
  const strings = [
    '',
    'x',
    '2026-03-02T09:00:00Z',
    '1h',
    'FREQ=DAILY',
    'team',
    '\u0000',
    'é'.repeat(300),
    '-1',
    '1e400',
  ];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -1, 1.5, 1e308, -0, 2 ** 53 + 1][Math.floor(random() * 6)];
    case 3:
    case 4:
    case 5:
      return strings[Math.floor(random() * strings.length)];
    case 6:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default: {
      const keys = [
        'title',
        'start',
        'end',
        'duration',
        'with',
        'group',
        'repeat',
        'name',
        'kind',
        'username',
        'password',
        'level',
        'allowConflict',
        'bogus',
      ];
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 6); i > 0; i--) {
        object[keys[Math.floor(random() * keys.length)] ?? 'x'] = randomValue(random, depth + 1);
      }
      return object;
    }
  }
}

test('fuzz: random JSON on every JSON route never gets a 5xx, and the gateway keeps serving', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  g.dispatcher.respond = () => ({ event: { id: 'e1' }, conflicts: [], group: null });
  const random = seededRandom(20260302);
  const routes = [
    ['POST', '/v1/users'],
    ['POST', '/v1/sessions'],
    ['POST', '/v1/events'],
    ['PATCH', '/v1/events/e1'],
    ['POST', '/v1/invitations/e1/accept'],
    ['POST', '/v1/groups'],
    ['POST', '/v1/groups/team/members'],
    ['PATCH', '/v1/groups/team/members/bob'],
  ] as const;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const [method, path] = routes[i % routes.length] ?? routes[0];
    const body =
      random() < 0.1 ? JSON.stringify(randomValue(random)).slice(0, -1) : randomValue(random);
    const answer = await g.call(path, {
      method,
      token,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    t.true(answer.status < 500, `${method} ${path} ${JSON.stringify(body)} → ${answer.text}`);
    if (answer.status >= 400) t.is(typeof (answer.json as ErrorBody).error.message, 'string');
  }
  t.true((statuses.get(400) ?? 0) > 300, JSON.stringify([...statuses]));
  await healthy(t, g);
});
