/**
 * The worst event-loop delay per kind of process, as the benchmark and the chaos report
 * read it from real metrics endpoints (ephemeral ports): the worst of a kind's processes,
 * null for a kind with no process or none that answered, and which ones did not.
 */
import test from 'ava';
import { serveDaemonMetrics } from '../server/metrics/endpoint.js';
import { describeDelays, EventLoopDelayScraper, noDelays, worseOf } from './event-loop-delay.js';
import { createCertificateAuthority, issueCertificate } from '../base/pki.js';
import type { MetricsTarget } from './plan.js';

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Keeps the event loop busy for `ms`. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('the worst of each kind is reported; a kind without processes, or down, is null', async (t) => {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'users',
    ipAddresses: ['127.0.0.1'],
    usages: 'both',
  });
  const operator = await issueCertificate(ca, {
    name: 'operator',
    usages: 'client',
    role: 'operator',
  });
  const tls = { ca: ca.certPem, cert: server.certPem, key: server.keyPem };
  const listen = { host: '127.0.0.1', port: 0 };
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const signal = controller.signal;

  const early = await serveDaemonMetrics({
    identity: { service: 'users', member: 'users-1' },
    listen,
    tls,
    signal,
  });
  const url = (port: number) => `https://127.0.0.1:${port}/metrics`;
  const operatorTls = { ca: ca.certPem, cert: operator.certPem, key: operator.keyPem };
  const first = {
    name: 'users-1',
    kind: 'users',
    url: url(early.endpoint.address().port),
  } as const;
  // A monitor sees no stall before its first sample: wait for one.
  const primer = new EventLoopDelayScraper([first], operatorTls);
  t.teardown(() => primer.close());
  await waitFor(
    'a first sample',
    async () => ((await primer.scrape(signal)).worstMs.users ?? 0) > 0,
  );
  // Seen by the first replica's monitor only: the second starts measuring after it.
  stall(150);
  const late = await serveDaemonMetrics({
    identity: { service: 'users', member: 'users-2' },
    listen,
    tls,
    signal,
  });
  const targets: MetricsTarget[] = [
    first,
    { name: 'users-2', kind: 'users', url: url(late.endpoint.address().port) },
    // Nothing listens on port 1.
    { name: 'groups-1', kind: 'groups', url: url(1) },
  ];
  const scraper = new EventLoopDelayScraper(targets, operatorTls, { timeoutMs: 2_000 });
  t.teardown(() => scraper.close());

  let scrape = await scraper.scrape(signal);
  await waitFor('the stall to be measured', async () => {
    scrape = await scraper.scrape(signal);
    return (scrape.worstMs.users ?? 0) >= 120;
  });
  t.true((scrape.worstMs.users ?? 0) >= 120, `users ${String(scrape.worstMs.users)} ms`);
  t.like(scrape.worstMs, { groups: null, db: null, gateway: null, supervisor: null });
  t.deepEqual(
    scrape.missing.map((m) => m.name),
    ['groups-1'],
  );
  // Since the previous scrape, which already saw the stall: the window no longer holds it.
  const since = await scraper.scrape(signal, { since: 'previous-scrape' });
  t.true(
    (since.worstMs.users ?? Infinity) < (scrape.worstMs.users ?? 0),
    `since the previous scrape: users ${String(since.worstMs.users)} ms`,
  );

  const refused = new EventLoopDelayScraper(targets.slice(0, 1), { ca: ca.certPem });
  t.teardown(() => refused.close());
  const anonymous = await refused.scrape(signal);
  t.is(anonymous.worstMs.users, null, 'no operator certificate, no metrics');
  t.is(anonymous.missing.length, 1);
});

test('readings combine kind by kind, and read as one line', (t) => {
  const a = { ...noDelays(), gateway: 12, users: 40 };
  const b = { ...noDelays(), gateway: 30, groups: 5 };
  const worst = worseOf(a, b);
  t.deepEqual(worst, { ...noDelays(), gateway: 30, users: 40, groups: 5 });
  t.is(
    describeDelays(worst),
    'gateway 30 ms, users 40 ms, groups 5 ms, supervisor -, vip-agent -, db -',
  );
});
