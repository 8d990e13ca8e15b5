/**
 * A daemon's metrics as an operator reads them: Prometheus text with the process's default
 * metrics and its event-loop delay, a stall that shows and stays shown in the worst-delay
 * gauge, and an endpoint that serves only clients with a certificate from the cluster CA.
 * Endpoints listen on ephemeral ports.
 */
import test from 'ava';
// eslint-disable-next-line no-restricted-imports -- to check that nothing lands in it
import { collectDefaultMetrics, register as globalRegistry, Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import { DaemonMetrics, EVENT_LOOP_DELAY_METRICS } from './daemon-metrics.js';
import { serveDaemonMetrics } from './endpoint.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

const LABELS = { service: 'users', member: 'users-2' };

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Keeps the event loop busy for `ms`: the stall a slow synchronous handler causes. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('the text parses as Prometheus and has the default metrics and the event-loop delay', async (t) => {
  const metrics = new DaemonMetrics({ service: 'users', member: 'users-2' });
  t.teardown(() => metrics.close());
  const exposition = parsePrometheusText(await metrics.text());
  for (const name of Object.values(EVENT_LOOP_DELAY_METRICS)) {
    t.is(exposition.types.get(name), 'gauge', name);
    const value = sampleValue(exposition, name, LABELS);
    t.true(value !== undefined && value >= 0 && value < 60, `${name} ${String(value)}`);
  }
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.not(sampleValue(exposition, name, LABELS), undefined, `${name} with the daemon's labels`);
  }
  t.true(exposition.types.has('nodejs_gc_duration_seconds'));
  t.is(globalRegistry.getMetricsAsArray().length, 0, "prom-client's global registry is not used");
});

test("every series prom-client's defaults would register is there, its event-loop lag from our monitor", async (t) => {
  const reference = new Registry();
  collectDefaultMetrics({ register: reference });
  const expected = reference.getMetricsAsArray().map((m) => m.name);
  t.true(expected.includes('nodejs_eventloop_lag_p99_seconds'));
  const metrics = new DaemonMetrics({ service: 'users', member: 'users-2' });
  t.teardown(() => metrics.close());
  const ours = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
  t.deepEqual(
    expected.filter((name) => !ours.has(name)),
    [],
  );
  // The lag gauges read the window: an idle loop's intervals are about the resolution.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const exposition = parsePrometheusText(await metrics.text());
  const p50 = sampleValue(exposition, 'nodejs_eventloop_lag_p50_seconds', LABELS) ?? NaN;
  t.true(p50 >= 0.009 && p50 < 1, `p50 ${p50}`);
  await new Promise((resolve) => setImmediate(resolve));
  const later = parsePrometheusText(await metrics.text());
  t.true((sampleValue(later, 'nodejs_eventloop_lag_seconds', LABELS) ?? -1) >= 0);
});

test('a stall shows as the worst delay, and stays there after the window moves on', async (t) => {
  const metrics = new DaemonMetrics({ service: 'users', member: 'users-2' });
  t.teardown(() => metrics.close());
  const read = async () => {
    const exposition = parsePrometheusText(await metrics.text());
    return {
      max: sampleValue(exposition, EVENT_LOOP_DELAY_METRICS.max, LABELS) ?? NaN,
      worst: sampleValue(exposition, EVENT_LOOP_DELAY_METRICS.worst, LABELS) ?? NaN,
    };
  };
  // A monitor sees no stall before its first sample: wait for one.
  await waitFor('a first sample', async () => (await read()).worst > 0);
  stall(150);
  let seen = { max: 0, worst: 0 };
  await waitFor('the stall to be measured', async () => {
    seen = await read();
    return seen.worst >= 0.12;
  });
  t.true(seen.worst < 2, `worst ${seen.worst}`);
  // Later windows need not see it again; the worst never forgets it.
  const later = await read();
  t.true(later.worst >= seen.worst);
  t.true(later.max <= later.worst);
  metrics.close();
  metrics.close();
  t.is((await read()).worst, later.worst, 'closed, the gauges keep their last values');
});

test('the reader takes escapes and histograms, and refuses what the format does not allow', (t) => {
  const good = parsePrometheusText(
    '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"uote\\\\ \\n"} 2\n\n' +
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 0.5\nh_count 1\n',
  );
  t.is(sampleValue(good, 'a_total', { x: 'q"uote\\ \n' }), 2);
  t.is(sampleValue(good, 'h_bucket', { le: '+Inf' }), 1);
  t.throws(() => parsePrometheusText('a 1\n'), { message: /before its TYPE/ });
  t.throws(() => parsePrometheusText('# TYPE a gauge\n# TYPE a gauge\n'), { message: /twice/ });
  t.throws(() => parsePrometheusText('# TYPE a gauge\na{x=1} 1\n'), { message: /line 2/ });
  t.throws(() => parsePrometheusText('# TYPE a gauge\na 1'), { message: /newline/ });
});

async function pki() {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'users-2',
    ipAddresses: ['127.0.0.1'],
    usages: 'both',
    role: 'users',
  });
  const operator = await issueCertificate(ca, {
    name: 'operator',
    usages: 'client',
    role: 'operator',
  });
  const stranger = await issueCertificate(await createCertificateAuthority(), {
    name: 'operator',
    usages: 'client',
  });
  return { ca, server, operator, stranger };
}

test('the endpoint serves /metrics to certificates from the cluster CA and to nobody else', async (t) => {
  const { ca, server, operator, stranger } = await pki();
  const served = await serveDaemonMetrics({
    identity: { service: 'users', member: 'users-2' },
    listen: { host: '127.0.0.1', port: 0 },
    tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
  });
  t.teardown(() => served.close());
  const base = `https://127.0.0.1:${served.endpoint.address().port}`;
  const client = (cert?: { certPem: string; keyPem: string }) => {
    const agent = new Agent({
      connect: {
        ca: ca.certPem,
        ...(cert === undefined ? {} : { cert: cert.certPem, key: cert.keyPem }),
      },
    });
    t.teardown(() => agent.close());
    return async (path: string, method: 'GET' | 'POST' = 'GET') => {
      const answer = await request(`${base}${path}`, { dispatcher: agent, method });
      return { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() };
    };
  };

  const asOperator = client(operator);
  const answer = await asOperator('/metrics');
  t.is(answer.status, 200);
  t.is(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const exposition = parsePrometheusText(answer.text);
  t.not(sampleValue(exposition, EVENT_LOOP_DELAY_METRICS.worst, LABELS), undefined);
  t.like(await asOperator('/metrics', 'POST'), { status: 405, headers: { allow: 'GET' } });
  t.like(await asOperator('/v1/status'), { status: 404 });

  // Another daemon's certificate of the same CA is no operator's.
  const asDaemon = await client(server)('/metrics');
  t.is(asDaemon.status, 403);
  t.regex(asDaemon.text, /the users role may not read \/metrics/);
  await t.throwsAsync(client()('/metrics'), undefined, 'no client certificate');
  await t.throwsAsync(client(stranger)('/metrics'), undefined, 'a certificate from another CA');
});

test('closing is idempotent and frees the port; an aborted signal closes too', async (t) => {
  const { ca, server } = await pki();
  const tls = { ca: ca.certPem, cert: server.certPem, key: server.keyPem };
  const identity = { service: 'supervisor', member: 'supervisor-1' } as const;
  const first = await serveDaemonMetrics({ identity, listen: { host: '127.0.0.1', port: 0 }, tls });
  const { port } = first.endpoint.address();
  await Promise.all([first.close(), first.close()]);
  const controller = new AbortController();
  const second = await serveDaemonMetrics({
    identity,
    listen: { host: '127.0.0.1', port },
    tls,
    signal: controller.signal,
  });
  t.is(second.endpoint.address().port, port);
  controller.abort();
  await second.close();
  const third = await serveDaemonMetrics({ identity, listen: { host: '127.0.0.1', port }, tls });
  t.is(third.endpoint.address().port, port, 'the port was free again');
  await third.close();
});
