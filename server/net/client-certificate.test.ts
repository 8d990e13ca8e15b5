/**
 * A TLS client that asks for a role (`serverWithRole`) talks only to a server whose cluster
 * certificate names it: another daemon's genuine certificate at the right address is refused
 * with the role it names. Ports 30460–30461 on loopback.
 */
import test from 'ava';
import { once } from 'node:events';
import { connect, createServer } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { ClusterRole } from '../../base/pki.js';
import { mutualTlsServerOptions } from '../../base/tls.js';
import { serverWithRole } from './client-certificate.js';

async function handshake(serverRole: ClusterRole, port: number): Promise<Error | null> {
  const ca = await createCertificateAuthority();
  const issue = (name: string, role: ClusterRole) =>
    issueCertificate(ca, { name, ipAddresses: ['127.0.0.1'], usages: 'both', role });
  const server = await issue('server', serverRole);
  const client = await issue('gateway-1', 'gateway');
  const listener = createServer(
    mutualTlsServerOptions({ ca: ca.certPem, cert: server.certPem, key: server.keyPem }),
    (socket) => socket.end(),
  );
  listener.listen(port, '127.0.0.1');
  await once(listener, 'listening');
  try {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      checkServerIdentity: serverWithRole('redis'),
    });
    return await new Promise<Error | null>((resolve) => {
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(null);
      });
      socket.once('error', resolve);
    });
  } finally {
    listener.close();
  }
}

test('a server is accepted only with a certificate naming the role asked for', async (t) => {
  t.is(await handshake('redis', 30_460), null);
  const refused = await handshake('users', 30_461);
  t.regex(refused?.message ?? '', /holds a certificate for the users role, not the redis role/);
});
