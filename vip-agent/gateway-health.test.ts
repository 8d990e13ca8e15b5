/**
 * The gateway health check against a real HTTPS server with mutual TLS: a 200 is healthy;
 * another status, a refused connection or a server certificate from another CA fail at once
 * with a reason; a slow answer is pending until the probe has waited `unresponsiveMs`, then
 * fails until it answers. Ports 30376–30379.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { createCertificateAuthority, issueCertificate } from '../base/pki.js';
import type { CertificateAuthority } from '../base/pki.js';
import { mutualTlsServerOptions } from '../base/tls.js';
import { HttpsGatewayHealth } from './gateway-health.js';
import { vipPorts } from './test-support.js';

const ports = vipPorts(30_376, 30_379);

async function gatewayOn(
  port: number,
  ca: CertificateAuthority,
  answer: { status: number; delayMs: number },
) {
  const cert = await issueCertificate(ca, {
    name: 'gateway',
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
  });
  const server: Server = createServer(
    mutualTlsServerOptions({ ca: ca.certPem, cert: cert.certPem, key: cert.keyPem }),
    (_req, res) => {
      setTimeout(() => res.writeHead(answer.status).end('{}'), answer.delayMs);
    },
  );
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('a 200 is healthy, a slow answer pending and then failed, anything else failed', async (t) => {
  const ca = await createCertificateAuthority();
  const agentCert = await issueCertificate(ca, { name: 'vip-1', usages: 'client' });
  const tls = { ca: ca.certPem, cert: agentCert.certPem, key: agentCert.keyPem };
  const port = ports.take();
  const answer = { status: 200, delayMs: 0 };
  const gateway = await gatewayOn(port, ca, answer);
  const health = new HttpsGatewayHealth({
    url: `https://127.0.0.1:${port}/healthz`,
    tls,
    timeoutMs: 200,
    unresponsiveMs: 300,
  });
  t.teardown(() => health.close());

  t.deepEqual(await health.check(), { ok: true });
  answer.status = 503;
  t.deepEqual(await health.check(), { ok: false, detail: 'answered 503' });
  answer.status = 200;
  // A stall shorter than `unresponsiveMs` is pending, then healthy: never a failure.
  answer.delayMs = 250;
  t.like(await health.check(), { ok: false, pending: true });
  t.deepEqual(await health.check(), { ok: true });
  // A longer one: pending, then failed while the same probe waits, healthy once it answers.
  answer.delayMs = 1_000;
  t.like(await health.check(), { ok: false, pending: true });
  const failed = await health.check();
  t.false(failed.ok);
  t.false(!failed.ok && failed.pending === true);
  t.regex(failed.ok ? '' : failed.detail, /^no answer for \d+ ms$/);
  answer.delayMs = 0;
  await sleep(700);
  t.deepEqual(await health.check(), { ok: true });
  await gateway.close();
  // The kept-alive connection may be found closed first; then the port refuses.
  t.false((await health.check()).ok);
  const refused = await health.check();
  t.false(refused.ok);
  t.regex(refused.ok ? '' : refused.detail, /ECONNREFUSED/);

  const impostor = await gatewayOn(port, await createCertificateAuthority(), {
    status: 200,
    delayMs: 0,
  });
  t.teardown(() => impostor.close());
  t.false((await health.check()).ok, 'a gateway the lab CA did not sign is not ours');
});

test('a health URL that is not https is refused', (t) => {
  t.throws(
    () =>
      new HttpsGatewayHealth({
        url: 'http://127.0.0.1:8443/healthz',
        tls: { ca: '', cert: '', key: '' },
        timeoutMs: 80,
      }),
    { message: /must be https/ },
  );
});
