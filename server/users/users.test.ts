/**
 * The users service against the real calendar store (in-process): accounts, tokens,
 * appointments and their live updates, idempotent retries, iCalendar import, feeds.
 */
import test from 'ava';
import type { SessionRef } from '../store/protocol.js';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { httpStatusFor } from '../../contract/errors.js';
import type { AgendaError, InvalidInput } from '../../contract/errors.js';
import { MAX_IMPORT_CHUNK_BYTES, MAX_IMPORT_CHUNK_EVENTS } from '../../contract/limits.js';
import type { ImportAnswer, LoginAnswer, UserAnswer } from '../../contract/api.js';
import type { CommandResults, QueryResults } from '../store/protocol.js';
import {
  busRequest,
  EPOCH,
  HOUR,
  InProcessDatabase,
  NEVER,
  RecordingLog,
  RecordingPublisher,
  TestClock,
} from '../services/test-support.js';
import { createSigningKeyPair } from './keys.js';
import {
  DEFAULT_SCRYPT_COST,
  parsePasswordHash,
  PasswordHasher,
  type ScryptCost,
} from './passwords.js';
import {
  DEFAULT_ACCESS_TTL_MS,
  DEFAULT_REFRESH_TTL_MS,
  FEED_AUDIENCE,
  TokenIssuer,
} from './tokens.js';
import { UsersService } from './users-service.js';
import type { CryptoKey } from 'jose';
import { TokenVerifier, type TokenKind } from './token-verifier.js';

/** Tokens are checked as the gateway checks them, at `at` (the test clock by default). */
function verify(token: string, kind: TokenKind, publicKey: CryptoKey, at = EPOCH) {
  return new TokenVerifier({ publicKey, now: () => at }).verify(token, kind);
}

/** Counts verifications, to see that a login for an unknown user spends one too. */
class CountingHasher extends PasswordHasher {
  verifications = 0;

  override verify(password: string, stored: string): Promise<boolean> {
    this.verifications += 1;
    return super.verify(password, stored);
  }
}

/**
 * What these tests hash at unless they test the cost itself: OWASP's (16 MiB, a few hundred
 * milliseconds a hash) would make the file slow, and what most tests here check does not
 * depend on the cost. Production never passes a cost (server/services/main.ts).
 */
const TEST_SCRYPT_COST: ScryptCost = { N: 1024, r: 8, p: 1 };

/** The session of a test user's requests, unless a test names another (opened by `register`). */
const testSid = (username: string) => `test-session-${username}`;

async function setup(cost: ScryptCost = TEST_SCRYPT_COST) {
  const clock = new TestClock();
  const database = await InProcessDatabase.open(clock.read);
  const publisher = new RecordingPublisher();
  const keys = await createSigningKeyPair();
  const passwords = new CountingHasher(cost);
  const tokens = new TokenIssuer(keys.privateKey, { clock: clock.read });
  const users = new UsersService(
    { database, publisher, log: new RecordingLog(), clock: clock.read },
    { tokens, passwords },
  );
  // Every signed-in request comes with a session token's claims, as the gateway passes them.
  const send = <Answer>(actor: string | null, op: unknown, id?: string, session?: SessionRef) =>
    users.handle(
      busRequest(actor, op, {
        clock,
        ...(id === undefined ? {} : { id }),
        ...(actor === null ? {} : { session: session ?? { generation: 0, sid: testSid(actor) } }),
      }),
      NEVER,
    ) as Promise<Answer>;
  const refused = async (actor: string | null, op: unknown): Promise<AgendaError> => {
    try {
      await send(actor, op);
    } catch (error) {
      return error as AgendaError;
    }
    throw new Error('the request was not refused');
  };
  // Registered users are signed in: the store opens their requests' default session.
  const register = async (username: string, password = `${username}-password`) => {
    const answer = await send<UserAnswer>(null, { type: 'account.register', username, password });
    database.openSession(username, testSid(username));
    return answer;
  };
  const hashOf = async (username: string) => {
    const found = await database.query(null, { type: 'user.lookup', username });
    if (!found.ok) throw new Error(`no user ${username}`);
    return (found.result as QueryResults['user.lookup']).passwordHash;
  };
  return { clock, database, publisher, keys, passwords, users, send, refused, register, hashOf };
}

const at = (iso: string) => Date.parse(iso);

test("registering keeps an scrypt hash at one of OWASP's costs (N=2^14, r=8, p=5: 16 MiB), and answers the user", async (t) => {
  const s = await setup(DEFAULT_SCRYPT_COST);
  const answer = await s.send<UserAnswer>(null, {
    type: 'account.register',
    username: 'alice',
    password: 'correct horse battery',
    name: 'Alice Liddell',
  });
  t.deepEqual(answer, { user: { username: 'alice', name: 'Alice Liddell' } });
  const hash = await s.hashOf('alice');
  t.regex(hash, /^scrypt\$N=16384,r=8,p=5\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.deepEqual(parsePasswordHash(hash).cost, { N: 2 ** 14, r: 8, p: 5 });
  t.deepEqual(parsePasswordHash(hash).cost, DEFAULT_SCRYPT_COST);
  t.false(hash.includes('correct horse battery'));
});

test('the same password registered twice gives two different hashes', async (t) => {
  const s = await setup();
  await s.register('alice', 'same old password');
  await s.register('bob', 'same old password');
  t.not(await s.hashOf('alice'), await s.hashOf('bob'));
});

test('registration refuses a bad username or a short password, and a taken username', async (t) => {
  const s = await setup();
  const badName = (await s.refused(null, {
    type: 'account.register',
    username: 'Alice!',
    password: 'long enough password',
  })) as InvalidInput;
  t.is(badName.code, 'invalid');
  t.is(badName.field, 'username');
  const shortPassword = (await s.refused(null, {
    type: 'account.register',
    username: 'alice',
    password: 'short',
  })) as InvalidInput;
  t.is(shortPassword.code, 'invalid');
  t.is(shortPassword.field, 'password');
  await s.register('alice');
  t.is(
    (
      await s.refused(null, {
        type: 'account.register',
        username: 'alice',
        password: 'another password',
      })
    ).code,
    'conflict',
  );
});

test('a registration delivered twice registers once and answers the same both times', async (t) => {
  const s = await setup();
  const op = { type: 'account.register', username: 'alice', password: 'correct horse battery' };
  const first = await s.send<UserAnswer>(null, op, 'register-1');
  const again = await s.send<UserAnswer>(null, op, 'register-1');
  t.deepEqual(again, first);
  t.is(s.database.commands.length, 2);
  // Same request, same salt, same command: the store recognised the retry.
  t.is(s.database.commands[1]?.body.type, 'user.register');
  t.deepEqual(s.database.commands[1]?.body, s.database.commands[0]?.body);
});

test('login opens a session: an ES256 access token for 15 minutes and a refresh token for 30 days', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const answer = await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  t.deepEqual(answer.user, { username: 'alice', name: 'alice' });
  t.is(answer.expiresAt, new Date(EPOCH + DEFAULT_ACCESS_TTL_MS).toISOString());
  t.is(answer.refreshExpiresAt, new Date(EPOCH + DEFAULT_REFRESH_TTL_MS).toISOString());
  t.is(decodeProtectedHeader(answer.token).alg, 'ES256');
  const claims = decodeJwt(answer.token);
  t.like(claims, {
    sub: 'alice',
    iss: 'agenda-users',
    aud: 'agenda',
    iat: EPOCH / 1000,
    exp: (EPOCH + 15 * 60_000) / 1000,
  });
  t.regex(String(claims.jti), /^[0-9a-f-]{36}$/);
  const verified = await verify(answer.token, 'session', s.keys.publicKey);
  t.is(verified.actor, 'alice');
  t.is(new Date(verified.expiresAt).toISOString(), answer.expiresAt);
  const refresh = decodeJwt(answer.refreshToken);
  t.like(refresh, {
    sub: 'alice',
    aud: 'agenda-refresh',
    sid: claims.sid,
    gen: 0,
    rsq: 0,
    exp: (EPOCH + 30 * 24 * HOUR) / 1000,
  });
  t.like(s.database.commands.at(-1), {
    actor: 'alice',
    body: { type: 'session.open', sid: claims.sid, generation: 0 },
  });
});

test('a wrong password and an unknown username get the same answer, after the same work', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const wrongPassword = await s.refused(null, {
    type: 'account.login',
    username: 'alice',
    password: 'incorrect horse',
  });
  t.is(s.passwords.verifications, 1);
  const unknownUser = await s.refused(null, {
    type: 'account.login',
    username: 'mallory',
    password: 'incorrect horse',
  });
  t.is(s.passwords.verifications, 2);
  t.is(wrongPassword.code, 'unauthenticated');
  t.deepEqual(unknownUser.toWire(), wrongPassword.toWire());
});

test('registration refuses a password of the username, one character repeated, blanks or control characters (outside attack)', async (t) => {
  const s = await setup();
  const cases: readonly (readonly [string, RegExp])[] = [
    ['alexandria', /is your username/],
    ['ALEXANDRIA', /is your username/],
    ['aaaaaaaa', /one character repeated/],
    ['        ', /white space alone/],
    [' \t  \t   ', /control characters/],
    ['\u0000'.repeat(8), /control characters/],
    ['pass\u001bword9', /control characters/],
  ];
  for (const [password, why] of cases) {
    const refused = await s.refused(null, {
      type: 'account.register',
      username: 'alexandria',
      password,
    });
    t.is(refused.code, 'invalid', JSON.stringify(password));
    t.regex(refused.message, why, JSON.stringify(password));
  }
  t.is(s.database.commands.length, 0, 'nothing was registered');
});

test('registration refuses a password among the most common, in any letter case, saying why', async (t) => {
  const s = await setup();
  for (const password of ['12345678', 'password1', 'PassWord1', 'QWERTYUIOP', 'baseball']) {
    const refused = (await s.refused(null, {
      type: 'account.register',
      username: 'alice',
      password,
    })) as InvalidInput;
    t.is(refused.code, 'invalid', password);
    t.is(httpStatusFor(refused.code), 400);
    t.is(refused.field, 'password');
    t.is(refused.message, 'this password is among the most commonly used; choose another');
  }
  t.is(s.database.commands.length, 0, 'nothing was registered');
  // The minimum length still comes first, and an uncommon password passes.
  t.regex(
    (await s.refused(null, { type: 'account.register', username: 'alice', password: 'abc' }))
      .message,
    /at least 8/,
  );
  await s.register('alice', 'plover thimble cascade');
});

/** `username` registered with a hash at `cost`, as an older version of the service made it. */
async function registerWithCost(
  s: Awaited<ReturnType<typeof setup>>,
  username: string,
  password: string,
  cost: ScryptCost,
): Promise<string> {
  const older = new UsersService(
    { database: s.database, publisher: s.publisher, log: new RecordingLog(), clock: s.clock.read },
    { tokens: new TokenIssuer(s.keys.privateKey), passwords: new PasswordHasher(cost) },
  );
  await older.handle(
    busRequest(null, { type: 'account.register', username, password }, { clock: s.clock }),
    NEVER,
  );
  return s.hashOf(username);
}

test('a login over a hash of a weaker cost succeeds and stores a new hash at the current cost', async (t) => {
  const s = await setup();
  const weak = await registerWithCost(s, 'alice', 'correct horse battery', { N: 256, r: 8, p: 1 });
  const answer = await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  t.is(answer.user.username, 'alice');
  const upgraded = await s.hashOf('alice');
  t.not(upgraded, weak);
  t.deepEqual(parsePasswordHash(upgraded).cost, TEST_SCRYPT_COST);
  t.true(await s.passwords.verify('correct horse battery', upgraded));
  // Once upgraded, a login only opens its session.
  const commands = s.database.commands.length;
  await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  t.is(s.database.commands.length, commands + 1);
  t.is(s.database.commands.at(-1)?.body.type, 'session.open');
  t.false('rehash' in (s.database.commands.at(-1)?.body ?? {}));
  t.is(await s.hashOf('alice'), upgraded);
  // A wrong password upgrades nothing.
  const other = await setup();
  const kept = await registerWithCost(other, 'bob', 'correct horse battery', {
    N: 256,
    r: 8,
    p: 1,
  });
  await other.refused(null, {
    type: 'account.login',
    username: 'bob',
    password: 'incorrect horse',
  });
  t.is(await other.hashOf('bob'), kept);
});

test('a hash with more work at the same memory is kept by a login', async (t) => {
  const s = await setup();
  const strong = await registerWithCost(s, 'alice', 'correct horse battery', {
    N: 1024,
    r: 8,
    p: 3,
  });
  await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  t.is(await s.hashOf('alice'), strong);
});

test('a hash that needs more memory than the current cost is replaced by a login, as the 128 MiB ones were', async (t) => {
  // The shape of the move from N=2^17, p=1 to N=2^14, p=5, at a test's scale: eight times
  // the memory and more work than the current cost.
  const s = await setup({ N: 128, r: 8, p: 5 });
  const big = await registerWithCost(s, 'alice', 'correct horse battery', { N: 1024, r: 8, p: 1 });
  await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  const replaced = await s.hashOf('alice');
  t.not(replaced, big);
  t.deepEqual(parsePasswordHash(replaced).cost, { N: 128, r: 8, p: 5 });
  t.true(await s.passwords.verify('correct horse battery', replaced));
});

test('two logins upgrading the same hash at once both succeed, and one new hash is kept', async (t) => {
  const s = await setup();
  await registerWithCost(s, 'alice', 'correct horse battery', { N: 256, r: 8, p: 1 });
  const login = { type: 'account.login', username: 'alice', password: 'correct horse battery' };
  const answers = await Promise.all([
    s.send<LoginAnswer>(null, login, 'login-1'),
    s.send<LoginAnswer>(null, login, 'login-2'),
  ]);
  t.deepEqual(
    answers.map((a) => a.user.username),
    ['alice', 'alice'],
  );
  const replacements = s.database.commands.flatMap((c) =>
    c.body.type === 'session.open' && c.body.rehash !== undefined ? [c.body.rehash] : [],
  );
  t.is(replacements.length, 2);
  const upgraded = await s.hashOf('alice');
  t.deepEqual(parsePasswordHash(upgraded).cost, TEST_SCRYPT_COST);
  t.true(await s.passwords.verify('correct horse battery', upgraded));
  // The hash kept is one of the two the logins made: the other was refused by its precondition.
  t.true(replacements.some((r) => r.passwordHash === upgraded));
});

test('session tokens are refused when expired, forged, unsigned or signed by another key', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const { token } = await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  const expired = verify(token, 'session', s.keys.publicKey, EPOCH + HOUR);
  const expiredError = await t.throwsAsync<AgendaError>(expired);
  t.is(expiredError?.code, 'unauthenticated');
  t.regex(expiredError?.message ?? '', /expired/);
  t.deepEqual(expiredError?.toWire().details, { reason: 'token_expired' }, 'a client can refresh');

  const [header, , signature] = token.split('.');
  const otherClaims = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'bob' })).toString(
    'base64url',
  );
  const forged = verify(`${header}.${otherClaims}.${signature}`, 'session', s.keys.publicKey);
  t.is((await t.throwsAsync<AgendaError>(forged))?.code, 'unauthenticated');

  const unsigned = new UnsecuredJWT({ sub: 'alice', jti: 'x' })
    .setIssuer('agenda-users')
    .setAudience('agenda')
    .setIssuedAt()
    .setExpirationTime('1h')
    .encode();
  t.is(
    (await t.throwsAsync<AgendaError>(verify(unsigned, 'session', s.keys.publicKey, Date.now())))
      ?.code,
    'unauthenticated',
  );

  const stranger = await createSigningKeyPair();
  const foreign = await new SignJWT({ jti: 'x' })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('alice')
    .setIssuer('agenda-users')
    .setAudience('agenda')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(stranger.privateKey);
  t.is(
    (await t.throwsAsync<AgendaError>(verify(foreign, 'session', s.keys.publicKey, Date.now())))
      ?.code,
    'unauthenticated',
  );
});

test('me answers the signed-in user', async (t) => {
  const s = await setup();
  await s.send(null, {
    type: 'account.register',
    username: 'alice',
    password: 'correct horse battery',
    name: 'Alice',
  });
  s.database.openSession('alice', testSid('alice'));
  t.deepEqual(await s.send<UserAnswer>('alice', { type: 'account.me' }), {
    user: { username: 'alice', name: 'Alice' },
  });
  t.is((await s.refused('ghost', { type: 'account.me' })).code, 'unauthenticated');
});

test('an appointment is confirmed for the organizer and publishes an invitation to each invitee', async (t) => {
  const s = await setup();
  for (const name of ['alice', 'bob', 'carol']) await s.register(name);
  const start = at('2025-03-03T09:00:00Z');
  const answer = await s.send<CommandResults['event.create']>('alice', {
    type: 'command',
    body: {
      type: 'event.create',
      draft: { title: 'Review', start, end: start + HOUR },
      with: ['bob', 'carol'],
    },
  });
  t.deepEqual(s.publisher.aboutEvent(answer.event.id), [
    { to: 'alice', change: 'created' },
    { to: 'bob', change: 'invited' },
    { to: 'carol', change: 'invited' },
  ]);
  for (const p of s.publisher.published)
    t.like(p.update, { by: 'alice', at: new Date(EPOCH).toISOString() });
  const invitations = await s.send<QueryResults['invitation.list']>('bob', {
    type: 'query',
    body: { type: 'invitation.list' },
  });
  t.deepEqual(
    invitations.invitations.map((e) => e.id),
    [answer.event.id],
  );

  const accepted = await s.send<CommandResults['invitation.accept']>('bob', {
    type: 'command',
    body: { type: 'invitation.accept', eventId: answer.event.id },
  });
  t.is(accepted.event.id, answer.event.id);
  t.true(
    s.publisher
      .aboutEvent(answer.event.id)
      .some((p) => p.to === 'alice' && p.change === 'accepted'),
  );
});

test('a request delivered twice creates one event and publishes its updates once', async (t) => {
  const s = await setup();
  for (const name of ['alice', 'bob']) await s.register(name);
  const start = at('2025-03-03T09:00:00Z');
  const op = {
    type: 'command',
    body: {
      type: 'event.create',
      draft: { title: 'Review', start, end: start + HOUR },
      with: ['bob'],
    },
  };
  const first = await s.send<CommandResults['event.create']>('alice', op, 'gw1-create-7');
  const again = await s.send<CommandResults['event.create']>('alice', op, 'gw1-create-7');
  t.deepEqual(again, first);
  // The retry came with new fresh ids; the store answered the original event all the same.
  const [sent, resent] = s.database.commands.slice(-2);
  t.is(resent?.requestId, sent?.requestId);
  t.notDeepEqual(resent?.ids, sent?.ids);
  const listed = await s.send<QueryResults['event.list']>('alice', {
    type: 'query',
    body: { type: 'event.list', from: start - HOUR, to: start + 2 * HOUR },
  });
  t.is(listed.events.length, 1);
  t.deepEqual(s.publisher.aboutEvent(first.event.id), [
    { to: 'alice', change: 'created' },
    { to: 'bob', change: 'invited' },
  ]);
});

const ICS = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Agenda tests//EN',
  'BEGIN:VEVENT',
  'UID:standup@example.com',
  'DTSTAMP:20250301T000000Z',
  'DTSTART:20250303T090000Z',
  'DTEND:20250303T093000Z',
  'SUMMARY:Standup',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:clash@example.com',
  'DTSTAMP:20250301T000000Z',
  'DTSTART:20250303T091500Z',
  'DTEND:20250303T100000Z',
  'SUMMARY:Clash',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:lunch@example.com',
  'DTSTAMP:20250301T000000Z',
  'DTSTART;TZID=Europe/Madrid:20250304T130000',
  'DTEND;TZID=Europe/Madrid:20250304T140000',
  'SUMMARY:Lunch',
  'END:VEVENT',
  'BEGIN:VTODO',
  'UID:chores@example.com',
  'SUMMARY:Chores',
  'END:VTODO',
  'END:VCALENDAR',
  '',
].join('\r\n');

test('an .ics import creates its events in one command, and reports what failed and what was skipped', async (t) => {
  const s = await setup();
  await s.register('alice');
  const answer = await s.send<ImportAnswer>('alice', { type: 'agenda.import', ics: ICS });
  const sent = s.database.commands[1]?.ids ?? [];
  t.deepEqual(answer.events, [
    { uid: 'standup@example.com', id: sent[0], action: 'created' },
    { uid: 'lunch@example.com', id: sent[2], action: 'created' },
  ]);
  t.is(answer.failed.length, 1);
  t.like(answer.failed[0], { index: 1, uid: 'clash@example.com', error: { code: 'conflict' } });
  t.deepEqual(answer.skipped, [
    { uid: 'chores@example.com', reason: 'VTODO "Chores": only events (VEVENT) are imported' },
  ]);
  t.is(s.database.commands.length, 2);
  t.like(s.database.commands[1], { actor: 'alice', body: { type: 'event.import' } });
  t.is(s.database.commands[1]?.ids.length, 3);
  t.deepEqual(
    s.publisher.published
      .filter((p) => p.to === 'alice')
      .map((p) => p.update.kind === 'event' && p.update.change),
    ['created', 'created'],
  );
});

test('an import marks what it left out of an event it imported (an attendee) as a part, and a component it left out whole not', async (t) => {
  const s = await setup();
  await s.register('alice');
  const ics = ICS.replace(
    'SUMMARY:Standup\r\n',
    'SUMMARY:Standup\r\nATTENDEE;CN=Bo:mailto:bo@example.com\r\n',
  );
  const answer = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics,
    allowConflict: true,
  });
  t.deepEqual(
    answer.skipped.map((x) => [x.uid, x.part]),
    [
      ['standup@example.com', true],
      ['chores@example.com', undefined],
    ],
  );
});

test('importing the same file again changes nothing; an event changed in a newer version (SEQUENCE) is updated in place', async (t) => {
  const s = await setup();
  await s.register('alice');
  const first = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics: ICS,
    allowConflict: true,
  });
  t.deepEqual(
    first.events.map((e) => e.action),
    ['created', 'created', 'created'],
  );
  const again = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics: ICS,
    allowConflict: true,
  });
  t.deepEqual(
    again.events.map((e) => [e.uid, e.id, e.action]),
    first.events.map((e) => [e.uid, e.id, 'unchanged']),
  );
  // Changed without a new SEQUENCE or DTSTAMP: not a newer version, so not followed.
  const edited = ICS.replace('SUMMARY:Lunch', 'SUMMARY:Long lunch');
  const stale = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics: edited,
    allowConflict: true,
  });
  t.like(stale.events[2], { uid: 'lunch@example.com', action: 'unchanged' });
  t.regex(
    stale.events[2]?.kept ?? '',
    /^kept the version in your agenda: the file's \(SEQUENCE 0,/,
  );
  const moved = edited.replace('SUMMARY:Long lunch', 'SUMMARY:Long lunch\r\nSEQUENCE:1');
  const changed = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics: moved,
    allowConflict: true,
  });
  t.deepEqual(
    changed.events.map((e) => [e.uid, e.action]),
    [
      ['standup@example.com', 'unchanged'],
      ['clash@example.com', 'unchanged'],
      ['lunch@example.com', 'updated'],
    ],
  );
  const listed = await s.send<QueryResults['event.list']>('alice', {
    type: 'query',
    body: {
      type: 'event.list',
      from: Date.parse('2025-03-01T00:00:00Z'),
      to: Date.parse('2025-03-08T00:00:00Z'),
    },
  });
  t.deepEqual(listed.events.map((e) => e.title).sort(), ['Clash', 'Long lunch', 'Standup']);
  // Only the update was news.
  t.deepEqual(
    s.publisher.published
      .filter((p) => p.to === 'alice' && p.update.kind === 'event')
      .map((p) => p.update.kind === 'event' && p.update.change),
    ['created', 'created', 'created', 'updated'],
  );
});

test('a request over the import limits is refused as invalid (400), saying to split the file', async (t) => {
  const s = await setup();
  await s.register('alice');
  const event = (i: number) =>
    [
      'BEGIN:VEVENT',
      `UID:e${i}@example.com`,
      `DTSTART:2025031${i % 10}T090000Z`,
      'DURATION:PT15M',
      `SUMMARY:Event ${i}`,
      'END:VEVENT',
    ].join('\r\n');
  const calendar = (n: number) =>
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      ...Array.from({ length: n }, (_, i) => event(i)),
      'END:VCALENDAR',
      '',
    ].join('\r\n');
  const many = await s.refused('alice', {
    type: 'agenda.import',
    ics: calendar(MAX_IMPORT_CHUNK_EVENTS + 1),
  });
  t.is(many.code, 'invalid');
  t.is(httpStatusFor(many.code), 400);
  t.regex(
    many.message,
    new RegExp(
      `at most ${MAX_IMPORT_CHUNK_EVENTS} events.*${MAX_IMPORT_CHUNK_EVENTS + 1} events: split the file`,
    ),
  );
  const padding = `X-PADDING:${'x'.repeat(70)}\r\n`.repeat(
    Math.ceil(MAX_IMPORT_CHUNK_BYTES / 80) + 1,
  );
  const heavy = await s.refused('alice', {
    type: 'agenda.import',
    ics: calendar(1).replace('VERSION:2.0\r\n', `VERSION:2.0\r\n${padding}`),
  });
  t.is(heavy.code, 'invalid');
  t.regex(heavy.message, /MB: split the file/);
  // Nothing reached the store.
  t.is(s.database.commands.length, 1);
});

test('an import with nothing to import sends no command; a file that is not iCalendar is invalid', async (t) => {
  const s = await setup();
  await s.register('alice');
  const empty = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nEND:VCALENDAR\r\n',
  });
  t.deepEqual(empty, { events: [], failed: [], skipped: [], changed: [] });
  t.is(s.database.commands.length, 1);
  t.is((await s.refused('alice', { type: 'agenda.import', ics: 'hello' })).code, 'invalid');
});

test('a feed token opens the .ics feed only: it is not a session token, nor the other way round', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const { url } = await s.send<{ url: string }>('alice', { type: 'feed.create' });
  const match = /^\/v1\/feeds\/([^/]+)\/calendar\.ics$/.exec(url);
  t.truthy(match);
  const token = decodeURIComponent(match?.[1] ?? '');
  t.like(decodeJwt(token), {
    sub: 'alice',
    scope: 'feed',
    aud: FEED_AUDIENCE,
    iss: 'agenda-users',
  });
  t.is((await verify(token, 'feed', s.keys.publicKey)).actor, 'alice');
  t.is(
    (await t.throwsAsync<AgendaError>(verify(token, 'session', s.keys.publicKey)))?.code,
    'unauthenticated',
  );

  const session = await s.send<LoginAnswer>(null, {
    type: 'account.login',
    username: 'alice',
    password: 'correct horse battery',
  });
  t.is(
    (await t.throwsAsync<AgendaError>(verify(session.token, 'feed', s.keys.publicKey)))?.code,
    'unauthenticated',
  );
});

// ---------------------------------------------------------------------------------------
// Tokens with a lifecycle: what the gateway passes on from a token, the store checks.

/** The claims the gateway would pass on with a request made with `token`. */
function sessionOf(token: string): SessionRef {
  const claims = decodeJwt(token);
  const generation = claims.gen as number;
  return typeof claims.fid === 'string'
    ? { generation, fid: claims.fid }
    : { generation, sid: claims.sid as string };
}

async function signedIn(s: Awaited<ReturnType<typeof setup>>, username: string, password: string) {
  const { token } = await s.send<LoginAnswer>(null, { type: 'account.login', username, password });
  const as = <Answer>(op: unknown) => s.send<Answer>(username, op, undefined, sessionOf(token));
  const refusedAs = async (op: unknown): Promise<AgendaError> => {
    try {
      await as(op);
    } catch (error) {
      return error as AgendaError;
    }
    throw new Error('the request was not refused');
  };
  return { token, as, refusedAs };
}

const LIST = { type: 'query', body: { type: 'event.list', from: 0, to: 86_400_000 } };

test('logging out ends that session everywhere at once, and only that one', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const laptop = await signedIn(s, 'alice', 'correct horse battery');
  const phone = await signedIn(s, 'alice', 'correct horse battery');
  t.not(sessionOf(laptop.token).sid, sessionOf(phone.token).sid, 'each login is a session');
  await laptop.as({ type: 'account.logout' });
  const after = await laptop.refusedAs(LIST);
  t.is(after.code, 'unauthenticated');
  t.regex(after.message, /logged out/);
  // Also what reads no calendar: the account itself.
  t.is((await laptop.refusedAs({ type: 'account.me' })).code, 'unauthenticated');
  await t.notThrowsAsync(phone.as(LIST), 'the other session goes on');
  t.true(
    s.publisher.published.some(
      (p) =>
        p.to === 'alice' &&
        p.update.kind === 'session' &&
        p.update.session === sessionOf(laptop.token).sid,
    ),
    'its live streams are told to close',
  );
});

test('changing the password ends every session and feed, and opens a new session', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const old = await signedIn(s, 'alice', 'correct horse battery');
  const { url } = await old.as<{ url: string }>({ type: 'feed.create', label: 'phone' });
  const feedToken = decodeURIComponent(/\/v1\/feeds\/([^/]+)\//.exec(url)?.[1] ?? '');
  const wrong = await old.refusedAs({
    type: 'account.changePassword',
    currentPassword: 'not it at all',
    newPassword: 'a brand new passphrase',
  });
  t.is(wrong.code, 'unauthenticated');
  const common = await old.refusedAs({
    type: 'account.changePassword',
    currentPassword: 'correct horse battery',
    newPassword: 'password123',
  });
  t.is(common.code, 'invalid');

  const changed = await old.as<LoginAnswer>({
    type: 'account.changePassword',
    currentPassword: 'correct horse battery',
    newPassword: 'a brand new passphrase',
  });
  t.is(decodeJwt(changed.token).gen, 1);
  t.regex((await old.refusedAs(LIST)).message, /password changed/);
  const feed = await s.refused('alice', { type: 'query', body: { type: 'agenda.export' } });
  t.is(feed.code, 'unauthenticated', 'a request with the old generation');
  try {
    await s.send(
      'alice',
      { type: 'query', body: { type: 'agenda.export' } },
      undefined,
      sessionOf(feedToken),
    );
    t.fail('the feed made before the change still opened');
  } catch (error) {
    t.is((error as AgendaError).code, 'unauthenticated');
  }
  await t.notThrowsAsync(
    s.send('alice', LIST, undefined, sessionOf(changed.token)),
    'the new session works',
  );
  t.is(
    (
      await s.refused(null, {
        type: 'account.login',
        username: 'alice',
        password: 'correct horse battery',
      })
    ).code,
    'unauthenticated',
  );
  await t.notThrowsAsync(signedIn(s, 'alice', 'a brand new passphrase'));
});

test('a feed opens the agenda until revoked; it is listed without its URL; others cannot revoke it', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  await s.register('mallory', 'another long passphrase');
  const alice = await signedIn(s, 'alice', 'correct horse battery');
  const mallory = await signedIn(s, 'mallory', 'another long passphrase');
  const made = await alice.as<{ url: string; feed: { id: string; label: string } }>({
    type: 'feed.create',
    label: 'phone',
  });
  t.is(made.feed.label, 'phone');
  const token = decodeURIComponent(/\/v1\/feeds\/([^/]+)\//.exec(made.url)?.[1] ?? '');
  t.is(decodeJwt(token).fid, made.feed.id);
  const exportAs = () =>
    s.send(
      'alice',
      { type: 'query', body: { type: 'agenda.export' } },
      undefined,
      sessionOf(token),
    );
  await t.notThrowsAsync(exportAs());
  const listed = await alice.as<{ feeds: { id: string }[] }>({ type: 'feed.list' });
  t.deepEqual(
    listed.feeds.map((f) => f.id),
    [made.feed.id],
  );
  t.false(JSON.stringify(listed).includes(token), 'the URL is shown once');

  t.is((await mallory.refusedAs({ type: 'feed.revoke', id: made.feed.id })).code, 'not_found');
  await alice.as({ type: 'feed.revoke', id: made.feed.id });
  try {
    await exportAs();
    t.fail('a revoked feed still opened');
  } catch (error) {
    t.regex((error as AgendaError).message, /feed was revoked/);
  }
  t.deepEqual(await alice.as({ type: 'feed.list' }), { feeds: [] });
});

// ---------------------------------------------------------------------------------------
// Short access tokens, renewed with refresh tokens that rotate.

const MINUTE = 60_000;

async function loggedIn(s: Awaited<ReturnType<typeof setup>>, password = 'correct horse battery') {
  return s.send<LoginAnswer>(null, { type: 'account.login', username: 'alice', password });
}

const refreshWith = (s: Awaited<ReturnType<typeof setup>>, refreshToken: string, id?: string) =>
  s.send<LoginAnswer>(null, { type: 'account.refresh', refreshToken }, id);

async function refusedRefresh(
  s: Awaited<ReturnType<typeof setup>>,
  refreshToken: string,
): Promise<AgendaError> {
  try {
    await refreshWith(s, refreshToken);
  } catch (error) {
    return error as AgendaError;
  }
  throw new Error('the refresh was not refused');
}

test('a refresh token renews the session once: a new access token, and the next refresh token', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const login = await loggedIn(s);
  s.clock.now += 20 * MINUTE;
  await t.throwsAsync(verify(login.token, 'session', s.keys.publicKey, s.clock.now));
  const renewed = await refreshWith(s, login.refreshToken);
  t.is(renewed.expiresAt, new Date(s.clock.now + DEFAULT_ACCESS_TTL_MS).toISOString());
  t.is(renewed.refreshExpiresAt, login.refreshExpiresAt, 'the session ends when it did');
  t.deepEqual(renewed.user, login.user);
  const verified = await verify(renewed.token, 'session', s.keys.publicKey, s.clock.now);
  t.is(verified.session.sid, sessionOf(login.token).sid, 'the same session');
  t.like(decodeJwt(renewed.refreshToken), { rsq: 1, sid: verified.session.sid });
  await t.notThrowsAsync(s.send('alice', LIST, undefined, sessionOf(renewed.token)));
  s.clock.now += 20 * MINUTE;
  t.like(decodeJwt((await refreshWith(s, renewed.refreshToken)).refreshToken), { rsq: 2 });
  // Thirty days after the login, the session is over.
  s.clock.now = EPOCH + DEFAULT_REFRESH_TTL_MS + MINUTE;
  t.regex((await refusedRefresh(s, renewed.refreshToken)).message, /session has expired/);
});

test('a refresh token spent before ends the session: its access tokens and refresh tokens are refused', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const login = await loggedIn(s);
  const other = await loggedIn(s);
  s.clock.now += 20 * MINUTE;
  const renewed = await refreshWith(s, login.refreshToken);
  // Within the moment after a rotation, the token rotated away renews as the new one: a
  // second process of the same login racing the first.
  const raced = await refreshWith(s, login.refreshToken);
  t.is(decodeJwt(raced.refreshToken).rsq, 1);
  s.clock.now += MINUTE;
  // Later, it is a copy someone else used: the whole session ends, for its holder too.
  const reused = await refusedRefresh(s, login.refreshToken);
  t.is(reused.code, 'unauthenticated');
  t.regex(reused.message, /already used/);
  t.regex((await refusedRefresh(s, renewed.refreshToken)).message, /session has ended/);
  try {
    await s.send('alice', LIST, undefined, sessionOf(renewed.token));
    t.fail('an access token of the ended session still worked');
  } catch (error) {
    t.is((error as AgendaError).code, 'unauthenticated');
  }
  t.true(
    s.publisher.published.some(
      (p) => p.update.kind === 'session' && p.update.session === decodeJwt(login.token).sid,
    ),
    'its live streams are told to close',
  );
  await t.notThrowsAsync(refreshWith(s, other.refreshToken), 'another session goes on');
});

test('a refresh sent again under its request id, after the grace, answers the rotation it made; another request with the spent token is reuse', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const login = await loggedIn(s);
  s.clock.now += 20 * MINUTE;
  // Carried out while the client had given up: its answer never reached it.
  const lost = await refreshWith(s, login.refreshToken, 'renewal-1');
  s.clock.now += MINUTE;
  const again = await refreshWith(s, login.refreshToken, 'renewal-1');
  t.like(decodeJwt(again.refreshToken), { rsq: 1, sid: decodeJwt(lost.refreshToken).sid });
  t.is(again.refreshExpiresAt, lost.refreshExpiresAt);
  t.is(again.expiresAt, new Date(s.clock.now + DEFAULT_ACCESS_TTL_MS).toISOString());
  await t.notThrowsAsync(s.send('alice', LIST, undefined, sessionOf(again.token)));
  const next = await refreshWith(s, again.refreshToken, 'renewal-2');
  t.like(decodeJwt(next.refreshToken), { rsq: 2 });
  // The spent token under any other id is still a copy used before: the session ends.
  s.clock.now += MINUTE;
  const reused = await refusedRefresh(s, login.refreshToken);
  t.regex(reused.message, /already used/);
  t.regex((await refusedRefresh(s, next.refreshToken)).message, /session has ended/);
});

test('a refresh token is no access token, and an access token renews nothing', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const login = await loggedIn(s);
  const asAccess = await t.throwsAsync<AgendaError>(
    verify(login.refreshToken, 'session', s.keys.publicKey),
  );
  t.regex(asAccess?.message ?? '', /refresh token only renews the session/);
  t.regex((await refusedRefresh(s, login.token)).message, /access token cannot renew/);
  const { url } = await s.send<{ url: string }>('alice', { type: 'feed.create' });
  const feedToken = decodeURIComponent(/\/v1\/feeds\/([^/]+)\//.exec(url)?.[1] ?? '');
  t.is((await refusedRefresh(s, feedToken)).code, 'unauthenticated');
  t.is(s.database.commands.filter((c) => c.body.type === 'session.refresh').length, 0);
});

test('a logout or a password change ends the refresh of the sessions it ends', async (t) => {
  const s = await setup();
  await s.register('alice', 'correct horse battery');
  const laptop = await loggedIn(s);
  const phone = await loggedIn(s);
  await s.send('alice', { type: 'account.logout' }, undefined, sessionOf(laptop.token));
  t.regex((await refusedRefresh(s, laptop.refreshToken)).message, /session has ended/);
  await t.notThrowsAsync(refreshWith(s, phone.refreshToken));
  const logoutRevocation = s.database.commands.find((c) => c.body.type === 'session.revoke');
  t.like(logoutRevocation?.body, { expiresAt: EPOCH + 60 * MINUTE + 30_000 });

  const desktop = await loggedIn(s);
  const changed = await s.send<LoginAnswer>(
    'alice',
    {
      type: 'account.changePassword',
      currentPassword: 'correct horse battery',
      newPassword: 'a brand new passphrase',
    },
    undefined,
    sessionOf(desktop.token),
  );
  t.regex((await refusedRefresh(s, desktop.refreshToken)).message, /password changed/);
  const renewed = await refreshWith(s, changed.refreshToken);
  t.is(decodeJwt(renewed.token).gen, 1);
});

test('a token for a user the store does not know opens nothing, not even a new feed', async (t) => {
  const s = await setup();
  const ghost = { generation: 0, sid: 'forged-session' };
  for (const op of [{ type: 'feed.create' }, LIST, { type: 'account.me' }]) {
    try {
      await s.send('ghost', op, undefined, ghost);
      t.fail(`${JSON.stringify(op)} was answered for a user nobody registered`);
    } catch (error) {
      t.is((error as AgendaError).code, 'unauthenticated');
    }
  }
});

test('an import names the events it gave the visibility asked for because the file says no CLASS; one left unchanged is not named (outside attack 7)', async (t) => {
  const s = await setup();
  await s.register('alice');
  // Standup says its CLASS; Lunch, as Google writes it, does not.
  const ics = ICS.replace('SUMMARY:Standup\r\n', 'SUMMARY:Standup\r\nCLASS:PUBLIC\r\n');
  const first = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics,
    allowConflict: true,
    defaultVisibility: 'busy',
  });
  t.deepEqual(first.withoutClass, {
    visibility: 'busy',
    uids: ['clash@example.com', 'lunch@example.com'],
  });
  // The same file again: nothing created or updated, so nothing was given a visibility.
  const again = await s.send<ImportAnswer>('alice', {
    type: 'agenda.import',
    ics,
    allowConflict: true,
  });
  t.deepEqual(
    again.events.map((e) => e.action),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  t.is(again.withoutClass, undefined);
  // The operation's schema refuses a visibility that is none.
  const wrong = await s.refused('alice', {
    type: 'agenda.import',
    ics,
    defaultVisibility: 'secret' as 'busy',
  });
  t.is(wrong.code, 'invalid');
});
