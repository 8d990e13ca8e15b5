/**
 * The status server over real mutual TLS: an operator certificate from the lab CA reads the
 * status; another daemon's certificate of the same CA is refused; no certificate, or one
 * from another CA, gets nothing. Ports 30370–30375.
 */
import test from 'ava';
import { Agent, request } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../base/pki.js';
import { StatusServer } from './status-server.js';
import { vipPorts } from './test-support.js';

const ports = vipPorts(30_370, 30_375);

async function setUp() {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'vip-1',
    ipAddresses: ['127.0.0.1'],
    usages: 'both',
    role: 'vip-agent',
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

test('GET /v1/status answers the status to a client with a lab certificate, and only to one', async (t) => {
  const { ca, server, operator, stranger } = await setUp();
  let calls = 0;
  const status = await StatusServer.start({
    listen: { host: '127.0.0.1', port: ports.take() },
    tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
    status: () => ({ id: 'vip-1', state: 'active', calls: ++calls }),
  });
  t.teardown(() => status.close());
  const base = `https://127.0.0.1:${status.address().port}`;
  const client = (cert?: { certPem: string; keyPem: string }) => {
    const agent = new Agent({
      connect: {
        ca: ca.certPem,
        ...(cert === undefined ? {} : { cert: cert.certPem, key: cert.keyPem }),
        rejectUnauthorized: true,
      },
    });
    t.teardown(() => agent.close());
    return async (path: string, method: 'GET' | 'POST' = 'GET') => {
      const answer = await request(`${base}${path}`, { dispatcher: agent, method });
      return {
        status: answer.statusCode,
        body: await answer.body.json(),
        headers: answer.headers,
      };
    };
  };

  const asOperator = client(operator);
  const answer = await asOperator('/v1/status');
  t.is(answer.status, 200);
  t.deepEqual(answer.body, { id: 'vip-1', state: 'active', calls: 1 });
  t.like(answer.headers, { 'content-type': 'application/json; charset=utf-8' });
  t.like(await asOperator('/healthz'), { status: 200, body: { ok: true } });
  t.like(await asOperator('/v1/status', 'POST'), {
    status: 405,
    body: { error: { code: 'invalid' } },
    headers: { allow: 'GET' },
  });
  t.like(await asOperator('/v1/nothing'), { status: 404, body: { error: { code: 'not_found' } } });

  // The agent's own certificate is of the same CA, but no operator's.
  t.like(await client(server)('/v1/status'), {
    status: 403,
    body: {
      error: {
        code: 'forbidden',
        message:
          "the vip-agent role may not read the VIP agent's status: only the operator certificate may",
      },
    },
  });
  await t.throwsAsync(client()('/v1/status'), undefined, 'no client certificate');
  await t.throwsAsync(client(stranger)('/v1/status'), undefined, 'a certificate from another CA');
  t.is(calls, 1);
});

test('close() is idempotent and frees the port', async (t) => {
  const { ca, server } = await setUp();
  const port = ports.take();
  const tls = { ca: ca.certPem, cert: server.certPem, key: server.keyPem };
  const first = await StatusServer.start({
    listen: { host: '127.0.0.1', port },
    tls,
    status: () => ({}),
  });
  await Promise.all([first.close(), first.close()]);
  const second = await StatusServer.start({
    listen: { host: '127.0.0.1', port },
    tls,
    status: () => ({}),
  });
  t.is(second.address().port, port);
  await second.close();
});
