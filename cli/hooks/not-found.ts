/**
 * What `agenda` answers to a command it does not have: the closest one it has ("did you
 * mean"), whether or not it runs on a terminal, as JSON under `--json` like every other
 * error (`{"error":{"code":"unknown_command",…}}` on stderr), and exit 1: a usage error, by
 * the CLI's exit codes (cli/README.md), not a shell's 127.
 *
 * oclif's plugin-not-found offers the suggestion only as a yes/no prompt on a terminal, says
 * nothing of it to a script, and ignores `--json`; it also brought 44 packages with it.
 */
import type { Command, Hook } from '@oclif/core';
import { printable } from '../../base/table.js';
import { closest } from '../nearest.js';
import { currentInstant, parseInterval, resolveZone } from '../time.js';

export { closest, editDistance } from '../nearest.js';

/** The most of an unknown command that is quoted back. */
const MAX_ECHOED = 80;

/** The flags that take a time or a day, the one a word reading as a time is suggested for. */
const TIME_FLAGS = ['from', 'date', 'start'];

const hook: Hook<'command_not_found'> = function (opts) {
  const commands = opts.config.commands.filter((c) => !c.hidden);
  // A topic is something to type too: `agenda event` (or `agenda help event`) lists its commands.
  const topics = opts.config.topics.filter((topic) => !topic.hidden).map((topic) => topic.name);
  const known = [...new Set([...commands.flatMap((c) => [c.id, ...c.aliases]), ...topics])].map(
    spaced,
  );
  const refusal = extraArguments(opts.id, commands) ?? unknownCommand(spaced(opts.id), known);
  if ((opts.argv ?? []).includes('--json')) {
    // `details` as every other JSON error has it (contract/errors.ts); `suggestion` also at
    // the top, where scripts written before read it.
    const nearest = refusal.suggestion === undefined ? {} : { suggestion: refusal.suggestion };
    const error = {
      code: refusal.code,
      message: refusal.message,
      details: { ...refusal.details, ...nearest },
      ...nearest,
    };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else {
    process.stderr.write(`error: ${refusal.message}\n`);
  }
  // The hook must answer a promise; exit() throws, which rejects it.
  return Promise.resolve().then(() => this.exit(1));
};

export default hook;

/** What the hook refuses a command line with. */
interface Refusal {
  readonly code: 'unknown_command' | 'invalid';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly suggestion?: string;
}

/** What was typed, as it is quoted back: shown, not obeyed, and not all of a long one. */
function echo(typed: string): string {
  return printable(typed.length > MAX_ECHOED ? `${typed.slice(0, MAX_ECHOED)}…` : typed);
}

/**
 * oclif reads every word before the first flag as the command's name when the command
 * takes no argument: `event list tomorrow` is looked for as the command `event list
 * tomorrow`. When the first words are a command, the rest are arguments it does not take
 * (outside attack 12): said so, with the flag that was likely meant — `--from` for a word
 * that reads as a time, a command's one flag (`feed create phone`: `--label phone`) — or
 * else the flags it takes.
 */
export function extraArguments(
  id: string,
  commands: readonly Pick<Command.Loadable, 'id' | 'aliases' | 'flags' | 'hidden'>[],
): Refusal | null {
  const words = id.split(':');
  for (let k = words.length - 1; k > 0; k--) {
    const name = words.slice(0, k).join(':');
    const command = commands.find((c) => c.id === name || c.aliases.includes(name));
    if (command === undefined) continue;
    const given = words.slice(k);
    const text = given.join(' ');
    const shown = spaced(name);
    const own = Object.entries(command.flags)
      .filter(([, flag]) => flag.helpGroup !== 'GLOBAL' && flag.hidden !== true)
      .map(([flagName, flag]) => ({ name: flagName, takesValue: flag.type === 'option' }));
    const quoted = /\s/.test(text) ? `"${text}"` : text;
    const timeFlag = TIME_FLAGS.find((flag) => own.some((o) => o.name === flag));
    const others = own.filter((flag) => flag.takesValue && !TIME_FLAGS.includes(flag.name));
    const meant =
      timeFlag !== undefined && readsAsTime(text)
        ? `--${timeFlag} ${quoted}`
        : others.length === 1 && own.filter((flag) => flag.takesValue).length === 1
          ? `--${others[0]?.name} ${quoted}`
          : undefined;
    const message =
      `${shown} takes no argument ("${echo(text)}")` +
      (meant !== undefined
        ? `: did you mean ${printable(meant)}?`
        : own.length > 0
          ? `: its flags are ${own.map((flag) => `--${flag.name}`).join(', ')}`
          : '') +
      ` (agenda ${shown} --help)`;
    return {
      code: 'invalid',
      message,
      details: { command: shown, arguments: given.map(echo) },
      ...(meant === undefined ? {} : { suggestion: printable(meant) }),
    };
  }
  return null;
}

/**
 * An unknown command, with the nearest known one if one is clearly meant. The words after
 * the command's name may be arguments (`serch lunch`, `event ad Lunch`): the longest first
 * words that are near a command are taken for its name.
 */
function unknownCommand(typed: string, known: readonly string[]): Refusal {
  const { name, suggestion } = nearestCommand(typed, known);
  const echoed = echo(name);
  return {
    code: 'unknown_command',
    message:
      `"${echoed}" is not an agenda command` +
      (suggestion === null ? '' : `; did you mean "${suggestion}"?`) +
      ' (agenda --help lists them)',
    details: { command: echoed },
    ...(suggestion === null ? {} : { suggestion }),
  };
}

/**
 * The nearest known command to the first words of `typed` (`serch lunch`: `search`), and
 * those words; all of `typed` and null when no first words are clearly a command's typo.
 * The longest first words are tried first (`grup list` is `group list`, not `group`).
 */
export function nearestCommand(
  typed: string,
  known: readonly string[],
): { readonly name: string; readonly suggestion: string | null } {
  const words = typed.split(' ');
  // A long line of words is no command: only the first few are tried.
  for (let k = Math.min(words.length, 4); k > 0; k--) {
    const name = words.slice(0, k).join(' ');
    if (known.includes(name)) continue;
    const suggestion = closest(name, known);
    if (suggestion !== null) return { name, suggestion };
  }
  return { name: typed, suggestion: null };
}

/** Whether `text` reads as a time or day (`tomorrow`, `next week`, `2026-04-01`). */
function readsAsTime(text: string): boolean {
  try {
    const zone = resolveZone(undefined);
    parseInterval(text, undefined, { zone, now: currentInstant(zone), note: () => undefined });
    return true;
  } catch {
    return false;
  }
}

/** A command id as people type it: `event list`, not `event:list`. */
function spaced(id: string): string {
  return id.split(':').join(' ');
}
