/**
 * Password checks end to end, through the real gateway, bus, users service and store: a
 * signed-in user's wrong current password (changing it, deleting the account) is a failed
 * login for their username, counted in the same budget before any scrypt runs; a signed-in
 * user has at most a couple of checks in flight from one address, and the users service caps
 * a signed-in account's checks too, so a flood of them is answered 429 at once instead of
 * queueing behind the hasher, and another user's login goes through meanwhile.
 */
import test from 'ava';
import { request } from 'undici';
import type { LoginAnswer } from '../../contract/api.js';
import { PortRange } from '../bus/test-support.js';
import { PasswordHasher, type PasswordOwner } from '../users/passwords.js';
import { DEFAULT_ABUSE_LIMITS } from './abuse-limits.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

const ports = new PortRange(28_940, 28_959);

/** scrypt that takes a few ms, so that checks overlap, and cheap enough for a test. */
const COST = { N: 2 ** 12, r: 8, p: 1 };

/** The users service's hasher, counting each account's checks and how many ran at once. */
class WatchedHasher extends PasswordHasher {
  /** Checks that derived (answered true or false), by account. */
  readonly derived = new Map<string, number>();
  /** The most derivations of one account running or waiting in the hasher at once. */
  readonly mostPending = new Map<string, number>();

  override async verify(
    password: string,
    stored: string,
    signal?: AbortSignal,
    owner?: PasswordOwner,
  ): Promise<boolean> {
    const key = owner?.key.toLowerCase() ?? '';
    // The check is queued (or refused) by the time the call returns its promise.
    const check = super.verify(password, stored, signal, owner);
    this.mostPending.set(key, Math.max(this.pendingFor(key), this.mostPending.get(key) ?? 0));
    const valid = await check;
    this.derived.set(key, (this.derived.get(key) ?? 0) + 1);
    return valid;
  }
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly limit: string | undefined;
  readonly json: Record<string, unknown>;
}

async function post(
  system: InProcessSystem,
  path: string,
  body: unknown,
  token?: string,
): Promise<Answer> {
  const response = await request(`${system.url}${path}`, {
    dispatcher: system.agent,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const json = (await response.body.json()) as Record<string, unknown>;
  const retryAfter = response.headers['retry-after'];
  const error = json.error as { details?: { limit?: string } } | undefined;
  return {
    status: response.statusCode,
    retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    limit: error?.details?.limit,
    json,
  };
}

const PASSWORD = 'correct horse battery';
const WRONG = 'not my password at all';

async function signUp(system: InProcessSystem, username: string): Promise<string> {
  const registered = await post(system, '/v1/users', { username, password: PASSWORD });
  if (registered.status !== 201) throw new Error(`register ${username}: ${registered.status}`);
  const login = await post(system, '/v1/sessions', { username, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status}`);
  return (login.json as unknown as LoginAnswer).token;
}

const wrongChange = (system: InProcessSystem, token: string) =>
  post(
    system,
    '/v1/account/password',
    { currentPassword: WRONG, newPassword: 'a brand new passphrase' },
    token,
  );
const wrongDelete = (system: InProcessSystem, token: string) =>
  post(system, '/v1/account/delete', { password: WRONG }, token);

test("a stolen token's flood of wrong passwords on change and delete gets 429s past the login budget, and never holds up another user's login", async (t) => {
  t.timeout(60_000);
  const passwords = new WatchedHasher(COST);
  const system = await startInProcessSystem(t, ports, {
    passwords,
    // Every client here is 127.0.0.1: this is about one account's budget, not the address's.
    abuseLimits: { loginsPerAddress: { points: 10_000, durationSec: 60 } },
  });
  const mallory = await signUp(system, 'mallory');
  await signUp(system, 'bob');
  const budget = DEFAULT_ABUSE_LIMITS.loginFailuresPerUserAndAddress.points;

  // 150 at once, as the attack did, half of them password changes, half deletions.
  const flood = Promise.all(
    Array.from({ length: 150 }, (_, i) =>
      i % 2 === 0 ? wrongChange(system, mallory) : wrongDelete(system, mallory),
    ),
  );
  // Meanwhile bob logs in, again and again, from the same address.
  const bobLogins: Answer[] = [];
  let slowestBobMs = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    bobLogins.push(await post(system, '/v1/sessions', { username: 'bob', password: PASSWORD }));
    slowestBobMs = Math.max(slowestBobMs, performance.now() - started);
  }
  const answers = await flood;

  t.deepEqual(
    bobLogins.map((a) => a.status),
    Array(5).fill(200),
  );
  // Far below the request deadline (10 s) that the attack drove logins to.
  t.true(slowestBobMs < 3_000, `bob's slowest login took ${Math.round(slowestBobMs)} ms`);

  const statuses = new Set(answers.map((a) => a.status));
  t.deepEqual(
    [...statuses].filter((s) => s !== 401 && s !== 429),
    [],
    'only 401s and 429s',
  );
  const refused = answers.filter((a) => a.status === 429);
  t.true(refused.length >= 150 - budget, `${refused.length} of 150 refused`);
  t.true(refused.every((a) => a.retryAfter !== undefined && Number(a.retryAfter) >= 1));
  t.true(
    refused.some((a) => a.limit === 'password-checks-in-flight'),
    'refused while in flight',
  );
  let guesses = answers.filter((a) => a.status === 401).length;
  t.true(guesses <= budget, `${guesses} guesses were checked`);

  // One by one now: the guesses go on until the login budget of (mallory, address) is spent.
  let last: Answer | undefined;
  for (let i = 0; i < 2 * budget && last?.status !== 429; i++) {
    last = await (i % 2 === 0 ? wrongDelete(system, mallory) : wrongChange(system, mallory));
    if (last.status === 401) guesses += 1;
  }
  t.is(guesses, budget, 'exactly the failed logins one address is allowed');
  t.is(last?.status, 429);
  t.is(last?.limit, 'login-user-address');
  const wait = Number(last?.retryAfter);
  t.true(wait > 1 && wait <= DEFAULT_ABUSE_LIMITS.loginFailuresPerUserAndAddress.durationSec);

  // The same budget as a login: the right password is refused from this address too.
  const login = await post(system, '/v1/sessions', { username: 'mallory', password: PASSWORD });
  t.is(login.status, 429);
  t.is(login.limit, 'login-user-address');

  // What reached scrypt: her first login and the counted guesses, never more than two at once.
  t.is(passwords.derived.get('mallory'), 1 + budget);
  t.true((passwords.mostPending.get('mallory') ?? 0) <= 2);
  t.true((passwords.derived.get('bob') ?? 0) >= 6, "bob's logins were all checked");
});

test("the users service refuses a signed-in account's checks past its cap at once, whatever the gateways let through", async (t) => {
  t.timeout(60_000);
  const passwords = new WatchedHasher(COST);
  const system = await startInProcessSystem(t, ports, {
    passwords,
    // As if many gateways (or addresses) each let their own few through.
    abuseLimits: {
      loginsPerAddress: { points: 10_000, durationSec: 60 },
      loginFailuresPerUserAndAddress: { points: 10_000, durationSec: 60 },
      loginFailuresPerUser: { points: 10_000, durationSec: 60 },
      passwordChecksInFlight: 1_000,
    },
  });
  const mallory = await signUp(system, 'mallory');
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? wrongChange(system, mallory) : wrongDelete(system, mallory),
    ),
  );
  const refused = answers.filter((a) => a.status === 429);
  t.deepEqual(
    answers.filter((a) => a.status !== 401 && a.status !== 429).map((a) => a.status),
    [],
  );
  t.true(
    refused.every((a) => a.limit === 'password-checks-user' && a.retryAfter === '1'),
    JSON.stringify(refused[0]?.json),
  );
  t.true(refused.length > 0, "some checks found two of the account's already running");
  // Inside the hasher: refused ones leave at once; at most two derive or wait at a time.
  t.is(passwords.mostPending.get('mallory'), 2);
  t.is(
    passwords.derived.get('mallory'),
    1 + answers.filter((a) => a.status === 401).length,
    'every 401 was one derivation, every 429 none',
  );
  // The refusals were not counted as failed guesses against the account.
  t.is(
    (await post(system, '/v1/sessions', { username: 'mallory', password: PASSWORD })).status,
    200,
  );
});
