import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import Login from '../commands/login.js';
import PasswordChange from '../commands/password/change.js';
import Logout from '../commands/logout.js';
import Register from '../commands/register.js';
import Whoami from '../commands/whoami.js';
import EventList from '../commands/event/list.js';
import { promptPassword } from '../password.js';
import { ProfileStore } from '../profiles.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { PASSWORD, connectionFlags, logIn, loginAnswer } from './support/fixtures.js';
import {
  RecordedOutput,
  RecordedTerminal,
  parseJsonLine,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
} from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

/** A gateway that registers and logs in anyone with {@link PASSWORD}. */
async function accountsGateway(): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/users', (request) => {
      const body = JSON.parse(request.body) as { username: string; name?: string };
      return { status: 201, json: { user: { username: body.username, name: body.name ?? '' } } };
    })
    .on('POST', '/v1/sessions', (request) => {
      const body = JSON.parse(request.body) as { username: string; password: string };
      return body.password === PASSWORD
        ? { status: 200, json: loginAnswer(body.username) }
        : errorAnswer(401, 'unauthenticated', 'wrong username or password');
    })
    .on('GET', '/v1/me', (request) => {
      const token = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
      const username = token.replace(/^token-of-/, '');
      return token.startsWith('token-of-')
        ? { status: 200, json: { user: { username, name: '' } } }
        : errorAnswer(401, 'unauthenticated', 'the token is not valid');
    })
    .on('DELETE', '/v1/sessions/current', { status: 200, json: { loggedOut: true } })
    .on('POST', '/v1/account/password', (request) => {
      const body = JSON.parse(request.body) as { currentPassword: string; newPassword: string };
      return body.currentPassword === PASSWORD
        ? { status: 200, json: { ...loginAnswer('alice'), token: 'token-of-alice-2' } }
        : errorAnswer(401, 'unauthenticated', 'the current password is not right');
    });
  return gateway;
}

test('register creates the account, logs in and keeps the token in a 0600 file', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  const run = await runCommand(
    Register,
    [
      'alice',
      '--name',
      'Alice Liddell',
      '--password-stdin',
      '--json',
      ...connectionFlags(gateway, tls, configDir),
    ],
    new RecordedTerminal({ stdin: `${PASSWORD}\n` }),
  );
  t.is(run.exitCode, 0, run.stderr);
  t.like(parseJsonResult(Register, run.stdout), {
    user: { username: 'alice', name: 'Alice Liddell' },
    profile: 'default',
  });

  const [registration] = gateway.requestsTo('POST', '/v1/users');
  t.deepEqual(JSON.parse(registration?.body ?? ''), {
    username: 'alice',
    password: PASSWORD,
    name: 'Alice Liddell',
  });
  t.is(registration?.headers.authorization, undefined);
  t.regex(String(registration?.headers['idempotency-key']), /^[A-Za-z0-9_-]{1,64}$/);

  const file = path.join(configDir, 'profiles', 'default.json');
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.is((await stat(configDir)).mode & 0o777, 0o700);
  t.is((await stat(path.dirname(file))).mode & 0o777, 0o700);
  const stored = JSON.parse(await readFile(file, 'utf8')) as {
    login: { token: string };
    servers: string[];
    ca: string;
  };
  t.is(stored.login.token, 'token-of-alice');
  t.deepEqual(stored.servers, [gateway.url]);
  t.is(stored.ca, tls.caFile);
});

test('each profile keeps its own login, and later commands use its token and gateways', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir, { username: 'alice' });
  await logIn(gateway, tls, configDir, { username: 'bob', profile: 'work' });

  // No --server and no --ca: both come from the profile.
  const asBob = await runCommand(Whoami, [
    '--json',
    '--check',
    '--profile',
    'work',
    '--config-dir',
    configDir,
  ]);
  t.is(asBob.exitCode, 0, asBob.stderr);
  t.like(parseJsonResult(Whoami, asBob.stdout), { user: { username: 'bob' }, profile: 'work' });
  const asAlice = await runCommand(Whoami, ['--json', '--check', '--config-dir', configDir]);
  t.like(parseJsonResult(Whoami, asAlice.stdout), {
    user: { username: 'alice' },
    profile: 'default',
  });

  const tokens = gateway.requestsTo('GET', '/v1/me').map((r) => r.headers.authorization);
  t.deepEqual(tokens, ['Bearer token-of-bob', 'Bearer token-of-alice']);
  for (const profile of ['default', 'work']) {
    const file = path.join(configDir, 'profiles', `${profile}.json`);
    t.is((await stat(file)).mode & 0o777, 0o600);
  }
});

test('logout ends the session on the server, forgets the token, and keeps the gateways for the next login', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);

  const logout = await runCommand(Logout, ['--json', '--config-dir', configDir]);
  t.deepEqual(parseJsonResult(Logout, logout.stdout), {
    profile: 'default',
    loggedOut: true,
    revoked: true,
  });
  const revoked = gateway.requestsTo('DELETE', '/v1/sessions/current');
  t.is(revoked.length, 1);
  t.is(revoked[0]?.headers.authorization, 'Bearer token-of-alice');

  const whoami = await runCommand(Whoami, ['--config-dir', configDir]);
  t.is(whoami.exitCode, 2);
  t.regex(whoami.stderr, /run agenda login/);
  t.is(gateway.requestsTo('GET', '/v1/me').length, 0);

  const profile = await new ProfileStore(configDir).read('default');
  t.deepEqual(profile.servers, [gateway.url]);
  t.is(profile.login, null);
});

test('whoami answers from the profile, without a gateway; a session that ended is said so; --check asks the gateway', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const asked = gateway.requests.length;
  const stored = (await new ProfileStore(configDir).read('default')).login;

  // Its gateway gone: the profile still says who, where and until when.
  await gateway.close();
  const local = await runCommand(Whoami, ['--json', '--config-dir', configDir]);
  t.is(local.exitCode, 0, local.stderr);
  t.deepEqual(parseJsonResult(Whoami, local.stdout), {
    user: { username: 'alice', name: 'Alice Liddell' },
    profile: 'default',
    servers: [gateway.url],
    expiresAt: stored?.refreshExpiresAt ?? null,
    accessExpiresAt: stored?.expiresAt ?? null,
    checked: false,
  });
  t.is(gateway.requests.length, asked, 'no request');
  const human = await runCommand(Whoami, ['--config-dir', configDir]);
  t.is(human.exitCode, 0, human.stderr);
  t.regex(human.stdout, /^alice \(Alice Liddell\), session valid for 30 d \(until .+\)\n/);
  t.regex(
    human.stdout,
    /\nprofile default, gateway https:\/\/127\.0\.0\.1:\d+ \(from the profile; --check asks the gateway\)\n$/,
  );

  // --check asks the gateway, which is down: it says so (exit 5).
  const check = await runCommand(Whoami, ['--check', '--config-dir', configDir]);
  t.is(check.exitCode, 5);
  t.regex(check.stderr, /service unavailable/);

  // A session past its end is said to be over, naming whose, from the profile alone.
  const profiles = new ProfileStore(configDir);
  const profile = await profiles.read('default');
  if (profile.login === null) return t.fail('no login stored');
  await profiles.write('default', {
    ...profile,
    login: { ...profile.login, refreshExpiresAt: '2020-01-01T00:00:00Z' },
  });
  // When is said as other times are, in --tz, and how long ago; the instant itself, for a
  // script, in the JSON details.
  const ended = await runCommand(Whoami, [
    '--json',
    '--tz',
    'Europe/Madrid',
    '--config-dir',
    configDir,
  ]);
  t.is(ended.exitCode, 2);
  const { error } = parseJsonLine(ended.stderr) as {
    error: { code: string; message: string; details: Record<string, unknown> };
  };
  t.is(error.code, 'unauthenticated');
  t.regex(
    error.message,
    /^the login of alice expired at Wed 1 Jan 2020 01:00 \(\d+ d ago\): run agenda login alice$/,
  );
  t.deepEqual(error.details, { expiresAt: '2020-01-01T00:00:00Z' });
  const endedHuman = await runCommand(Whoami, [
    '--tz',
    'America/New_York',
    '--config-dir',
    configDir,
  ]);
  t.is(endedHuman.exitCode, 2);
  t.regex(
    endedHuman.stderr,
    /^error: the login of alice expired at Tue 31 Dec 2019 19:00 \(\d+ d ago\): run agenda login alice\n$/,
  );
  t.notRegex(endedHuman.stderr, /2020-01-01T/);
});

test('a stored login past its expiry exits 2 before any request', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await new ProfileStore(configDir).write('default', {
    servers: [gateway.url],
    ca: tls.caFile,
    login: { username: 'alice', name: '', token: 'old', expiresAt: '2020-01-01T00:00:00Z' },
  });
  const run = await runCommand(EventList, ['--json', '--config-dir', configDir]);
  t.is(run.exitCode, 2);
  const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
  t.is(error.code, 'unauthenticated');
  t.regex(error.message, /expired.*run agenda login/);
  t.notRegex(error.message, /2020-01-01T/);
  t.like(error, { details: { expiresAt: '2020-01-01T00:00:00Z' } });

  // One that ended lately, as a person reads it: the day and time (the year only when it
  // is not this one) and how long ago.
  const lately = new Date(Date.now() - 3 * 3_600_000).toISOString();
  await new ProfileStore(configDir).write('default', {
    servers: [gateway.url],
    ca: tls.caFile,
    login: { username: 'alice', name: '', token: 'old', expiresAt: lately },
  });
  const human = await runCommand(EventList, ['--tz', 'UTC', '--config-dir', configDir]);
  t.is(human.exitCode, 2);
  t.regex(
    human.stderr,
    /^error: the login of alice expired at [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}( \d{4})? \d{2}:\d{2} \(3 h ago\): run agenda login alice\n$/,
  );
  t.is(gateway.requests.length, 0);
});

test('a token the gateway refuses exits 2 and says to run agenda login', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await new ProfileStore(configDir).write('default', {
    servers: [gateway.url],
    ca: tls.caFile,
    login: {
      username: 'alice',
      name: '',
      token: 'forged',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    },
  });
  const run = await runCommand(Whoami, ['--json', '--check', '--config-dir', configDir]);
  t.is(run.exitCode, 2);
  t.is(run.stdout, '');
  const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
  t.is(error.code, 'unauthenticated');
  t.regex(error.message, /run agenda login$/);
});

test('a wrong password exits 2 and stores nothing', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  const run = await runCommand(
    Login,
    ['alice', '--password-stdin', ...connectionFlags(gateway, tls, configDir)],
    new RecordedTerminal({ stdin: 'wrong\n' }),
  );
  t.is(run.exitCode, 2);
  t.regex(run.stderr, /wrong username or password/);
  t.is((await new ProfileStore(configDir).read('default')).login, null);
});

test('without a terminal to prompt on, login asks for --password-stdin (exit 1, no request)', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  const run = await runCommand(Login, [
    'alice',
    '--json',
    ...connectionFlags(gateway, tls, configDir),
  ]);
  t.is(run.exitCode, 1);
  t.regex(run.stderr, /--password-stdin/);
  t.is(gateway.requests.length, 0);
});

test('an empty --password-stdin exits 1 before any request', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  const run = await runCommand(
    Login,
    ['alice', '--password-stdin', ...connectionFlags(gateway, tls, configDir)],
    new RecordedTerminal({ stdin: '\n' }),
  );
  t.is(run.exitCode, 1);
  t.is(gateway.requests.length, 0);
});

test('a profile name that is not a file name is refused (exit 1)', async (t) => {
  const configDir = await temporaryConfigDir();
  const run = await runCommand(Whoami, ['--profile', '../escape', '--config-dir', configDir]);
  t.is(run.exitCode, 1);
  t.regex(run.stderr, /not a profile name/);
});

test('the password prompt never echoes what is typed, and backspace edits it', async (t) => {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(mode: boolean) {
      this.rawModes.push(mode);
      return this;
    },
  });
  const output = new RecordedOutput(true);
  const answer = promptPassword(input, output, 'Password: ');
  input.write('hunter3');
  input.write('\u007f2\r');
  t.is(await answer, 'hunter2');
  t.is(output.text, 'Password: \n');
  t.deepEqual(input.rawModes, [true, false]);
});

test('Ctrl-C at the password prompt cancels (exit 1)', async (t) => {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const answer = promptPassword(input, new RecordedOutput(true), 'Password: ');
  input.write('abc\u0003');
  const error = await t.throwsAsync(answer);
  t.regex(error?.message ?? '', /cancelled/);
});

test('logout with no gateway answering still forgets the token, and says the server was not told', async (t) => {
  const gateway = await accountsGateway();
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  await gateway.close();
  const logout = await runCommand(Logout, ['--config-dir', configDir]);
  t.is(logout.exitCode, 0, logout.stderr);
  t.regex(logout.stdout, /could not be told/);
  t.is((await new ProfileStore(configDir).read('default')).login, null);
});

test('password change sends the current and new password, and keeps the profile signed in with the new session', async (t) => {
  const gateway = await accountsGateway();
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const wrong = await runCommand(
    PasswordChange,
    ['--password-stdin', '--config-dir', configDir],
    new RecordedTerminal({ stdin: 'not it\na new passphrase\n' }),
  );
  t.is(wrong.exitCode, 2, wrong.stderr);
  // Logging in again would not help: the password typed is what is wrong.
  t.is(wrong.stderr, 'error: the current password is wrong: the password is unchanged\n');
  const run = await runCommand(
    PasswordChange,
    ['--password-stdin', '--json', '--config-dir', configDir],
    new RecordedTerminal({ stdin: `${PASSWORD}\na new passphrase\n` }),
  );
  t.is(run.exitCode, 0, run.stderr);
  t.like(parseJsonResult(PasswordChange, run.stdout), { user: { username: 'alice' } });
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/account/password')[1]?.body ?? ''), {
    currentPassword: PASSWORD,
    newPassword: 'a new passphrase',
  });
  t.is((await new ProfileStore(configDir).read('default')).login?.token, 'token-of-alice-2');
  const oneLine = await runCommand(
    PasswordChange,
    ['--password-stdin', '--config-dir', configDir],
    new RecordedTerminal({ stdin: 'only one line\n' }),
  );
  t.is(oneLine.exitCode, 1, 'bad input');
  t.regex(oneLine.stderr, /two lines/);
});

test('with no gateway in the profile, --server or AGENDA_SERVER, register says how to set one (exit 1)', async (t) => {
  const configDir = await temporaryConfigDir();
  // oclif reads AGENDA_SERVER from the process's environment.
  const set = process.env.AGENDA_SERVER;
  delete process.env.AGENDA_SERVER;
  t.teardown(() => {
    if (set !== undefined) process.env.AGENDA_SERVER = set;
  });
  const run = await runCommand(
    Register,
    ['alice', '--password-stdin', '--config-dir', configDir, '--json'],
    new RecordedTerminal({ stdin: `${PASSWORD}\n` }),
  );
  t.is(run.exitCode, 1);
  const { error } = parseJsonLine(run.stderr) as { error: { message: string } };
  t.true(
    error.message.includes(
      'export AGENDA_SERVER=https://127.0.0.1:8443,https://127.0.0.1:8444 AGENDA_CA=.agenda/pki/ca.pem',
    ),
    error.message,
  );
  t.regex(error.message, /--server https:\/\/host:port/);
});
