/**
 * How whatever a command line fails with becomes the {@link AgendaError} the CLI reports:
 * the project's own errors as they are, and oclif's refusals of a command line (an unknown
 * command or flag, a missing argument, flags that must or must not go together) as usage
 * errors (exit 1) worded as plain sentences naming the flags, as the CLI's own messages are
 * ("give one of --group or --users"), not as oclif's lists ("The following error occurred:
 * Exactly one of the following must be provided: --group, --users").
 *
 * Commands report through it (cli/base-command.ts), and so does the `agenda` binary for what
 * fails outside any command (bin/agenda.js), so that with `--json` every failure is the same
 * one line of JSON on stderr.
 */
import { stripVTControlCharacters } from 'node:util';
import type { Errors } from '@oclif/core';
import { Internal, InvalidInput, asAgendaError, isAgendaError } from '../contract/errors.js';
import { closest } from './nearest.js';
import type { AgendaError } from '../contract/errors.js';

/**
 * Whether `thrown` is one of oclif's errors. Known by its shape (`oclif.exit`), not its class:
 * the CLI's bundle has its own copy of oclif, and a plugin's command (help, autocomplete)
 * throws from the plugin's.
 */
export function isOclifError(thrown: unknown): thrown is Errors.CLIError {
  return (
    thrown instanceof Error &&
    typeof (thrown as { oclif?: { exit?: unknown } }).oclif?.exit === 'number'
  );
}

/** Any thrown value as the {@link AgendaError} to report. */
export function failureOf(thrown: unknown): AgendaError {
  if (isAgendaError(thrown)) return thrown;
  if (isOclifError(thrown)) {
    return (
      flagValueRefusal(thrown) ??
      unknownFlag(thrown) ??
      new InvalidInput(usageMessage(thrown), { cause: thrown })
    );
  }
  const unexpected = asAgendaError(thrown);
  if (unexpected instanceof Internal && thrown instanceof Error) {
    return new Internal(`an unexpected error occurred: ${thrown.message}`, { cause: thrown });
  }
  return unexpected;
}

/**
 * What the CLI knows of a failure beyond the error's wire form, for scripts to act on: a
 * write whose fate is unknown, with the key it was sent under; when a session ended. Kept
 * beside the error, since the wire forms are the gateway's contract (contract/errors.ts).
 */
const addedDetails = new WeakMap<AgendaError, Readonly<Record<string, unknown>>>();

/** `error`, whose `--json` `details` also carry `details` (see {@link failureJson}). */
export function withDetails<E extends AgendaError>(
  error: E,
  details: Readonly<Record<string, unknown>>,
): E {
  addedDetails.set(error, { ...addedDetails.get(error), ...details });
  return error;
}

/**
 * What `--json` prints on stderr for a failure: `{"error":{code,message,details}}` and a
 * newline, `details` with what {@link withDetails} added.
 */
export function failureJson(error: AgendaError): string {
  const wire = error.toWire();
  const added = addedDetails.get(error);
  const json = added === undefined ? wire : { ...wire, details: { ...wire.details, ...added } };
  return `${JSON.stringify({ error: json })}\n`;
}

/**
 * oclif's reasons for refusing flags (oclif/core lib/parser/validate.js), each as a sentence.
 * A reason none of these reads is shown as oclif wrote it.
 */
const FLAG_RULES: readonly (readonly [RegExp, (match: string[]) => string])[] = [
  [
    /^Exactly one of the following must be provided: (.+)$/,
    ([, flags = '']) => `give one of ${anyOf(flags)}`,
  ],
  [
    /^At least one of the following must be provided: (.+)$/,
    ([, flags = '']) => `give at least one of ${anyOf(flags)}`,
  ],
  // Given for each flag of the pair (`--group … --users`, then `--users … --group`), and with
  // the value after `=`: both read as the one sentence about the pair.
  [
    /^(--[\w-]+)(?:=.*)? cannot also be provided when using (--[\w-]+)$/,
    ([, one = '', other = '']) => `${[one, other].sort().join(' and ')} cannot be given together`,
  ],
  [
    /^All of the following must be provided when using (--[\w-]+): (.+)$/,
    ([, flag = '', flags = '']) => `${flag} needs ${allOf(flags)} too`,
  ],
  [
    /^One of the following must be provided when using (--[\w-]+): (.+)$/,
    ([, flag = '', flags = '']) => `${flag} needs one of ${anyOf(flags)}`,
  ],
  [
    /^Only the following can be provided when using (--[\w-]+): (.+)$/,
    ([, flag = '', flags = '']) => `${flag} can be given only with ${anyOf(flags)}`,
  ],
  [/^Missing required flag ([\w-]+)$/, ([, flag = '']) => `--${flag} is required`],
];

/**
 * oclif's refusals of one flag's value, as a sentence naming the flag in `field` (as the
 * CLI's own checks of a value do). oclif words them "Parsing --width \n\tExpected an integer
 * greater than or equal to 20 but received: 0" (a flag's own parser's reason, indented under
 * the flag's name) and "Expected --layout=tiles to be one of: grid, list".
 */
function flagValueRefusal(error: Errors.CLIError): InvalidInput | undefined {
  const text = stripVTControlCharacters(error.message).replaceAll(
    /\n?See more help with --help/g,
    '',
  );
  const parsing = /^Parsing --([\w-]+)\s*\n\s*([^]*)$/.exec(text);
  const [flag, reason] = parsing
    ? [parsing[1] ?? '', (parsing[2] ?? '').trim()]
    : [undefined, text];
  const choice = /^Expected --([\w-]+)=([^]*) to be one of: (.+)$/.exec(reason);
  if (choice) {
    const [, name = '', given = '', options = ''] = choice;
    return new InvalidInput(`--${name} must be one of ${anyOf(options)} (got ${given})`, {
      field: name,
      cause: error,
    });
  }
  if (flag === undefined) return undefined;
  const integer =
    /^Expected an integer(?: (greater|less) than or equal to (-?\d+))? but received: ([^]*)$/.exec(
      reason,
    );
  const bound =
    integer?.[1] === undefined
      ? ''
      : ` of at ${integer[1] === 'greater' ? 'least' : 'most'} ${integer[2]}`;
  const message = integer
    ? `--${flag} must be a whole number${bound} (got ${integer[3]})`
    : `--${flag}: ${reason}`;
  return new InvalidInput(message, { field: flag, cause: error });
}

/**
 * oclif's "Nonexistent flag: --duraton", with the command's nearest flag when one is clearly
 * meant (outside attack 12's P4: a typo of a flag was only called nonexistent), as the
 * not-found hook does for commands: `unknown flag --duraton: did you mean --duration?`.
 */
function unknownFlag(error: Errors.CLIError): InvalidInput | undefined {
  const refusal = error as {
    flags?: unknown;
    parse?: { input?: { flags?: Record<string, { hidden?: boolean; char?: string }> } };
  };
  if (!/^Nonexistent flags?: /.test(error.message) || !Array.isArray(refusal.flags)) {
    return undefined;
  }
  const given = refusal.flags.filter((flag): flag is string => typeof flag === 'string');
  const known = Object.entries(refusal.parse?.input?.flags ?? {})
    .filter(([, flag]) => flag.hidden !== true)
    .map(([name]) => `--${name}`);
  const said = given.map((flag) => {
    // Only the name: `--duraton=1h` is the flag --duraton.
    const name = flag.split('=', 1)[0] ?? flag;
    const nearest = closest(name, known);
    return { flag: name, nearest };
  });
  const message = said
    .map(({ flag, nearest }) => {
      const shown = printableFlag(flag);
      return nearest === null
        ? `unknown flag ${shown}`
        : `unknown flag ${shown}: did you mean ${nearest}?`;
    })
    .join('; ');
  const suggestions = said.flatMap(({ nearest }) => (nearest === null ? [] : [nearest]));
  return withDetails(new InvalidInput(`${message} (--help lists the flags)`, { cause: error }), {
    flags: said.map(({ flag }) => printableFlag(flag)),
    ...(suggestions.length === 0 ? {} : { suggestions }),
  });
}

/** A flag as typed, quoted back: no control characters, and not all of a long one. */
function printableFlag(flag: string): string {
  const text = stripVTControlCharacters(flag).replaceAll(/\p{Cc}/gu, '?');
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** The message of one of oclif's refusals, as the CLI words its own. */
function usageMessage(error: Errors.CLIError): string {
  // Colours (oclif dims the reasons on a terminal) would end up inside the JSON.
  const text = stripVTControlCharacters(error.message).replace(/\n?See more help with --help$/, '');
  const [first = '', ...rest] = text.split('\n');
  if (/^The following errors? occurred:$/.test(first)) {
    const reasons = rest.map((line) => line.trim()).filter((line) => line !== '');
    return [...new Set(reasons.map(flagRule))].join('; ');
  }
  if (/^Missing \d+ required args?\b/.test(first)) {
    return missingArguments(error, text) ?? text;
  }
  // An argument out of its choices (`autocomplete tcsh`); oclif does not name the argument.
  const choice = /^Expected (.*) to be one of: (.+)$/.exec(text);
  if (choice) return `"${choice[1]}" is not one of ${anyOf(choice[2] ?? '')}`;
  const unknownCommand = /^command (\S+) not found$/.exec(text);
  if (unknownCommand?.[1] !== undefined) {
    return `there is no command "${unknownCommand[1].replaceAll(':', ' ')}": agenda --help lists them`;
  }
  return text;
}

function flagRule(reason: string): string {
  for (const [pattern, sentence] of FLAG_RULES) {
    const match = pattern.exec(reason);
    if (match) return sentence([...match]);
  }
  return reason;
}

/**
 * "missing the <title> argument". oclif also notes that a flag taking several values
 * (`--remind`) reads the words after it as more values: said only when such a flag was
 * given, since then it is the likely reason the argument went missing.
 */
function missingArguments(error: Errors.CLIError, text: string): string | undefined {
  const refusal = error as {
    args?: readonly { name?: string }[];
    parse?: { output?: { flags?: Record<string, unknown> } };
  };
  const names = (refusal.args ?? []).flatMap((arg) => (arg.name ? [`<${arg.name}>`] : []));
  if (names.length === 0) return undefined;
  const sentence =
    names.length === 1
      ? `missing the ${names[0]} argument`
      : `missing the ${allOf(names.join(', '))} arguments`;
  const given = refusal.parse?.output?.flags ?? {};
  const multiple = (/Note: (.+?) allows? multiple values/.exec(text)?.[1] ?? '')
    .split(', ')
    .filter((flag) => given[flag.replace(/^--/, '')] !== undefined);
  if (multiple.length === 0) return sentence;
  const one = multiple.length === 1;
  return (
    `${sentence} (${allOf(multiple.join(', '))} take${one ? 's' : ''} several values and ` +
    `read${one ? 's' : ''} the words after ${one ? 'it' : 'them'} as more: put the arguments ` +
    `before ${one ? 'it' : 'them'}, or after --)`
  );
}

/** "--a, --b, --c" as "--a, --b or --c". */
function anyOf(list: string): string {
  return joinLast(list, 'or');
}

/** "--a, --b, --c" as "--a, --b and --c". */
function allOf(list: string): string {
  return joinLast(list, 'and');
}

function joinLast(list: string, word: string): string {
  const items = list.split(', ');
  const last = items.pop() ?? '';
  return items.length === 0 ? last : `${items.join(', ')} ${word} ${last}`;
}
