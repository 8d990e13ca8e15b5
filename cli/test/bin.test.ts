import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import EventList from '../commands/event/list.js';
import Import from '../commands/import.js';
import Login from '../commands/login.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import { PASSWORD, eventDetails, eventView, loginAnswer } from './support/fixtures.js';
import {
  REPOSITORY_ROOT,
  parseJsonLine,
  parseJsonResult,
  temporaryConfigDir,
} from './support/harness.js';

const BIN = path.join(REPOSITORY_ROOT, 'bin', 'agenda.js');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh config directory logged in as alice through `server` by the binary, and its env. */
async function loggedInThrough(
  t: ExecutionContext,
  server: string,
  caFile: string,
): Promise<{ configDir: string; env: Record<string, string> }> {
  const configDir = await temporaryConfigDir();
  const env = { AGENDA_CONFIG_DIR: configDir, AGENDA_SERVER: server, AGENDA_CA: caFile };
  const login = await agenda(
    ['login', 'alice', '--password-stdin', '--json'],
    env,
    `${PASSWORD}\n`,
  );
  t.is(login.code, 0, login.stderr);
  return { configDir, env };
}

/**
 * Runs the real `agenda` binary, as `node bin/agenda.js …`, with `env` added to a clean
 * environment: from the sources under test, or with `compiled`, as people run it (dist/).
 */
function agenda(
  args: string[],
  env: Record<string, string>,
  stdin = '',
  { compiled = false } = {},
): Promise<Exit> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AGENDA_')),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPOSITORY_ROOT,
      // The binary runs the sources under test, not dist/ (bin/agenda.js), unless told.
      env: { ...inherited, ...(compiled ? {} : { AGENDA_FROM_SOURCES: '1' }), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test('the agenda binary logs in, reuses the stored login and reports errors as JSON with exit codes', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', { status: 200, json: { events: [eventView()] } })
    // `nopenope` reads as an id prefix: looked for among the events and invitations first.
    .on('GET', '/v1/invitations', { status: 200, json: { invitations: [], groupInvitations: [] } })
    .on('GET', '/v1/events/:id', errorAnswer(404, 'not_found', 'no such event'));
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir(), AGENDA_PROFILE: 'work' };

  const login = await agenda(
    ['login', 'alice', '--password-stdin', '--json'],
    { ...env, AGENDA_SERVER: gateway.url, AGENDA_CA: tls.caFile },
    `${PASSWORD}\n`,
  );
  t.is(login.code, 0, login.stderr);
  t.like(parseJsonResult(Login, login.stdout), { user: { username: 'alice' }, profile: 'work' });

  // No server nor CA this time: the profile remembers them.
  const list = await agenda(['event', 'list', '--json'], env);
  t.is(list.code, 0, list.stderr);
  t.like(parseJsonResult(EventList, list.stdout), { events: [{ id: 'e1', title: 'Standup' }] });
  t.is(gateway.requestsTo('GET', '/v1/events')[0]?.headers.authorization, 'Bearer token-of-alice');

  const missing = await agenda(['event', 'show', 'nopenope', '--json'], env);
  t.is(missing.code, 3);
  t.is(missing.stdout, '');
  t.deepEqual(parseJsonLine(missing.stderr), {
    error: { code: 'not_found', message: 'no such event', details: {} },
  });

  const usage = await agenda(['event', 'add', '--json'], env);
  t.is(usage.code, 1);
  t.like(parseJsonLine(usage.stderr), { error: { code: 'invalid' } });

  const unknown = await agenda(['frobnicate'], env);
  t.is(unknown.code, 1);
});

test('a failed command exits only after its whole result left through the pipe', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  // One import request of 150 events, one of which fails: exit code 4, and an answer far
  // larger than a pipe holds (64 KiB), as a big import's is.
  const uids = Array.from({ length: 150 }, (_, i) => `${'u'.repeat(900)}-${i}`);
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/import', {
      status: 200,
      json: {
        events: uids.slice(1).map((uid) => ({ uid, id: `id-${uid}`, action: 'created' })),
        failed: [{ index: 0, uid: uids[0], error: { code: 'conflict', message: 'it overlaps' } }],
        skipped: [],
      },
    });
  const { configDir, env } = await loggedInThrough(t, gateway.url, tls.caFile);
  const file = path.join(configDir, 'big.ics');
  const events = uids.flatMap((uid, i) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTART:2031${String(1 + (i % 12)).padStart(2, '0')}01T100000Z`,
    'DURATION:PT1H',
    'SUMMARY:birthday',
    'END:VEVENT',
  ]);
  await writeFile(
    file,
    ['BEGIN:VCALENDAR', 'VERSION:2.0', ...events, 'END:VCALENDAR', ''].join('\r\n'),
  );

  const run = await agenda(['import', file, '--json'], env);
  t.is(run.code, 4, run.stderr);
  t.true(run.stdout.length > 128 * 1024, `${run.stdout.length} characters`);
  t.is(parseJsonResult(Import, run.stdout).events.length, 149);
});

test('an import that skipped components exits 6 from the binary, its whole result out first and under --json a JSON warning on stderr', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/import', {
      status: 200,
      json: {
        events: [{ uid: 'standup', id: 'id-standup', action: 'created' }],
        failed: [],
        skipped: [{ uid: 'taxes', reason: 'VTODO "Taxes": only events (VEVENT) are imported' }],
      },
    });
  const { configDir, env } = await loggedInThrough(t, gateway.url, tls.caFile);
  const file = path.join(configDir, 'small.ics');
  await writeFile(
    file,
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VEVENT',
      'UID:standup',
      'DTSTART:20310101T100000Z',
      'SUMMARY:Standup',
      'END:VEVENT',
      'BEGIN:VTODO',
      'UID:taxes',
      'SUMMARY:Taxes',
      'END:VTODO',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  );
  const run = await agenda(['import', file, '--json'], env);
  t.is(run.code, 6, run.stderr);
  // Outside attack 16: not plain text pointing "above" at nothing, but a line of JSON.
  t.deepEqual(JSON.parse(run.stderr), {
    warning:
      '1 component was skipped (listed in the result\'s "skipped"): not everything in the file is in your agenda',
    code: 'incomplete',
  });
  t.like(parseJsonResult(Import, run.stdout), { complete: false, encoding: 'utf-8' });
});

test('an unknown command is answered with the nearest one, as JSON under --json, exit 1', async (t) => {
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir() };
  const typo = await agenda(['event', 'lst'], env);
  t.is(typo.code, 1);
  t.regex(typo.stderr, /"event lst" is not an agenda command; did you mean "event list"\?/);

  const json = await agenda(['evnt', 'list', '--json'], env);
  t.is(json.code, 1);
  t.like(parseJsonLine(json.stderr), {
    error: {
      code: 'unknown_command',
      suggestion: 'event list',
      details: { command: 'evnt list', suggestion: 'event list' },
    },
  });

  // A typo followed by an argument is still found (outside attack 12).
  const withArgument = await agenda(['serch', 'lunch'], env);
  t.is(withArgument.code, 1);
  t.is(
    withArgument.stderr,
    'error: "serch" is not an agenda command; did you mean "search"? (agenda --help lists them)\n',
  );

  // Words after a command that takes none are arguments it refuses, not an unknown command.
  const extra = await agenda(['event', 'list', 'tomorrow'], env);
  t.is(extra.code, 1);
  t.is(
    extra.stderr,
    'error: event list takes no argument ("tomorrow"): did you mean --from tomorrow? (agenda event list --help)\n',
  );
  const label = await agenda(['feed', 'create', 'phone', '--json'], env);
  t.is(label.code, 1);
  t.like(parseJsonLine(label.stderr), {
    error: {
      code: 'invalid',
      suggestion: '--label phone',
      details: { command: 'feed create', arguments: ['phone'], suggestion: '--label phone' },
    },
  });

  // Nothing near enough: no guess.
  const far = await agenda(['frobnicate'], env);
  t.is(far.code, 1);
  t.notRegex(far.stderr, /did you mean/);
});

test('-h, help, version and shell completion work as in other oclif CLIs', async (t) => {
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir() };
  const short = await agenda(['event', 'list', '-h'], env);
  t.is(short.code, 0);
  t.regex(short.stdout, /USAGE\n\s+\$ agenda event list/);
  const topic = await agenda(['help', 'event'], env);
  t.is(topic.code, 0);
  t.regex(topic.stdout, /event add/);
  const version = await agenda(['version'], env);
  t.is(version.code, 0);
  t.regex(version.stdout, /^agenda\/\d+\.\d+\.\d+ /);
  // One line of JSON like every command's, and nothing asked of the npm registry (whose
  // "agenda" is another project).
  const details = await agenda(['version', '--json', '--verbose'], env);
  t.is(details.code, 0, details.stderr);
  t.is(details.stdout.trim().split('\n').length, 1);
  t.like(parseJsonLine(details.stdout), { nodeVersion: `node-${process.version}` });
  t.notRegex(details.stdout, /latest|published/);
  const script = await agenda(['autocomplete', 'script', 'bash'], env);
  t.is(script.code, 0);
  t.regex(script.stdout, /AGENDA_AC_BASH_SETUP_PATH/);
  // `autocomplete fish` is our command, not the plugin's refusal of its argument.
  const fish = await agenda(['autocomplete', 'fish'], env);
  t.is(fish.code, 0, fish.stderr);
  t.regex(fish.stdout, /^complete -c agenda -f -n '__agenda_at \\'event\\'' -a 'add'/m);
  // After `--`, -h is an argument like any other.
  const literal = await agenda(['search', '--json', '--', '-h'], env);
  t.notRegex(literal.stdout, /USAGE/);
});

test('help among flags alone is the top-level help, and help for nothing there is says so', async (t) => {
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir() };
  const [short, long, unknown, unknownJson, shell] = await Promise.all([
    agenda(['--tz', 'UTC', '-h'], env),
    agenda(['--profile', 'work', '--help'], env),
    agenda(['help', 'evnt'], env),
    agenda(['help', 'nonsense', '--json'], env),
    agenda(['autocomplete', 'tcsh'], env),
  ]);
  for (const help of [short, long]) {
    t.is(help.code, 0, help.stderr);
    t.regex(help.stdout, /GET STARTED/);
    t.notRegex(help.stdout, /agenda home/);
  }
  t.is(unknown.code, 1);
  t.is(
    unknown.stderr,
    'error: "evnt" is not an agenda command; did you mean "event"? (agenda --help lists them)\n',
  );
  t.is(unknownJson.code, 1);
  t.like(parseJsonLine(unknownJson.stderr), { error: { code: 'unknown_command' } });
  t.is(shell.code, 1);
  // fish is completed too (cli/commands/autocomplete/fish.ts): the refusal names it.
  t.is(shell.stderr, 'error: "tcsh" is not one of bash, zsh, fish or powershell\n');
});

test('autocomplete says how to set completion up, as JSON with --json, fish included', async (t) => {
  // oclif's plugin writes the bash and zsh completions into its cache: a fresh one here.
  const env = {
    AGENDA_CONFIG_DIR: await temporaryConfigDir(),
    AGENDA_CACHE_DIR: await temporaryConfigDir(),
  };
  const [bash, fish, human, fromShell, unknownShell] = await Promise.all([
    agenda(['autocomplete', 'bash', '--json'], env),
    agenda(['--json', 'autocomplete', 'fish'], env),
    agenda(['autocomplete', 'zsh'], env),
    agenda(['autocomplete', '--json'], { ...env, SHELL: '/usr/bin/fish' }),
    agenda(['autocomplete', '--json'], { ...env, SHELL: '/bin/tcsh' }),
  ]);
  t.is(bash.code, 0, bash.stderr);
  t.deepEqual(parseJsonLine(bash.stdout), {
    shell: 'bash',
    setup: 'printf "$(agenda autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc',
  });
  t.is(bash.stdout.trim().split('\n').length, 1);
  t.is(fish.code, 0, fish.stderr);
  t.like(parseJsonLine(fish.stdout), { shell: 'fish' });
  t.is(human.code, 0, human.stderr);
  t.regex(
    human.stdout,
    /^To complete agenda in zsh, run once:\n\n {2}printf "\$\(agenda autocomplete script zsh\)" >> ~\/\.zshrc/,
  );
  t.deepEqual(parseJsonLine(fromShell.stdout), {
    shell: 'fish',
    setup: 'agenda autocomplete fish > ~/.config/fish/completions/agenda.fish',
  });
  t.is(unknownShell.code, 1);
  t.like(parseJsonLine(unknownShell.stderr), {
    error: {
      code: 'invalid',
      message: '"tcsh" (from $SHELL) is not one of bash, zsh, fish or powershell: give the shell',
    },
  });
  // The script its setup line sources was made.
  const script = await agenda(['autocomplete', 'script', 'bash'], env);
  t.regex(script.stdout, /AGENDA_AC_BASH_SETUP_PATH=.*bash_setup/);
});

test('global flags work before the command, and --version and help print JSON with --json', async (t) => {
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir() };
  const [json, profile, version, versionAfter, help, helpShort] = await Promise.all([
    agenda(['--json', 'today'], env),
    agenda(['--profile', 'work', 'event', 'list'], env),
    agenda(['--version', '--json'], env),
    agenda(['--json', '--version'], env),
    agenda(['help', '--json'], env),
    agenda(['--json', '-h'], env),
  ]);
  // `today` ran (and wants a login), rather than `agenda` alone refusing "today".
  t.is(json.code, 2, json.stderr);
  t.like(parseJsonLine(json.stderr), { error: { code: 'unauthenticated' } });
  t.is(profile.code, 2, profile.stderr);
  t.regex(
    profile.stderr,
    /^error: not logged in on profile work: run agenda login <username> --profile work/,
  );
  for (const run of [version, versionAfter]) {
    t.is(run.code, 0, run.stderr);
    t.like(parseJsonLine(run.stdout), { nodeVersion: `node-${process.version}` });
  }
  for (const run of [help, helpShort]) {
    t.is(run.code, 0, run.stderr);
    const listed = parseJsonLine(run.stdout) as { commands: { id: string; summary: string }[] };
    t.true(listed.commands.some((c) => c.id === 'event add' && c.summary !== ''));
  }
});

test('with --json every refusal of a command line is one line of JSON on stderr, worded as a sentence', async (t) => {
  const env = { AGENDA_CONFIG_DIR: await temporaryConfigDir() };
  const refusals: readonly [string[], string][] = [
    // Refused by oclif's parser, as each command parses its flags (an unknown command: above).
    [['agenda', '--json'], 'give one of --group or --users'],
    [
      ['agenda', '--group', 'team', '--users', 'bob', '--json'],
      '--group and --users cannot be given together',
    ],
    [
      ['event', 'add', 'Dentist', '--start=tomorrow 9am', '--end=10am', '--duration=1h', '--json'],
      '--duration and --end cannot be given together',
    ],
    [
      ['cluster', 'status', '--server', 'https://127.0.0.1:8443', '--json'],
      'unknown flag --server (--help lists the flags)',
    ],
    [['week', '--width', '0', '--json'], '--width must be a whole number of at least 20 (got 0)'],
  ];
  const runs = await Promise.all(refusals.map(([args]) => agenda(args, env)));
  for (const [i, [args, message]] of refusals.entries()) {
    const run = runs[i];
    const what = `agenda ${args.join(' ')}`;
    t.is(run?.code, 1, what);
    t.is(run?.stdout, '', what);
    const { error } = parseJsonLine(run?.stderr ?? '') as {
      error: { code: string; message: string };
    };
    t.is(error.code, 'invalid', what);
    t.is(error.message, message, what);
  }

  // Without --json, the same sentence after "error:".
  const text = await agenda(['agenda'], env);
  t.is(text.code, 1);
  t.is(text.stderr, 'error: give one of --group or --users\n');
});

test('the compiled binary (dist/, as people run it) logs in, lists, adds with a natural date and refuses', async (t) => {
  // What `npm ci` builds (bin/build.js): tsc, then the CLI bundled by esbuild, then oclif's
  // manifest. Up to date after `npm ci`, when this takes a second; else it builds.
  t.timeout(300_000);
  const built = spawnSync(process.execPath, [path.join(REPOSITORY_ROOT, 'bin', 'build.js')], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  });
  t.is(built.status, 0, built.stderr);

  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('GET', '/v1/events', { status: 200, json: { events: [eventView()] } })
    .on('POST', '/v1/events', {
      status: 201,
      json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
    });
  const env = {
    AGENDA_CONFIG_DIR: await temporaryConfigDir(),
    AGENDA_SERVER: gateway.url,
    AGENDA_CA: tls.caFile,
  };
  const run = (args: string[], stdin = ''): Promise<Exit> =>
    agenda(args, env, stdin, { compiled: true });

  const short = await run(['--version']);
  t.is(short.code, 0, short.stderr);
  t.regex(short.stdout, /^agenda\/\d+\.\d+\.\d+ /);
  // Output that cannot be written is one sentence and exit 1, not a stack of bundled source.
  const full = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(full));
  const unwritten = spawnSync(process.execPath, [BIN, '--version'], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, AGENDA_FROM_SOURCES: '', ...env },
    stdio: ['ignore', full, 'pipe'],
    encoding: 'utf8',
  });
  t.is(unwritten.status, 1);
  t.is(unwritten.stderr, 'error: cannot write the output (ENOSPC)\n');

  const login = await run(['login', 'alice', '--password-stdin', '--json'], `${PASSWORD}\n`);
  t.is(login.code, 0, login.stderr);
  const list = await run(['event', 'list', '--json']);
  t.is(list.code, 0, list.stderr);
  t.like(parseJsonResult(EventList, list.stdout), { events: [{ id: 'e1', title: 'Standup' }] });

  // chrono-node, which the bundle leaves to Node to find, reads "tomorrow 9am".
  const add = await run([
    'event',
    'add',
    'Planning',
    '--start',
    'tomorrow 9am',
    '--duration',
    '1h30',
  ]);
  t.is(add.code, 0, add.stderr);
  const sent = JSON.parse(gateway.requestsTo('POST', '/v1/events')[0]?.body ?? '{}') as {
    start: string;
    duration: string;
  };
  t.like(sent, { duration: 'PT1H30M' });
  t.regex(sent.start, /T09:00:00/);

  const typo = await run(['event', 'lst', '--json']);
  t.is(typo.code, 1);
  t.like(parseJsonLine(typo.stderr), { error: { code: 'unknown_command' } });
  const help = await run(['event', '-h']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /event list/);
  // The plugins' commands run on their own copy of oclif, beside the bundle's.
  const topic = await run(['help', 'event', 'add']);
  t.is(topic.code, 0, topic.stderr);
  t.regex(topic.stdout, /USAGE\n\s+\$ agenda event add/);
  const script = await run(['autocomplete', 'script', 'bash']);
  t.is(script.code, 0, script.stderr);
  t.regex(script.stdout, /AGENDA_AC_BASH_SETUP_PATH/);
  const version = await run(['version', '--json']);
  t.is(version.code, 0, version.stderr);
  t.like(parseJsonLine(version.stdout), { nodeVersion: `node-${process.version}` });
  // Their errors come from their copy of oclif, and still read as ours: one sentence, the
  // exit code, nothing of oclif's own printing.
  const unknown = await run(['help', 'evnt']);
  t.is(unknown.code, 1);
  t.is(
    unknown.stderr,
    'error: "evnt" is not an agenda command; did you mean "event"? (agenda --help lists them)\n',
  );
  const shell = await run(['autocomplete', 'tcsh', '--json']);
  t.is(shell.code, 1);
  t.like(parseJsonLine(shell.stderr), {
    error: { code: 'invalid', message: '"tcsh" is not one of bash, zsh, fish or powershell' },
  });
  // fish is ours (cli/commands/autocomplete/fish.ts), in the manifest beside the plugin's.
  const fish = await run(['autocomplete', 'fish']);
  t.is(fish.code, 0, fish.stderr);
  t.regex(fish.stdout, /^complete -c agenda -f -n '__agenda_at \\'event\\'' -a 'add'/m);
});
