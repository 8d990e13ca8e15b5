/**
 * The operator's membership client, when no DB member can answer: the error names every
 * member and why, not only the last one tried.
 */
import test from 'ava';
import { createCertificateAuthority, issueCertificate } from '../base/pki.js';
import { MembershipClient } from './membership-client.js';

test('when no member answers, the error says why for each of them', async (t) => {
  const ca = await createCertificateAuthority();
  const cert = await issueCertificate(ca, {
    name: 'operator',
    ipAddresses: ['127.0.0.1'],
    usages: 'client',
    days: 1,
  });
  // Nothing listens on these ports: each connection is refused at once.
  const client = new MembershipClient({
    members: new Map([
      [1, { host: '127.0.0.1', port: 28_961 }],
      [2, { host: '127.0.0.1', port: 28_962 }],
    ]),
    tls: { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
    timeoutMs: 2_000,
  });
  try {
    const error = await t.throwsAsync(client.list());
    t.is((error as { code?: string }).code, 'unavailable');
    t.regex(error?.message ?? '', /^no DB member could answer: /);
    t.regex(error?.message ?? '', /db-1 did not answer \(.*ECONNREFUSED.*\)/);
    t.regex(error?.message ?? '', /db-2 did not answer \(.*ECONNREFUSED.*\)/);
  } finally {
    await client.close();
  }
});
