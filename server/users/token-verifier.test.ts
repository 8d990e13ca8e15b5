import test from 'ava';
import { createSigningKeyPair } from './keys.js';
import { TokenIssuer } from './tokens.js';
import { importTokenPublicKey } from './public-keys.js';
import { TokenVerifier } from './token-verifier.js';

test('a token verified once is remembered, yet refused as soon as it expires', async (t) => {
  const pair = await createSigningKeyPair();
  let now = Date.now();
  const issuer = new TokenIssuer(pair.privateKey, { sessionTtlMs: 60_000, clock: () => now });
  const verifier = new TokenVerifier({
    publicKey: await importTokenPublicKey(pair.publicKeyPem),
    clockToleranceSec: 0,
    now: () => now,
  });
  const { token } = await issuer.session('alice', 0);
  t.is((await verifier.verify(token, 'session')).actor, 'alice');
  t.is((await verifier.verify(token, 'session')).actor, 'alice', 'the remembered answer');
  now += 61_000;
  const err = await t.throwsAsync(verifier.verify(token, 'session'));
  t.regex(err?.message ?? '', /expired/);
});

test('a remembered session token still does not open a feed', async (t) => {
  const pair = await createSigningKeyPair();
  const verifier = new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) });
  const { token } = await new TokenIssuer(pair.privateKey).session('alice', 0);
  await verifier.verify(token, 'session');
  await t.throwsAsync(verifier.verify(token, 'feed'));
});
