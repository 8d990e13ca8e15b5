/**
 * What a service acts on, from a bus request: the actor comes from the token that travels
 * with it, verified again here, so whoever can write to the bus (a stolen daemon certificate,
 * Redis reached some other way) cannot act as a user by naming them in the envelope.
 */
import test from 'ava';
import type { AgendaError } from '../../contract/errors.js';
import type { BusRequest } from '../bus/protocol.js';
import { createSigningKeyPair } from '../users/keys.js';
import { importTokenPublicKey } from '../users/public-keys.js';
import { TokenVerifier } from '../users/token-verifier.js';
import { TokenIssuer } from '../users/tokens.js';
import { serviceRequestFrom } from './service-handler.js';

async function keys() {
  const pair = await createSigningKeyPair();
  return {
    issuer: new TokenIssuer(pair.privateKey),
    verifier: new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) }),
  };
}

const envelope = (fields: Partial<BusRequest>): BusRequest => ({
  v: 1,
  id: 'r1',
  service: 'users',
  replyTo: 'gw-1',
  deadline: Date.now() + 10_000,
  actor: null,
  op: { type: 'account.me' },
  ...fields,
});

test('the actor and the session come from the verified token', async (t) => {
  const { issuer, verifier } = await keys();
  const { token, sid } = await issuer.session('alice', 3);
  const request = await serviceRequestFrom(
    envelope({ actor: 'alice', credential: { kind: 'session', token } }),
    verifier,
  );
  t.is(request.actor, 'alice');
  t.deepEqual(request.session, { generation: 3, sid });
});

test('naming a user without their token, or with another user’s, acts as nobody', async (t) => {
  const { issuer, verifier } = await keys();
  const bob = await issuer.session('bob', 0);
  const refused = async (fields: Partial<BusRequest>) =>
    (await t.throwsAsync<AgendaError>(serviceRequestFrom(envelope(fields), verifier)))?.code;
  t.is(await refused({ actor: 'alice' }), 'unauthenticated');
  t.is(
    await refused({ actor: 'alice', credential: { kind: 'session', token: bob.token } }),
    'unauthenticated',
  );
  const forger = await keys();
  const forged = await forger.issuer.session('alice', 0);
  t.is(
    await refused({ actor: 'alice', credential: { kind: 'session', token: forged.token } }),
    'unauthenticated',
  );
  t.is(
    await refused({ actor: 'bob', credential: { kind: 'feed', token: bob.token } }),
    'unauthenticated',
    'a session token is not a feed token',
  );
});

test('anonymous requests (register, login) carry no token and act as nobody', async (t) => {
  const { verifier } = await keys();
  const request = await serviceRequestFrom(envelope({}), verifier);
  t.is(request.actor, null);
  t.is(request.session, undefined);
});
