/**
 * The benchmarks' HTTP client: JSON requests to one gateway as a signed-in user, whose session
 * renews its access token as it runs out (a run may outlast the 15 minutes of one).
 */
import { request, type Dispatcher } from 'undici';
import type { LoginAnswer } from '../../contract/api.js';
import { SessionTokens } from '../../cli/http/session-tokens.js';

export interface BenchAnswer {
  readonly status: number;
  /** The body as JSON, or null when it is not JSON. */
  readonly json: unknown;
}

export type BenchCall = (
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  session?: SessionTokens,
) => Promise<BenchAnswer>;

/** A caller of `base` (the gateway's URL) through `dispatcher`; each call gives up after `timeoutMs`. */
export function benchClient(base: string, dispatcher: Dispatcher, timeoutMs = 30_000): BenchCall {
  return async (method, path, body, session) => {
    const token = await session?.current();
    const res = await request(`${base}${path}`, {
      method,
      dispatcher,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.statusCode, json: await res.body.json().catch(() => null) };
  };
}

/** Signs `username` in; the session renews itself through the same gateway. */
export async function benchLogin(
  call: BenchCall,
  username: string,
  password: string,
): Promise<SessionTokens> {
  const login = await call('POST', '/v1/sessions', { username, password });
  if (login.status !== 200) {
    throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.json)}`);
  }
  const renew = async (refreshToken: string): Promise<LoginAnswer> => {
    const renewed = await call('POST', '/v1/sessions/refresh', { refreshToken });
    if (renewed.status !== 200) {
      throw new Error(`renewing a session: ${renewed.status} ${JSON.stringify(renewed.json)}`);
    }
    return renewed.json as LoginAnswer;
  };
  return new SessionTokens({ tokens: login.json as LoginAnswer, renew });
}
