/**
 * Sessions end to end, through the real gateway, bus, users service and store: a login's
 * refresh token renews the session, a spent one coming back ends it everywhere, and neither
 * kind of token passes for the other.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { request } from 'undici';
import type { LoginAnswer } from '../../contract/api.js';
import { REFRESH_REUSE_GRACE_MS } from '../store/protocol.js';
import { PortRange } from '../bus/test-support.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

const ports = new PortRange(28_960, 28_979);

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

async function call(
  system: InProcessSystem,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const response = await request(`${system.url}${path}`, {
    dispatcher: system.agent,
    method,
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.statusCode, json: (await response.body.json()) as Answer['json'] };
}

function ok(t: ExecutionContext, answer: Answer, status = 200): Record<string, unknown> {
  t.is(answer.status, status, JSON.stringify(answer.json));
  return answer.json;
}

const messageOf = (answer: Answer): string =>
  String((answer.json.error as { message?: unknown } | undefined)?.message);

test('a session renews with its refresh token; a spent refresh token coming back ends it everywhere', async (t) => {
  let storeNow = Date.now();
  const system = await startInProcessSystem(t, ports, { storeClock: () => storeNow });
  const password = 'correct horse battery';
  ok(t, await call(system, 'POST', '/v1/users', { body: { username: 'alice', password } }), 201);
  const login = (): Promise<LoginAnswer> =>
    call(system, 'POST', '/v1/sessions', { body: { username: 'alice', password } }).then(
      (answer) => ok(t, answer) as unknown as LoginAnswer,
    );
  const refresh = (refreshToken: string) =>
    call(system, 'POST', '/v1/sessions/refresh', { body: { refreshToken } });
  const laptop = await login();
  const phone = await login();

  // Neither kind of token passes for the other.
  const asAccess = await call(system, 'GET', '/v1/me', { token: laptop.refreshToken });
  t.is(asAccess.status, 401);
  t.regex(messageOf(asAccess), /refresh token only renews the session/);
  const asRefresh = await refresh(laptop.token);
  t.is(asRefresh.status, 401);
  t.regex(messageOf(asRefresh), /access token cannot renew/);

  const renewed = ok(t, await refresh(laptop.refreshToken)) as unknown as LoginAnswer;
  t.not(renewed.token, laptop.token);
  t.not(renewed.refreshToken, laptop.refreshToken);
  t.is(renewed.refreshExpiresAt, laptop.refreshExpiresAt);
  t.like(ok(t, await call(system, 'GET', '/v1/me', { token: renewed.token })), {
    user: { username: 'alice' },
  });

  // Past the moment a racing process is allowed, the spent token is someone else's copy.
  storeNow += REFRESH_REUSE_GRACE_MS + 1_000;
  const reused = await refresh(laptop.refreshToken);
  t.is(reused.status, 401);
  t.regex(messageOf(reused), /already used/);
  for (const token of [renewed.token, laptop.token]) {
    const refused = await call(system, 'GET', '/v1/me', { token });
    t.is(refused.status, 401);
    t.regex(messageOf(refused), /logged out/);
  }
  t.is((await refresh(renewed.refreshToken)).status, 401, 'the thief cannot go on either');
  ok(t, await call(system, 'GET', '/v1/me', { token: phone.token }), 200);
  ok(t, await refresh(phone.refreshToken), 200);

  // A logout ends the refresh of its session too.
  const desktop = await login();
  ok(t, await call(system, 'DELETE', '/v1/sessions/current', { token: desktop.token }));
  const afterLogout = await refresh(desktop.refreshToken);
  t.is(afterLogout.status, 401);
  t.regex(messageOf(afterLogout), /session has ended/);
});
