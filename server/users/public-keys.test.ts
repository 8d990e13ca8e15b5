import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createSigningKeyPair, SigningKeyError, TOKEN_ALGORITHM } from './keys.js';
import { TokenIssuer } from './tokens.js';
import { importTokenPublicKey, readTokenPublicKey } from './public-keys.js';
import { TokenVerifier } from './token-verifier.js';

test('a PEM public key from the users service verifies its tokens', async (t) => {
  const pair = await createSigningKeyPair();
  const verifier = new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) });
  const { token } = await new TokenIssuer(pair.privateKey).session('alice', 0);
  t.like(await verifier.verify(token, 'session'), { actor: 'alice' });
});

test('a JWK public key works as well', async (t) => {
  const pair = await createSigningKeyPair();
  const jwk = JSON.stringify({ ...(await exportJWK(pair.publicKey)), alg: TOKEN_ALGORITHM });
  const verifier = new TokenVerifier({ publicKey: await importTokenPublicKey(jwk) });
  const { token } = await new TokenIssuer(pair.privateKey).feed(
    'alice',
    0,
    'feed1',
    Date.now() + 86_400_000,
  );
  t.like(await verifier.verify(token, 'feed'), { actor: 'alice' });
});

test('private keys are refused, in PEM or JWK form', async (t) => {
  const pair = await createSigningKeyPair();
  const pem = await t.throwsAsync(importTokenPublicKey(pair.privateKeyPem), {
    instanceOf: SigningKeyError,
  });
  t.is(pem?.code, 'exposed_key');
  const jwk = JSON.stringify(await exportJWK(pair.privateKey));
  const fromJwk = await t.throwsAsync(importTokenPublicKey(jwk), { instanceOf: SigningKeyError });
  t.is(fromJwk?.code, 'exposed_key');
});

test('keys of another kind, and garbage, are refused with a reason', async (t) => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const rsaJwk = JSON.stringify(await exportJWK(rsa.publicKey));
  for (const text of [
    rsaJwk,
    '{"kty":"oct","k":"c2VjcmV0"}',
    '[1,2]',
    'not a key',
    '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
  ]) {
    const error = await t.throwsAsync(importTokenPublicKey(text), { instanceOf: SigningKeyError });
    t.is(error?.code, 'unreadable_key', text);
    t.true((error?.message.length ?? 0) > 0);
  }
});

test('readTokenPublicKey reads a file, and says which one it could not read', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agenda-gateway-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pair = await createSigningKeyPair();
  const file = path.join(dir, 'users-signing.pem');
  await writeFile(file, pair.publicKeyPem);
  const key = await readTokenPublicKey(file);
  const token = await new SignJWT({ jti: 'j', sid: 's', gen: 0 })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM })
    .setSubject('bob')
    .setIssuer('agenda-users')
    .setAudience('agenda')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(pair.privateKey);
  t.like(await new TokenVerifier({ publicKey: key }).verify(token, 'session'), { actor: 'bob' });
  const missing = path.join(dir, 'nope.pem');
  const error = await t.throwsAsync(readTokenPublicKey(missing), { instanceOf: SigningKeyError });
  t.true(error?.message.includes(missing));
});
