import test from 'ava';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import { parsePrometheusText, sampleValue } from '../metrics/prometheus-text.js';
import type { LiveUpdate } from '../../contract/api.js';
import { portsFrom, startTestGateway, waitFor, type TestGateway } from './test-support.js';

/** This file's ports: 29900–29999. */
const nextPort = portsFrom(29900);

const update = (eventId: string, change = 'created'): LiveUpdate => ({
  kind: 'event',
  change,
  eventId,
  by: 'bob',
  at: '2026-03-02T09:00:00.000Z',
});

/** An open `GET /v1/stream` and the frames read from it so far. */
interface OpenStream {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Everything received, as text. */
  text(): string;
  /** The `update` events received, parsed. */
  updates(): LiveUpdate[];
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  abort(): void;
}

async function openStream(g: TestGateway, token: string): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await request(`${g.url}/v1/stream`, {
    dispatcher: g.agent,
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  let received = '';
  const ended = (async () => {
    try {
      for await (const chunk of response.body) received += (chunk as Buffer).toString();
    } catch {
      // Aborted by the test, or cut by the server: either way the stream is over.
    }
  })();
  return {
    status: response.statusCode,
    headers: response.headers,
    text: () => received,
    updates: () =>
      received
        .split('\n\n')
        .filter((frame) => frame.startsWith('event: update\n'))
        .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as LiveUpdate),
    ended,
    abort: () => controller.abort(),
  };
}

test("the stream delivers the caller's updates, and only theirs", async (t) => {
  const g = await startTestGateway(t, nextPort());
  const stream = await openStream(g, await g.token('alice'));
  t.is(stream.status, 200);
  t.regex(String(stream.headers['content-type']), /^text\/event-stream/);
  t.is(g.feed.listenerCount('alice'), 1, 'subscribed before the headers were sent');
  g.feed.publish('bob', update('not-for-alice'));
  g.feed.publish('alice', update('e1'));
  g.feed.publish('alice', {
    kind: 'group',
    change: 'member_added',
    group: 'team',
    member: 'alice',
    by: 'bob',
    at: '2026-03-02T09:00:00.000Z',
  });
  await waitFor(() => stream.updates().length === 2, 'two updates');
  t.deepEqual(stream.updates()[0], update('e1'));
  t.like(stream.updates()[1], { kind: 'group', group: 'team' });
  t.regex(stream.text(), /^: stream open\n\nevent: update\ndata: \{/);
  stream.abort();
});

test('a burst of updates reaches a reading client complete and in order', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const stream = await openStream(g, await g.token('alice'));
  for (let i = 0; i < 2_000; i++) {
    g.feed.publish('alice', update(`e${i}`));
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => stream.updates().length === 2_000, 'all updates');
  t.deepEqual(
    stream.updates().map((u) => (u.kind === 'event' ? u.eventId : '')),
    Array.from({ length: 2_000 }, (_, i) => `e${i}`),
  );
  stream.abort();
});

test('quiet streams get keep-alive comments', async (t) => {
  const g = await startTestGateway(t, nextPort(), { stream: { heartbeatMs: 30 } });
  const stream = await openStream(g, await g.token('alice'));
  await waitFor(() => stream.text().includes(': keep-alive\n\n'), 'a keep-alive comment');
  t.true(stream.text().includes(': keep-alive\n\n'));
  stream.abort();
});

test('a client disconnecting unsubscribes its stream', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const first = await openStream(g, token);
  const second = await openStream(g, token);
  t.is(g.feed.listenerCount('alice'), 2);
  t.regex(await g.gateway.metrics.render(), /^agenda_gateway_open_streams 2$/m);
  first.abort();
  await waitFor(() => g.feed.listenerCount('alice') === 1, 'the first stream to unsubscribe');
  g.feed.publish('alice', update('e1'));
  await waitFor(() => second.updates().length === 1, 'the update on the second stream');
  second.abort();
  await waitFor(() => g.feed.listenerCount('alice') === 0, 'the second stream to unsubscribe');
  t.regex(await g.gateway.metrics.render(), /^agenda_gateway_open_streams 0$/m);
});

test('a client that stops reading is cut off, with bounded memory, and unsubscribed', async (t) => {
  const g = await startTestGateway(t, nextPort(), { stream: { maxQueuedUpdates: 16 } });
  const token = await g.token('alice');
  // Opened by hand and never read: the socket fills up, then the server's buffer.
  const response = await request(`${g.url}/v1/stream`, {
    dispatcher: g.agent,
    headers: { authorization: `Bearer ${token}` },
  });
  response.body.pause();
  const change = 'x'.repeat(900);
  let published = 0;
  while (g.feed.listenerCount('alice') > 0) {
    if (published > 200_000) throw new Error('the stream was never cut off');
    for (let i = 0; i < 100; i++) g.feed.publish('alice', update(`e${published++}`, change));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.regex(await g.gateway.metrics.render(), /^agenda_gateway_stream_overflows_total 1$/m);
  await waitFor(
    async () => /^agenda_gateway_open_streams 0$/m.test(await g.gateway.metrics.render()),
    'the stream to be counted closed',
  );
  response.body.destroy();
  // A healthy client is unaffected.
  const other = await openStream(g, token);
  g.feed.publish('alice', update('fine'));
  await waitFor(() => other.updates().length === 1, 'the update on a new stream');
  other.abort();
});

test('malformed updates from the bus never reach the client', async (t) => {
  const warnings: string[] = [];
  const g = await startTestGateway(t, nextPort(), {
    logger: { info() {}, warn: (message) => warnings.push(message) },
  });
  const stream = await openStream(g, await g.token('alice'));
  g.feed.publish('alice', { kind: 'event', eventId: 'e0' });
  g.feed.publish('alice', { ...update('e1'), secret: 'extra field' });
  g.feed.publish('alice', 'a string');
  g.feed.publish('alice', update('e2'));
  await waitFor(() => stream.updates().length === 1, 'the well-formed update');
  t.deepEqual(stream.updates(), [update('e2')]);
  t.is(warnings.filter((w) => w === 'dropped a malformed live update').length, 3);
  stream.abort();
});

test('a subscription that cannot go live is a 503, not a silent stream', async (t) => {
  const g = await startTestGateway(t, nextPort(), { requestDeadlineMs: 100 });
  const token = await g.token('alice');
  g.feed.live = () => Promise.reject(new Error('redis is down'));
  const failed = await g.call('/v1/stream', { token });
  t.is(failed.status, 503);
  t.like(failed.json, { error: { code: 'unavailable' } });

  let release = (): void => {};
  g.feed.live = () => new Promise((resolve) => (release = resolve));
  const slow = await g.call('/v1/stream', { token });
  t.is(slow.status, 503);
  t.regex((slow.json as { error: { message: string } }).error.message, /in time/);
  // The subscription goes live after the gateway gave up: it is ended at once.
  release();
  await waitFor(() => g.feed.subscriptions === 1, 'the late subscription to go live');
  await waitFor(() => g.feed.listenerCount('alice') === 0, 'the late subscription to end');
  t.regex(await g.gateway.metrics.render(), /^agenda_gateway_open_streams 0$/m);
});

test('a client leaving while its subscription is being made leaves nothing behind', async (t) => {
  const g = await startTestGateway(t, nextPort());
  let release = (): void => {};
  let asked = false;
  g.feed.live = () =>
    new Promise((resolve) => {
      asked = true;
      release = resolve;
    });
  const controller = new AbortController();
  const pending = request(`${g.url}/v1/stream`, {
    dispatcher: g.agent,
    headers: { authorization: `Bearer ${await g.token('alice')}` },
    signal: controller.signal,
  });
  await waitFor(() => asked, 'the subscription to be asked for');
  controller.abort();
  await t.throwsAsync(pending, { any: true });
  await waitFor(
    async () => /^agenda_gateway_open_streams 0$/m.test(await g.gateway.metrics.render()),
    'the stream to be dropped',
  );
  release();
  // The subscription goes live after the client left; the gateway must drop it at once.
  await waitFor(() => g.feed.subscriptions === 1, 'the late subscription to go live');
  await waitFor(() => g.feed.listenerCount('alice') === 0, 'the late subscription to end');
  t.is(g.feed.listenerCount('alice'), 0);
});

test('closing the gateway ends open streams', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const stream = await openStream(g, await g.token('alice'));
  await g.gateway.close();
  await stream.ended;
  t.is(g.feed.listenerCount('alice'), 0);
});

test('/metrics is Prometheus text with requests by route and status, latency, streams, refusals', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { loginsPerAddress: { points: 1, durationSec: 60 } },
  });
  const token = await g.token('alice');
  await g.call('/v1/me', { token });
  await g.call('/v1/events/e1', { token });
  await g.call('/v1/events/e2', { token });
  await g.call('/v1/nowhere', { token });
  await g.call('/v1/me');
  await g.call('/v1/sessions', { body: { username: 'alice', password: 'pw-pw-pw' } });
  await g.call('/v1/sessions', { body: { username: 'alice', password: 'pw-pw-pw' } });
  const stream = await openStream(g, token);

  const answer = await g.call('/metrics', { asOperator: true });
  t.is(answer.status, 200);
  t.is(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const exposition = parsePrometheusText(answer.text);
  const value = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(exposition, name, labels);
  const requests = (route: string, method: string, status: number) =>
    value('agenda_gateway_requests_total', { route, method, status: String(status) });
  t.is(requests('/v1/me', 'GET', 200), 1);
  t.is(requests('/v1/me', 'GET', 401), 1);
  t.is(requests('/v1/events/:eventId', 'GET', 200), 2, 'raw paths never become labels');
  t.is(requests('unmatched', 'GET', 404), 1);
  t.is(requests('/v1/sessions', 'POST', 429), 1);
  t.is(value('agenda_gateway_rate_limited_total', { limit: 'login-address' }), 1);
  t.is(value('agenda_gateway_open_streams'), 1);
  const count = value('agenda_gateway_request_duration_seconds_count', {
    route: '/v1/events/:eventId',
  });
  t.is(count, 2);
  t.is(
    value('agenda_gateway_request_duration_seconds_bucket', {
      route: '/v1/events/:eventId',
      le: '+Inf',
    }),
    count,
  );
  let previous = 0;
  for (const le of ['0.005', '0.01', '0.1', '1', '10', '+Inf']) {
    const bucket =
      value('agenda_gateway_request_duration_seconds_bucket', { route: '/v1/me', le }) ?? -1;
    t.true(bucket >= previous, 'buckets are cumulative');
    previous = bucket;
  }
  stream.abort();
});

test('after a gap in live updates every open stream is told to re-read', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const stream = await openStream(g, await g.token('alice'));
  await waitFor(() => g.feed.listenerCount('alice') === 1, 'the stream to subscribe');
  g.feed.gap();
  await waitFor(() => stream.text().includes('event: resync'), 'a resync event');
  t.regex(stream.text(), /event: resync\ndata: \{"reason":"live updates may have been missed"\}/);
  stream.abort();
});

test('a stream ends with an expired event when the access token that opened it expires', async (t) => {
  let now = Date.now();
  const g = await startTestGateway(t, nextPort(), { tokenNow: () => now });
  const token = await g.token('alice');
  const expiresAt = (decodeJwt(token).exp ?? 0) * 1000;
  const stream = await openStream(g, token);
  t.is(stream.status, 200);
  g.feed.publish('alice', update('e1'));
  await waitFor(() => stream.updates().length === 1, 'the update');
  // The gateway's clock reaches the token's expiry (with its 30 s of tolerance): a stream
  // opened now ends at once, after what it has to say.
  now = expiresAt + 29_900;
  const late = await openStream(g, token);
  t.is(late.status, 200);
  g.feed.publish('alice', update('e2'));
  await late.ended;
  t.regex(late.text(), /event: expired\ndata: \{"reason":"the access token [^"]*expired/);
  t.is(g.feed.listenerCount('alice'), 1, 'its subscription is gone; the first stream goes on');
  stream.abort();
  await stream.ended;
});
