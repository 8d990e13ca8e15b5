import test from 'ava';
import type { ExecutionContext } from 'ava';
import { base64url, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { connect } from 'node:tls';
import { FEED_AUDIENCE, SESSION_AUDIENCE, TOKEN_ISSUER } from '../users/tokens.js';
import { portsFrom, startTestGateway, type TestGateway } from './test-support.js';

/** This file's ports: 29600–29699. */
const nextPort = portsFrom(29600);

const json = (value: unknown): string => base64url.encode(JSON.stringify(value));
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const inSeconds = (s: number): number => Math.floor(Date.now() / 1000) + s;

/** Asserts a 401 whose reason matches, and that nothing reached a service. */
async function refused(
  t: ExecutionContext,
  g: TestGateway,
  path: string,
  headers: Record<string, string>,
  reason: RegExp,
): Promise<void> {
  const dispatched = g.dispatcher.calls.length;
  const answer = await g.call(path, { headers });
  t.is(answer.status, 401, answer.text);
  t.like(answer.json, { error: { code: 'unauthenticated' } });
  t.regex((answer.json as { error: { message: string } }).error.message, reason);
  t.regex(String(answer.headers['www-authenticate']), /^Bearer error="invalid_token"/);
  t.is(g.dispatcher.calls.length, dispatched);
}

test('a session token from the users service makes its subject the actor', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const answer = await g.call('/v1/me', { token: await g.token('alice') });
  t.is(answer.status, 200);
  t.is(g.dispatcher.only().actor, 'alice');
});

test('no token, or not a bearer token, is refused', async (t) => {
  const g = await startTestGateway(t, nextPort());
  await refused(t, g, '/v1/me', {}, /needs "authorization: Bearer <token>"/);
  await refused(t, g, '/v1/me', { authorization: 'Basic YWxpY2U6cHc=' }, /must be "Bearer/);
  await refused(t, g, '/v1/me', { authorization: 'Bearer' }, /must be "Bearer/);
  await refused(t, g, '/v1/me', bearer('not-a-jwt'), /malformed/);
  await refused(t, g, '/v1/me', bearer('a.b.c'), /malformed/);
  await refused(t, g, '/v1/me', bearer(`${'x'.repeat(5000)}.y.z`), /malformed/);
});

test('an expired access token is refused, saying so in a code a client renews it on', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.craftedToken({ iat: inSeconds(-7200), exp: inSeconds(-3600) });
  await refused(t, g, '/v1/me', bearer(token), /expired/);
  const answer = await g.call('/v1/me', { token });
  t.like(answer.json, { error: { details: { reason: 'token_expired' } } });
  // Any other refusal is no reason to renew.
  const foreign = await g.call('/v1/me', { token: 'a.b.c' });
  t.is(
    (foreign.json as { error: { details?: { reason?: string } } }).error.details?.reason,
    undefined,
  );
});

test('a refresh token is refused as an access token, on the API and the live stream', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.refreshToken('alice');
  await refused(t, g, '/v1/me', bearer(token), /refresh token only renews the session/);
  await refused(t, g, '/v1/stream', bearer(token), /refresh token only renews the session/);
});

test('an access token that lives longer than an hour is refused: its holder logs in again', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.craftedToken({ iat: inSeconds(0), exp: inSeconds(12 * 3600) });
  await refused(t, g, '/v1/me', bearer(token), /predates short-lived access tokens/);
});

test('expiry is judged by the injected clock, with 30 s of tolerance', async (t) => {
  let now = Date.now();
  const g = await startTestGateway(t, nextPort(), { tokenNow: () => now });
  const token = await g.craftedToken({ exp: inSeconds(3600) });
  now += 3600_000 + 20_000;
  t.is((await g.call('/v1/me', { token })).status, 200);
  now += 20_000;
  await refused(t, g, '/v1/me', bearer(token), /expired/);
});

test('a token whose claims were changed after signing is refused', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const [header, payload, signature] = (await g.token('mallory')).split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as object;
  const forged = `${header}.${json({ ...claims, sub: 'alice' })}.${signature}`;
  await refused(t, g, '/v1/me', bearer(forged), /signature is not valid/);
});

test('a token signed with another key is refused', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const { privateKey } = await generateKeyPair('ES256');
  const token = await new SignJWT({ jti: 'j1' })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('alice')
    .setIssuer(TOKEN_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  await refused(t, g, '/v1/me', bearer(token), /signature is not valid/);
});

test('alg none and other algorithms are refused', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const claims = {
    sub: 'alice',
    iss: TOKEN_ISSUER,
    aud: SESSION_AUDIENCE,
    iat: inSeconds(0),
    exp: inSeconds(3600),
    jti: 'j1',
  };
  const unsigned = `${json({ alg: 'none', typ: 'JWT' })}.${json(claims)}.`;
  await refused(t, g, '/v1/me', bearer(unsigned), /unsigned/);
  // An HMAC token keyed with something public: the classic algorithm-confusion forgery.
  const hmac = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('the public key, as a shared secret!'));
  await refused(t, g, '/v1/me', bearer(hmac), /must be signed with ES256/);
  const noneWithSignature = `${json({ alg: 'none' })}.${json(claims)}.c2ln`;
  await refused(t, g, '/v1/me', bearer(noneWithSignature), /must be signed with ES256/);
});

test('wrong issuer or audience, missing claims, or a scope on a session token are refused', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const crafted = async (claims: JWTPayload) => bearer(await g.craftedToken(claims));
  await refused(t, g, '/v1/me', await crafted({ iss: 'evil' }), /not issued by Agenda/);
  await refused(t, g, '/v1/me', await crafted({ aud: 'other' }), /not meant for the API/);
  await refused(t, g, '/v1/me', await crafted({ sub: undefined }), /"sub" claim is missing/);
  await refused(t, g, '/v1/me', await crafted({ jti: undefined }), /"jti" claim is missing/);
  await refused(t, g, '/v1/me', await crafted({ exp: undefined }), /"exp" claim is missing/);
  await refused(t, g, '/v1/me', await crafted({ sub: 'a b' }), /does not name a user/);
  await refused(t, g, '/v1/me', await crafted({ scope: 'admin' }), /wrong scope for the API/);
});

test('a feed token opens its feed only, and a session token does not open feeds', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', next: null });
  const feedToken = await g.feedToken('alice');
  await refused(t, g, '/v1/me', bearer(feedToken), /feed token only opens its feed/);
  await refused(t, g, '/v1/stream', bearer(feedToken), /feed token only opens its feed/);
  const session = await g.token('alice');
  await refused(t, g, `/v1/feeds/${session}/calendar.ics`, {}, /needs its feed token/);
  await refused(t, g, '/v1/feeds/garbage/calendar.ics', {}, /malformed/);
  const unscoped = await g.craftedToken({ aud: FEED_AUDIENCE });
  await refused(t, g, `/v1/feeds/${unscoped}/calendar.ics`, {}, /wrong scope for a calendar feed/);
  const opened = await g.call(`/v1/feeds/${feedToken}/calendar.ics`);
  t.is(opened.status, 200);
  t.is(g.dispatcher.only().actor, 'alice');
});

test('register, login and the health probes need no token', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const credentials = { username: 'bob', password: 'pw123456' };
  t.is((await g.call('/v1/users', { body: credentials })).status, 201);
  t.is((await g.call('/v1/sessions', { body: credentials })).status, 200);
  t.is((await g.call('/healthz')).status, 200);
  t.is((await g.call('/readyz')).status, 200);
});

/** GET /metrics over a raw TLS connection, resuming `session` if given; no client certificate. */
function rawMetrics(
  port: number,
  session?: Buffer,
): Promise<{ statusLine: string; reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let text = '';
    const socket = connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, session },
      () => socket.write('GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n'),
    );
    socket.on('session', (value: Buffer) => (ticket = value));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () =>
      resolve({
        statusLine: text.split('\r\n')[0] ?? '',
        reused: socket.isSessionReused(),
        session: ticket,
      }),
    );
    socket.on('error', reject);
  });
}

test('/metrics stays closed to a client that resumes its own TLS session without a certificate', async (t) => {
  const port = nextPort();
  await startTestGateway(t, port);
  const first = await rawMetrics(port);
  t.regex(first.statusLine, / 401 /);
  t.truthy(first.session, 'the server issued no session ticket: the test proves nothing');
  const resumed = await rawMetrics(port, first.session);
  t.true(resumed.reused, 'the session was not resumed: the test proves nothing');
  t.regex(resumed.statusLine, / 401 /);
});

test('/metrics is for operators: a client certificate from the cluster CA, not a user token', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const anonymous = await g.call('/metrics');
  t.is(anonymous.status, 401);
  t.like(anonymous.json, { error: { code: 'unauthenticated' } });
  t.regex(anonymous.text, /client certificate from the cluster CA/);
  t.is((await g.call('/metrics', { token: await g.token('alice') })).status, 401);
  const operator = await g.call('/metrics', { asOperator: true });
  t.is(operator.status, 200);
  t.regex(operator.text, /agenda_gateway_/);
  // Any daemon holds a certificate of the cluster CA: only the operator role reads metrics.
  const daemon = await g.call('/metrics', { asDaemon: true });
  t.is(daemon.status, 403);
  t.like(daemon.json, {
    error: {
      code: 'forbidden',
      message: 'the users role may not read /metrics: only the operator certificate may',
    },
  });
  // Users without a certificate are served as before on the same listener.
  t.is((await g.call('/healthz')).status, 200);
});
