/**
 * The command line as `agenda` reads it before oclif (bin/command-line.js), and what
 * `agenda help --json` prints (cli/help.ts).
 */
import test from 'ava';
import { GLOBAL_FLAGS, commandFirst } from '../../bin/command-line.js';
import { AgendaCommand } from '../base-command.js';
import { helpJson } from '../help.js';
import { cliConfig } from './support/harness.js';

test('global flags given before the command go after it, before any --', (t) => {
  t.deepEqual(commandFirst(['--json', 'today']), ['today', '--json']);
  t.deepEqual(commandFirst(['--profile', 'work', 'event', 'list', '--from', 'monday']), [
    'event',
    'list',
    '--from',
    'monday',
    '--profile',
    'work',
  ]);
  t.deepEqual(commandFirst(['--tz=UTC', '--json', 'search', 'x', '--', '-h']), [
    'search',
    'x',
    '--tz=UTC',
    '--json',
    '--',
    '-h',
  ]);
  // Between the command's words, or given twice.
  t.deepEqual(commandFirst(['event', '--profile', 'al', 'list']), [
    'event',
    'list',
    '--profile',
    'al',
  ]);
  t.deepEqual(commandFirst(['--json', '--profile', 'al', 'event', '--json', 'list']), [
    'event',
    'list',
    '--json',
    '--profile',
    'al',
  ]);
  // Left alone: flags only (home), help and version, a flag no command shares, or none.
  for (const argv of [
    [],
    ['--json'],
    ['--profile', 'work'],
    ['--profile', 'work', '--help'],
    ['--json', '--version'],
    ['--width', '30', 'today'],
    ['today', '--json'],
    ['--', 'today'],
  ]) {
    t.deepEqual(commandFirst(argv), argv, argv.join(' '));
  }
});

test("the binary's list of global flags is AgendaCommand's", (t) => {
  const declared = Object.entries(AgendaCommand.baseFlags).map(
    ([name, flag]) => [`--${name}`, flag.type === 'option'] as const,
  );
  t.deepEqual(Object.fromEntries(declared), { ...GLOBAL_FLAGS });
});

test('help --json lists the commands with their summaries, a topic its own, a command in full', async (t) => {
  const config = await cliConfig();
  const root = helpJson(config, []);
  t.true(root !== null && 'topics' in root);
  if (root === null || !('topics' in root)) return;
  t.like(
    root.commands.find((c) => c.id === 'event add'),
    { summary: 'Schedule an event, an appointment (--with) or a group event (--group).' },
  );
  t.true(root.commands.every((c) => c.summary !== ''));
  t.true(root.topics.some((topic) => topic.name === 'event'));

  const topic = helpJson(config, ['event']);
  t.like(topic, { topic: { name: 'event' } });
  t.deepEqual(topic !== null && 'topic' in topic ? topic.commands.map((c) => c.id) : [], [
    'event add',
    'event cancel',
    'event list',
    'event show',
    'event update',
  ]);

  const command = helpJson(config, ['event', 'add', '--json']);
  t.true(command !== null && 'command' in command);
  if (command === null || !('command' in command)) return;
  t.is(command.command.id, 'event add');
  t.like(
    command.command.flags.find((f) => f.name === '--json'),
    { global: true },
  );
  t.like(
    command.command.flags.find((f) => f.name === '--start'),
    { global: false, required: true },
  );
  t.false(
    command.command.flags.some((f) => f.name === '--config-dir'),
    'hidden flags stay hidden',
  );
  t.true(command.command.examples.every((e) => e.startsWith('agenda event add')));

  t.is(helpJson(config, ['nonsense']), null);
});
