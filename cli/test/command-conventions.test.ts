/**
 * What every `agenda` command owes its `--help`, checked over the commands oclif finds in
 * cli/commands (the same list the manifest is built from), so that a command added without
 * a summary or an example fails here rather than in a reader's terminal; and what
 * `agenda --help` opens with (cli/help.ts).
 */
import test from 'ava';
import { loadHelpClass } from '@oclif/core';
import type { Command } from '@oclif/core';
import AgendaHelp, { GET_STARTED } from '../help.js';
import ClusterStatus from '../commands/cluster/status.js';
import Dashboard from '../commands/dashboard.js';
import { cliConfig, parseJsonLine, runCommand } from './support/harness.js';
import { temporaryDirectory } from '../../test/support/temp-dirs.js';

/** The text of an example, whichever of oclif's two forms it takes. */
function exampleCommand(example: Command.Example): string {
  return typeof example === 'string' ? example : example.command;
}

/**
 * The long flags an example gives the command: those after `config.bin`, up to a pipe or a
 * redirection into another program (`… --json | jq -r .url`) or a `#` comment.
 */
function flagsOf(example: string): string[] {
  const afterBin = (example.split('<%= config.bin %>')[1] ?? '').replaceAll(/<%=.*?%>/g, '');
  const own = afterBin.split(/\s[|<>#]/)[0] ?? '';
  return [...own.matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? '');
}

test('every command has a summary and at least one example, naming only flags it has', async (t) => {
  const config = await cliConfig();
  // Ours, not the plugins' (help, version, autocomplete).
  const commands = config.commands.filter((c) => c.pluginName === config.pjson.name);
  t.true(commands.length > 30, `${commands.length} commands found`);
  for (const command of commands) {
    const name = command.id.replaceAll(':', ' ');
    t.true((command.summary ?? '').trim() !== '', `${name} has no summary`);
    const examples = [command.examples ?? []].flat();
    t.true(examples.length > 0, `${name} has no example`);
    for (const example of examples) {
      const text = exampleCommand(example);
      t.true(text.includes('<%= config.bin %>'), `${name}: ${text} does not run agenda`);
      for (const flag of flagsOf(text)) {
        t.true(flag in command.flags, `${name}: the example ${text} gives --${flag}, unknown`);
      }
    }
  }
});

test("operators' commands take none of a user's global flags", async (t) => {
  const config = await cliConfig();
  const operators = config.commands.filter(
    (c) => c.id === 'dashboard' || c.id.startsWith('cluster:'),
  );
  t.true(operators.length >= 7, operators.map((c) => c.id).join(', '));
  for (const command of operators) {
    const userFlags = ['server', 'ca', 'tz', 'profile', 'config-dir'].filter(
      (flag) => flag in command.flags,
    );
    t.deepEqual(userFlags, [], `agenda ${command.id.replaceAll(':', ' ')}`);
    t.true('json' in command.flags, `agenda ${command.id.replaceAll(':', ' ')} takes --json`);
  }
});

test('agenda --help opens with how to get started, in command lines agenda takes', async (t) => {
  const config = await cliConfig();
  // package.json names the help class, and oclif finds it.
  t.is(await loadHelpClass(config), AgendaHelp);
  const root = new AgendaHelp(config, { maxWidth: 80 }).formatRoot();
  t.regex(root, /^Agenda — your calendar.*\n\nGET STARTED\n {2}\S/);
  for (const line of root.split('\n')) t.true(line.length <= 80, `wider than 80: ${line}`);

  for (const { commands } of GET_STARTED) {
    for (const line of commands) {
      const words = line.split(' ').filter((word) => /^[a-z]+$/.test(word));
      // The longest run of leading words that names a command (`group add`, not `group add team`).
      const id =
        [3, 2, 1]
          .map((n) => words.slice(0, n).join(':'))
          .find((candidate) => config.findCommand(candidate) !== undefined) ?? 'home';
      const command = config.findCommand(id);
      t.truthy(command, `agenda ${line}`);
      for (const [, flag = ''] of line.matchAll(/(?:^|\s)--([a-z][a-z0-9-]*)/g)) {
        if (flag === 'help') continue;
        t.true(flag in (command?.flags ?? {}), `agenda ${line}: no --${flag}`);
      }
    }
  }
});

test('dashboard --json is refused, saying what prints the state as JSON; a missing data directory is a usage error naming it (outside attack P4)', async (t) => {
  const json = await runCommand(Dashboard, ['--json']);
  t.is(json.exitCode, 1);
  t.is(json.stdout, '');
  t.like(parseJsonLine(json.stderr), {
    error: {
      code: 'invalid',
      message:
        'the dashboard draws on a terminal and has no JSON form: agenda cluster status --json prints the state once',
    },
  });

  const empty = await temporaryDirectory('agenda-no-data-');
  const status = await runCommand(ClusterStatus, ['--data-dir', empty, '--json']);
  t.is(status.exitCode, 1, 'not 5: nothing is unavailable, the directory is the wrong one');
  t.like(parseJsonLine(status.stderr), {
    error: {
      code: 'invalid',
      message: `no Agenda data in ${empty} (start the system with npm start, or point at its data directory with --data-dir or AGENDA_DATA_DIR)`,
      details: { field: 'data-dir' },
    },
  });
});
