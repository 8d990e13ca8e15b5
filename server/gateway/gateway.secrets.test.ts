/**
 * Secrets never reach what the gateway derives or logs: a password is not hashed into the
 * id its request travels under on the bus (which the gateway and the services log, and the
 * store keeps), and appears in no log line.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { Unauthenticated } from '../../contract/errors.js';
import { portsFrom, startTestGateway, type TestGateway } from './test-support.js';

/** This file's ports: 30370–30389. */
const nextPort = portsFrom(30370, 20);

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A gateway that logs every request as slow, recording every line it writes. */
async function loggingGateway(
  t: Parameters<typeof startTestGateway>[0],
): Promise<{ g: TestGateway; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const record =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, message, fields });
  const g = await startTestGateway(t, nextPort(), {
    slowRequestMs: 0,
    logger: { info: record('info'), warn: record('warn') },
  });
  return { g, lines };
}

/** Every spelling of `password` a careless id or log line could carry: itself and its digests. */
function tracesOf(password: string): string[] {
  const digests = ['sha256', 'sha1', 'md5'].flatMap((algorithm) =>
    (['hex', 'base64', 'base64url'] as const).map((encoding) =>
      createHash(algorithm).update(password).digest(encoding),
    ),
  );
  return [password, ...digests];
}

function busIdOfLastCall(g: TestGateway): string {
  return g.dispatcher.calls.at(-1)!.options.requestId;
}

test('a register travels under the same bus id whatever its password: the id is not derived from it', async (t) => {
  const { g, lines } = await loggingGateway(t);
  g.dispatcher.respond = () => ({ user: { username: 'alice', name: 'alice' } });
  const register = (password: string) =>
    g.call('/v1/users', {
      body: { username: 'alice', password },
      headers: { 'idempotency-key': 'register-alice' },
    });
  t.is((await register('first secret passphrase')).status, 201);
  const first = busIdOfLastCall(g);
  t.is((await register('another secret passphrase')).status, 201);
  t.is(busIdOfLastCall(g), first);
  // The retry idempotency rests on is kept: the op still scopes an anonymous key.
  await g.call('/v1/users', {
    body: { username: 'bob', password: 'first secret passphrase' },
    headers: { 'idempotency-key': 'register-alice' },
  });
  t.not(busIdOfLastCall(g), first);
  const logged = JSON.stringify(lines);
  t.true(logged.includes(first), 'the slow-request line names the bus id');
  for (const password of ['first secret passphrase', 'another secret passphrase']) {
    for (const trace of tracesOf(password)) t.false(logged.includes(trace));
  }
});

test('a login travels under a fresh bus id each time, so neither its password nor a stranger sharing its key can reach it', async (t) => {
  const { g, lines } = await loggingGateway(t);
  const password = 'correct horse battery staple';
  g.dispatcher.respond = ({ op }) => {
    if (op.type === 'account.login' && op.password === password) {
      return {
        token: 'session',
        expiresAt: '2030-01-01T00:00:00.000Z',
        user: { username: 'alice', name: 'alice' },
      };
    }
    throw new Unauthenticated('wrong username or password');
  };
  const login = (secret: string) =>
    g.call('/v1/sessions', {
      body: { username: 'alice', password: secret },
      headers: { 'idempotency-key': 'login-alice' },
    });
  t.is((await login(password)).status, 200);
  const first = busIdOfLastCall(g);
  t.is((await login(password)).status, 200);
  const second = busIdOfLastCall(g);
  t.is((await login('a wrong guess at it')).status, 401);
  const wrong = busIdOfLastCall(g);
  t.is(new Set([first, second, wrong]).size, 3);
  const logged = JSON.stringify(lines);
  t.true(lines.some((line) => line.message === 'slow request'));
  for (const secret of [password, 'a wrong guess at it']) {
    for (const trace of tracesOf(secret)) t.false(logged.includes(trace));
  }
});
