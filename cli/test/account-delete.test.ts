/**
 * `agenda account delete` against a fake gateway: the username typed to confirm (or --yes),
 * the password asked for or piped, the answer's counts, the profile removed, the exit codes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import type { AccountDeletedAnswer } from '../../contract/api.js';
import AccountDelete from '../commands/account/delete.js';
import { ProfileStore } from '../profiles.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { PASSWORD, loginAnswer, logIn } from './support/fixtures.js';
import {
  REPOSITORY_ROOT,
  RecordedTerminal,
  parseJsonLine,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
  waitUntil,
} from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

const DELETED: AccountDeletedAnswer = {
  deleted: true,
  username: 'alice',
  deletedAt: '2026-03-02T09:00:00.000Z',
  complete: true,
  removed: {
    eventsDeleted: 3,
    eventsCancelled: 1,
    eventsLeft: 2,
    groupsLeft: 1,
    groupsHandedOver: 1,
    groupsDissolved: 0,
    groupInvitationsDeclined: 0,
    groupBlocksRemoved: 0,
    feedsRevoked: 1,
    devicesRevoked: 0,
    sessionsEnded: 2,
  },
};

/** A gateway that logs alice in and deletes her account given {@link PASSWORD}. */
async function deletingGateway(answer: AccountDeletedAnswer = DELETED): Promise<FakeGateway> {
  const gateway = await FakeGateway.start(tls);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer('alice') })
    .on('POST', '/v1/account/delete', (request) => {
      const body = JSON.parse(request.body) as { password: string };
      return body.password === PASSWORD
        ? { status: 200, json: answer }
        : errorAnswer(401, 'unauthenticated', 'the password is not right');
    });
  return gateway;
}

async function signedIn(t: { teardown(fn: () => unknown): void }, answer?: AccountDeletedAnswer) {
  const gateway = await deletingGateway(answer);
  t.teardown(() => gateway.close());
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir, profiles: new ProfileStore(configDir) };
}

/** A terminal whose standard input is a keyboard the test types on. */
function keyboardTerminal() {
  const keyboard = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: () => undefined,
  });
  const terminal = Object.assign(new RecordedTerminal({ tty: true }), { stdin: keyboard });
  return { terminal, keyboard };
}

test('--yes with --password-stdin deletes the account, prints what went as JSON, and removes the profile', async (t) => {
  const { gateway, configDir, profiles } = await signedIn(t);
  const run = await runCommand(
    AccountDelete,
    ['--yes', '--password-stdin', '--json', '--config-dir', configDir],
    new RecordedTerminal({ stdin: `${PASSWORD}\n` }),
  );
  t.is(run.exitCode, 0, run.stderr);
  t.deepEqual(parseJsonResult(AccountDelete, run.stdout), {
    ...DELETED,
    profile: 'default',
    profileRemoved: true,
  });
  const sent = gateway.requestsTo('POST', '/v1/account/delete');
  t.is(sent.length, 1);
  t.deepEqual(JSON.parse(sent[0]?.body ?? ''), { password: PASSWORD });
  t.is(sent[0]?.headers.authorization, 'Bearer token-of-alice');
  t.deepEqual(await profiles.read('default'), { servers: [], ca: null, login: null });
});

test('typing the username confirms, then the password is asked for without echo', async (t) => {
  const { gateway, configDir, profiles } = await signedIn(t, { ...DELETED, complete: false });
  const { terminal, keyboard } = keyboardTerminal();
  const running = runCommand(AccountDelete, ['--config-dir', configDir], terminal);
  await waitUntil(() => terminal.stderr.text.includes('Type alice to confirm: '), 'the prompt');
  t.regex(terminal.stderr.text, /deletes the account alice for good/);
  keyboard.write('alice\n');
  await waitUntil(() => terminal.stderr.text.includes('Password: '), 'the password prompt');
  keyboard.write(`${PASSWORD}\r`);
  const run = await running;
  t.is(run.exitCode, 0, run.stderr);
  t.false(run.stderr.includes(PASSWORD));
  t.regex(run.stdout, /Deleted the account \S*alice\S*\./);
  t.regex(run.stdout, /3 events deleted, 1 event cancelled for the people invited/);
  t.regex(run.stdout, /being removed in the background/);
  t.regex(run.stdout, /cannot be registered again/);
  t.is(gateway.requestsTo('POST', '/v1/account/delete').length, 1);
  t.is((await profiles.read('default')).login, null);
});

test('typing anything but the username deletes nothing (exit 1)', async (t) => {
  const { gateway, configDir, profiles } = await signedIn(t);
  const { terminal, keyboard } = keyboardTerminal();
  const running = runCommand(AccountDelete, ['--config-dir', configDir], terminal);
  await waitUntil(() => terminal.stderr.text.includes('to confirm: '), 'the prompt');
  keyboard.write('yes\n');
  const run = await running;
  t.is(run.exitCode, 1);
  t.regex(run.stderr, /not confirmed/);
  t.is(gateway.requestsTo('POST', '/v1/account/delete').length, 0);
  t.not((await profiles.read('default')).login, null);
});

test('without a terminal to confirm on, or with the password piped, --yes is needed (exit 1, no request)', async (t) => {
  const { gateway, configDir } = await signedIn(t);
  const piped = await runCommand(
    AccountDelete,
    ['--password-stdin', '--config-dir', configDir],
    new RecordedTerminal({ stdin: `${PASSWORD}\n` }),
  );
  t.is(piped.exitCode, 1);
  t.regex(piped.stderr, /--password-stdin needs --yes/);
  const noTerminal = await runCommand(AccountDelete, ['--config-dir', configDir]);
  t.is(noTerminal.exitCode, 1);
  t.regex(noTerminal.stderr, /pass --yes/);
  t.notRegex(noTerminal.stderr, /for good/, 'no question is put where it cannot be answered');
  // Under --json the refusal is all stderr holds: one line of JSON.
  const json = await runCommand(AccountDelete, ['--json', '--config-dir', configDir]);
  t.is(json.exitCode, 1);
  t.like(parseJsonLine(json.stderr), {
    error: { code: 'invalid', message: 'no terminal to confirm on: pass --yes to confirm' },
  });
  t.is(gateway.requestsTo('POST', '/v1/account/delete').length, 0);
});

test('a wrong password exits 2 and keeps the profile signed in', async (t) => {
  const { configDir, profiles } = await signedIn(t);
  const run = await runCommand(
    AccountDelete,
    ['--yes', '--password-stdin', '--config-dir', configDir],
    new RecordedTerminal({ stdin: 'not it\n' }),
  );
  t.is(run.exitCode, 2);
  // Logging in would not help: it is the password that is wrong, and the message says so.
  t.is(run.stderr, 'error: the password is wrong: the account alice was not deleted\n');
  const json = await runCommand(
    AccountDelete,
    ['--yes', '--password-stdin', '--json', '--config-dir', configDir],
    new RecordedTerminal({ stdin: 'not it\n' }),
  );
  t.is(json.exitCode, 2);
  t.like(parseJsonLine(json.stderr), {
    error: {
      code: 'unauthenticated',
      message: 'the password is wrong: the account alice was not deleted',
    },
  });
  t.not((await profiles.read('default')).login, null);
});

test('not logged in exits 2 before any request', async (t) => {
  const configDir = await temporaryConfigDir();
  const run = await runCommand(AccountDelete, ['--yes', '--config-dir', configDir]);
  t.is(run.exitCode, 2);
  t.regex(run.stderr, /not logged in/);
});

test('the agenda binary deletes with --yes --password-stdin --json, and reports a refusal as JSON with exit 2', async (t) => {
  const { configDir } = await signedIn(t);
  const bin = (stdin: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(REPOSITORY_ROOT, 'bin', 'agenda.js'),
          ...['account', 'delete', '--yes', '--password-stdin', '--json'],
        ],
        {
          cwd: REPOSITORY_ROOT,
          env: {
            ...Object.fromEntries(
              Object.entries(process.env).filter(([name]) => !name.startsWith('AGENDA_')),
            ),
            AGENDA_CONFIG_DIR: configDir,
            AGENDA_FROM_SOURCES: '1', // the sources under test, not dist/ (bin/agenda.js)
          },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  const wrong = await bin('not it\n');
  t.is(wrong.code, 2, wrong.stderr);
  t.like(parseJsonLine(wrong.stderr), { error: { code: 'unauthenticated' } });
  const run = await bin(`${PASSWORD}\n`);
  t.is(run.code, 0, run.stderr);
  t.like(parseJsonResult(AccountDelete, run.stdout), {
    deleted: true,
    username: 'alice',
    profileRemoved: true,
  });
});
