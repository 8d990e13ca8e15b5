/**
 * The signing key pair on disk: created once with a private file only its owner reads,
 * kept across restarts, and refused when others could read it.
 */
import test from 'ava';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigningKeyError } from './keys.js';
import { readTokenPublicKey } from './public-keys.js';
import { TokenVerifier } from './token-verifier.js';
import { ensureSigningKeyFiles, loadSigningKey } from './keys.js';
import { TokenIssuer } from './tokens.js';

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agenda-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a new key pair is written with a private key only its owner can read, and kept afterwards', async (t) => {
  const dir = await scratch(t);
  const files = await ensureSigningKeyFiles(path.join(dir, 'keys'));
  t.is((await stat(files.privateKeyPath)).mode & 0o777, 0o600);
  const privatePem = await readFile(files.privateKeyPath, 'utf8');
  t.regex(privatePem, /^-----BEGIN PRIVATE KEY-----/);
  t.regex(await readFile(files.publicKeyPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);

  t.deepEqual(await ensureSigningKeyFiles(path.join(dir, 'keys')), files);
  t.is(await readFile(files.privateKeyPath, 'utf8'), privatePem);
});

test('tokens signed with the loaded private key verify with the loaded public key', async (t) => {
  const files = await ensureSigningKeyFiles(await scratch(t));
  const issuer = new TokenIssuer(await loadSigningKey(files.privateKeyPath));
  const { token } = await issuer.session('alice', 0);
  const verifier = new TokenVerifier({ publicKey: await readTokenPublicKey(files.publicKeyPath) });
  t.is((await verifier.verify(token, 'session')).actor, 'alice');
});

test('a refresh token signed with the key as loaded from its file is checked (the loaded key cannot be exported)', async (t) => {
  // Found by an outside attack: every refresh answered 500 in a real deployment, where the
  // key comes from its PEM file unexportable, while tests signed with generated keys.
  const files = await ensureSigningKeyFiles(await scratch(t));
  const issuer = new TokenIssuer(await loadSigningKey(files.privateKeyPath));
  const { token } = await issuer.refresh('alice', 0, 'sid-1', 3, Date.now() + 60_000);
  const verified = await issuer.verifyRefresh(token);
  t.is(verified.actor, 'alice');
  t.is(verified.session.sid, 'sid-1');
  t.is(verified.refreshSeq, 3);
});

test('a private key others can read, a missing file or a file that is no key is refused', async (t) => {
  const dir = await scratch(t);
  const files = await ensureSigningKeyFiles(dir);
  await chmod(files.privateKeyPath, 0o644);
  const exposed = await t.throwsAsync(loadSigningKey(files.privateKeyPath), {
    instanceOf: SigningKeyError,
  });
  t.is(exposed?.code, 'exposed_key');

  const missing = await t.throwsAsync(loadSigningKey(path.join(dir, 'nope.pem')), {
    instanceOf: SigningKeyError,
  });
  t.is(missing?.code, 'unreadable_key');

  const garbage = path.join(dir, 'garbage.pem');
  await writeFile(garbage, 'not a key', { mode: 0o600 });
  t.is(
    (await t.throwsAsync(loadSigningKey(garbage), { instanceOf: SigningKeyError }))?.code,
    'unreadable_key',
  );
  await t.throwsAsync(readTokenPublicKey(garbage), { instanceOf: SigningKeyError });
});
