/**
 * The command line as `agenda` reads it before oclif (bin/command-line.js).
 */
import test from 'ava';
import { GLOBAL_FLAGS, commandFirst } from '../../bin/command-line.js';
import { AgendaCommand } from '../base-command.js';

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
