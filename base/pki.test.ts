import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import {
  PkiError,
  certificateRole,
  createCertificateAuthority,
  ensureCertificate,
  ensureCertificateAuthority,
  issueCertificate,
  loadCertificateAuthority,
} from './pki.js';
import type { CertificateAuthority, IssuedCertificate } from './pki.js';

/** This file's ports: 21100–21199. */
const BASE_PORT = 21100;

async function temporaryDirectory(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agenda-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fileMode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

interface HandshakeOutcome {
  /** Common name the server authenticated, or null if it never accepted the client. */
  readonly serverSawClient: string | null;
  /** What the client read before the connection closed. */
  readonly clientReceived: string;
}

/**
 * A real handshake on 127.0.0.1: the server requires a client certificate from `trustedCa`
 * and greets the client with the common name it authenticated.
 */
async function handshake(
  port: number,
  trustedCa: CertificateAuthority,
  server: IssuedCertificate,
  client: IssuedCertificate,
): Promise<HandshakeOutcome> {
  let serverSawClient: string | null = null;
  const tlsServer = tls.createServer(
    {
      ca: trustedCa.certPem,
      cert: server.certPem,
      key: server.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket: TLSSocket) => {
      serverSawClient = String(socket.getPeerCertificate().subject.CN);
      socket.end(`hello ${serverSawClient}`);
    },
  );
  tlsServer.on('tlsClientError', () => undefined);
  tlsServer.listen(port, '127.0.0.1');
  await once(tlsServer, 'listening');
  try {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: trustedCa.certPem,
      cert: client.certPem,
      key: client.keyPem,
      minVersion: 'TLSv1.3',
    });
    let clientReceived = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (clientReceived += chunk));
    socket.on('error', () => undefined);
    await once(socket, 'close');
    return { serverSawClient, clientReceived };
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

test('the CA is created once under its directory and loaded afterwards', async (t) => {
  const dir = await temporaryDirectory(t);
  const created = await ensureCertificateAuthority(dir);
  const loaded = await ensureCertificateAuthority(dir);

  t.is(loaded.certPem, created.certPem);
  t.is(await readFile(path.join(dir, 'ca.pem'), 'utf8'), created.certPem);
  t.is(await fileMode(path.join(dir, 'ca-key.pem')), 0o600);
  const parsed = new X509Certificate(created.certPem);
  t.true(parsed.ca);
  t.is(parsed.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const validYears =
    (created.certificate.notAfter.getTime() - created.certificate.notBefore.getTime()) /
    (365 * 24 * 3600 * 1000);
  t.true(validYears > 9.9 && validYears < 10.1);
});

test('a loaded CA still signs certificates its certificate verifies', async (t) => {
  const dir = await temporaryDirectory(t);
  await ensureCertificateAuthority(dir);
  const loaded = await ensureCertificateAuthority(dir);
  const server = await issueCertificate(loaded, {
    name: 'db-1',
    ipAddresses: ['127.0.0.1'],
    usages: 'both',
  });
  const outcome = await handshake(BASE_PORT, loaded, server, server);
  t.is(outcome.serverSawClient, 'db-1');
});

test('a CA whose key does not match its certificate is refused', async (t) => {
  const one = await createCertificateAuthority();
  const other = await createCertificateAuthority();
  const error = await t.throwsAsync(loadCertificateAuthority(one.certPem, other.keyPem), {
    instanceOf: PkiError,
  });
  t.is(error?.code, 'invalid_authority');
});

test('issued certificates authenticate a TLS server and a TLS client', async (t) => {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'db-1',
    dnsNames: ['db-1.lab'],
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
    days: 30,
  });
  const client = await issueCertificate(ca, { name: 'users-service', usages: 'client' });

  const outcome = await handshake(BASE_PORT + 1, ca, server, client);

  t.is(outcome.serverSawClient, 'users-service');
  t.is(outcome.clientReceived, 'hello users-service');
});

test('a client certificate from another CA is refused', async (t) => {
  const ca = await createCertificateAuthority();
  const otherCa = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'db-1',
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
  });
  const intruder = await issueCertificate(otherCa, { name: 'intruder', usages: 'client' });

  const outcome = await handshake(BASE_PORT + 2, ca, server, intruder);

  t.is(outcome.serverSawClient, null);
  t.is(outcome.clientReceived, '');
});

test('a server-only certificate cannot authenticate a client', async (t) => {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'db-1',
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
  });

  const outcome = await handshake(BASE_PORT + 3, ca, server, server);

  t.is(outcome.serverSawClient, null);
});

test('ensureCertificate writes a certificate once and reuses it', async (t) => {
  const dir = await temporaryDirectory(t);
  const ca = await ensureCertificateAuthority(dir);
  const options = { ca, ipAddresses: ['127.0.0.1'], usages: 'both' as const };

  const first = await ensureCertificate(dir, 'member-1', options);
  const second = await ensureCertificate(dir, 'member-1', options);

  t.deepEqual(second, first);
  t.is(await readFile(path.join(dir, 'member-1.pem'), 'utf8'), first.certPem);
  t.is(await fileMode(path.join(dir, 'member-1-key.pem')), 0o600);
});

test('ensureCertificate replaces a certificate that its CA did not sign', async (t) => {
  const dir = await temporaryDirectory(t);
  const oldCa = await createCertificateAuthority();
  const stale = await ensureCertificate(dir, 'member-1', { ca: oldCa, usages: 'both' });
  const ca = await ensureCertificateAuthority(dir);

  const fresh = await ensureCertificate(dir, 'member-1', { ca, usages: 'both' });

  t.not(fresh.certPem, stale.certPem);
  const outcome = await handshake(
    BASE_PORT + 4,
    ca,
    await issueCertificate(ca, { name: 'server', ipAddresses: ['127.0.0.1'], usages: 'server' }),
    fresh,
  );
  t.is(outcome.serverSawClient, 'member-1');
});

test('ensureCertificate replaces an unreadable certificate file', async (t) => {
  const dir = await temporaryDirectory(t);
  const ca = await ensureCertificateAuthority(dir);
  await writeFile(path.join(dir, 'member-2.pem'), 'not a certificate');
  await writeFile(path.join(dir, 'member-2-key.pem'), 'not a key');

  const issued = await ensureCertificate(dir, 'member-2', { ca, usages: 'client' });

  t.true(issued.certPem.startsWith('-----BEGIN CERTIFICATE-----'));
});

test('certificate names that are not plain file names are refused', async (t) => {
  const dir = await temporaryDirectory(t);
  const ca = await ensureCertificateAuthority(dir);
  for (const name of ['../escape', 'ca', '.hidden', 'a/b', '']) {
    const error = await t.throwsAsync(ensureCertificate(dir, name, { ca, usages: 'client' }), {
      instanceOf: PkiError,
    });
    t.is(error?.code, 'invalid_certificate_name', name);
  }
});

test('a certificate names its role as a URI SAN, readable from the certificate alone', async (t) => {
  const ca = await createCertificateAuthority();
  const issued = await issueCertificate(ca, {
    name: 'gateway-2',
    ipAddresses: ['127.0.0.1'],
    usages: 'both',
    role: 'gateway',
  });

  t.is(certificateRole(issued.certPem), 'gateway');
  t.is(certificateRole(new X509Certificate(issued.certPem).raw), 'gateway');
  t.regex(new X509Certificate(issued.certPem).subjectAltName ?? '', /URI:urn:agenda:role:gateway/);
  // The common name stays the instance's.
  t.regex(new X509Certificate(issued.certPem).subject, /CN=gateway-2/);
});

test('a certificate without a role names none', async (t) => {
  const ca = await createCertificateAuthority();
  const issued = await issueCertificate(ca, { name: 'svc', usages: 'client' });

  t.is(certificateRole(issued.certPem), null);
  t.is(certificateRole('not a certificate'), null);
});

test('ensureCertificate replaces a stored certificate that lacks the role asked for', async (t) => {
  const dir = await temporaryDirectory(t);
  const ca = await ensureCertificateAuthority(dir);
  const before = await ensureCertificate(dir, 'users-1', { ca, usages: 'both' });

  const after = await ensureCertificate(dir, 'users-1', { ca, usages: 'both', role: 'users' });
  const again = await ensureCertificate(dir, 'users-1', { ca, usages: 'both', role: 'users' });

  t.not(after.certPem, before.certPem);
  t.is(certificateRole(after.certPem), 'users');
  t.deepEqual(again, after);
});
