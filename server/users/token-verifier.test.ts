import test from 'ava';
import { SignJWT } from 'jose';
import type { Unauthenticated } from '../../contract/errors.js';
import { createSigningKeyPair } from './keys.js';
import { SESSION_AUDIENCE, TOKEN_ISSUER, TokenIssuer } from './tokens.js';
import { importTokenPublicKey } from './public-keys.js';
import { TokenVerifier } from './token-verifier.js';

test('a token verified once is remembered, yet refused as soon as it expires', async (t) => {
  const pair = await createSigningKeyPair();
  let now = Date.now();
  const issuer = new TokenIssuer(pair.privateKey, { accessTtlMs: 60_000, clock: () => now });
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

test('an expired access token says so in a code clients renew on; a refresh token expires for good', async (t) => {
  const pair = await createSigningKeyPair();
  let now = Date.now();
  const issuer = new TokenIssuer(pair.privateKey, { clock: () => now });
  const verifier = new TokenVerifier({
    publicKey: await importTokenPublicKey(pair.publicKeyPem),
    clockToleranceSec: 0,
    now: () => now,
  });
  const access = await issuer.access('alice', 0, 'sid-1');
  const refresh = await issuer.refresh('alice', 0, 'sid-1', 3, now + 3_600_000);
  t.like(await verifier.verify(refresh.token, 'refresh'), {
    actor: 'alice',
    session: { generation: 0, sid: 'sid-1' },
    refreshSeq: 3,
  });
  now += 16 * 60_000;
  const expired = await t.throwsAsync<Unauthenticated>(verifier.verify(access.token, 'session'));
  t.is(expired?.reason, 'token_expired');
  t.deepEqual(expired?.toWire().details, { reason: 'token_expired' });
  now += 3_600_000;
  const over = await t.throwsAsync<Unauthenticated>(verifier.verify(refresh.token, 'refresh'));
  t.regex(over?.message ?? '', /session has expired/);
  t.is(over?.reason, undefined, 'renewing cannot help: log in');
});

test('access and refresh tokens are accepted only where they belong', async (t) => {
  const pair = await createSigningKeyPair();
  const issuer = new TokenIssuer(pair.privateKey);
  const verifier = new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) });
  const access = await issuer.access('alice', 0, 'sid-1');
  const refresh = await issuer.refresh('alice', 0, 'sid-1', 0, Date.now() + 86_400_000);
  t.regex(
    (await t.throwsAsync(verifier.verify(refresh.token, 'session')))?.message ?? '',
    /refresh token only renews the session/,
  );
  t.regex(
    (await t.throwsAsync(verifier.verify(access.token, 'refresh')))?.message ?? '',
    /access token cannot renew/,
  );
  await t.throwsAsync(verifier.verify(refresh.token, 'feed'));
  // The issuer checks its own refresh tokens, and nothing else.
  t.is((await issuer.verifyRefresh(refresh.token)).refreshSeq, 0);
  await t.throwsAsync(issuer.verifyRefresh(access.token));
});

test('an access token that lives longer than an hour is refused, whoever signed it', async (t) => {
  const pair = await createSigningKeyPair();
  const verifier = new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) });
  // As the 12-hour session tokens of before were made.
  const now = Math.floor(Date.now() / 1000);
  const long = await new SignJWT({ sid: 'sid-1', gen: 0 })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('alice')
    .setIssuer(TOKEN_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 12 * 3600)
    .setJti('j')
    .sign(pair.privateKey);
  t.regex(
    (await t.throwsAsync(verifier.verify(long, 'session')))?.message ?? '',
    /predates short-lived access tokens/,
  );
  t.throws(() => new TokenIssuer(pair.privateKey, { accessTtlMs: 2 * 3_600_000 }), {
    instanceOf: RangeError,
  });
});
