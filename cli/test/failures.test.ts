/**
 * oclif's refusals of a command line, as cli/failures.ts words them: each made by oclif's own
 * parser, so that a release of oclif that words one differently fails here.
 */
import test from 'ava';
import { Args, Errors, Flags, Parser } from '@oclif/core';
import type { Interfaces } from '@oclif/core';
import { InvalidInput } from '../../contract/errors.js';
import { failureJson, failureOf } from '../failures.js';

/** A command's flags and arguments, as a command class declares them. */
interface CommandLine {
  readonly flags?: Interfaces.FlagInput;
  readonly args?: Interfaces.ArgInput;
}

/** What oclif's parser refuses `argv` with, as the CLI reports it. */
async function refusal(argv: string[], { flags = {}, args = {} }: CommandLine) {
  const error = await Parser.parse(argv, { flags, args }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof Errors.CLIError)) throw new Error(`${argv.join(' ')} was not refused`);
  const failure = failureOf(error);
  if (!(failure instanceof InvalidInput)) throw new Error(`not a usage error: ${failure.name}`);
  return failure.message;
}

const exactlyOne = {
  group: Flags.string({ exactlyOne: ['group', 'users'] }),
  users: Flags.string({ exactlyOne: ['group', 'users'] }),
};

const cases: readonly [string, string[], CommandLine, string][] = [
  [
    'exactly one of two, neither given',
    [],
    { flags: exactlyOne },
    'give one of --group or --users',
  ],
  [
    'exactly one of two, both given',
    ['--group', 'team', '--users', 'bob'],
    { flags: exactlyOne },
    '--group and --users cannot be given together',
  ],
  [
    'exclusive flags, one with a value',
    ['--end', 'tomorrow 10am', '--duration', '1h'],
    { flags: { end: Flags.string(), duration: Flags.string({ exclusive: ['end'] }) } },
    '--duration and --end cannot be given together',
  ],
  [
    'at least one of three',
    [],
    {
      flags: {
        a: Flags.boolean({ atLeastOne: ['a', 'b', 'c'] }),
        b: Flags.boolean(),
        c: Flags.boolean(),
      },
    },
    'give at least one of --a, --b or --c',
  ],
  [
    'a flag that needs two others',
    ['--output', 'x'],
    {
      flags: {
        output: Flags.string({ dependsOn: ['from', 'to'] }),
        from: Flags.string(),
        to: Flags.string(),
      },
    },
    '--output needs --from and --to too',
  ],
  [
    'a flag that needs one of two others',
    ['--remind'],
    {
      flags: {
        remind: Flags.boolean({ relationships: [{ type: 'some', flags: ['start', 'date'] }] }),
        start: Flags.string(),
        date: Flags.string(),
      },
    },
    '--remind needs one of --start or --date',
  ],
  [
    'a flag that goes only with another',
    ['--yes', '--name', 'x'],
    {
      flags: {
        yes: Flags.boolean({ combinable: ['force'] }),
        force: Flags.boolean(),
        name: Flags.string(),
      },
    },
    '--yes can be given only with --force',
  ],
  [
    'a required flag missing',
    [],
    { flags: { start: Flags.string({ required: true }) } },
    '--start is required',
  ],
  [
    'several arguments missing',
    [],
    {
      args: {
        group: Args.string({ required: true }),
        username: Args.string({ required: true }),
        level: Args.string({ required: true }),
      },
    },
    'missing the <group>, <username> and <level> arguments',
  ],
  [
    'an argument missing, with a flag of several values that is not given',
    [],
    {
      args: { title: Args.string({ required: true }) },
      flags: { remind: Flags.string({ multiple: true }) },
    },
    'missing the <title> argument',
  ],
  [
    'an argument read as the value of a flag of several values',
    ['--remind', '1h', 'Dentist'],
    {
      args: { title: Args.string({ required: true }) },
      flags: { remind: Flags.string({ multiple: true }) },
    },
    'missing the <title> argument (--remind takes several values and reads the words after it as more: put the arguments before it, or after --)',
  ],
  ['an unknown flag', ['--bogus'], { flags: {} }, 'unknown flag --bogus (--help lists the flags)'],
  [
    'an argument out of its choices',
    ['fish'],
    { args: { shell: Args.string({ options: ['zsh', 'bash', 'powershell'] }) } },
    '"fish" is not one of zsh, bash or powershell',
  ],
];

test('a flag value oclif refuses reads as a sentence naming the flag in details.field', async (t) => {
  const width = { flags: { width: Flags.integer({ min: 20, max: 1000 }) } };
  const cases: readonly [string[], CommandLine, string][] = [
    [['--width', '0'], width, '--width must be a whole number of at least 20 (got 0)'],
    [['--width', '5000'], width, '--width must be a whole number of at most 1000 (got 5000)'],
    [['--width', 'wide'], width, '--width must be a whole number (got wide)'],
    [
      ['--layout', 'tiles'],
      { flags: { layout: Flags.string({ options: ['grid', 'list'] }) } },
      '--layout must be one of grid or list (got tiles)',
    ],
  ];
  for (const [argv, input, message] of cases) {
    const error = await Parser.parse(argv, { flags: input.flags ?? {}, args: {} }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    const failure = failureOf(error);
    t.deepEqual(
      failure.toWire(),
      { code: 'invalid', message, details: { field: argv[0]?.slice(2) } },
      argv.join(' '),
    );
  }
});

for (const [title, argv, input, message] of cases) {
  test(`oclif refuses ${title}: "${message}"`, async (t) => {
    t.is(await refusal(argv, input), message);
  });
}

test('an unknown command reads as a sentence naming it as typed', (t) => {
  t.is(
    failureOf(new Errors.CLIError('command event:frob not found')).message,
    'there is no command "event frob": agenda --help lists them',
  );
});

test('a reason no rule reads is shown as oclif wrote it, colours removed', (t) => {
  const error = new Errors.CLIError(
    'The following error occurred:\n  \u001b[2mSomething new went wrong\u001b[22m\nSee more help with --help',
  );
  t.is(failureOf(error).message, 'Something new went wrong');
});

test('a mistyped flag is answered with the nearest flag of the command (outside attack 12, P4)', async (t) => {
  const flags = {
    duration: Flags.string(),
    start: Flags.string(),
    json: Flags.boolean(),
    'config-dir': Flags.string({ hidden: true }),
  };
  t.is(
    await refusal(['--duraton', '1h'], { flags }),
    'unknown flag --duraton: did you mean --duration? (--help lists the flags)',
  );
  t.is(
    await refusal(['--duraton=1h'], { flags }),
    'unknown flag --duraton: did you mean --duration? (--help lists the flags)',
  );
  // Nothing near, or only a hidden flag near: no guess.
  t.is(await refusal(['--colour'], { flags }), 'unknown flag --colour (--help lists the flags)');
  t.is(
    await refusal(['--config-dr', 'x'], { flags }),
    'unknown flag --config-dr (--help lists the flags)',
  );
  const error = await Parser.parse(['--strat', 'x'], { flags }).catch((e: unknown) => e);
  t.deepEqual(JSON.parse(failureJson(failureOf(error))), {
    error: {
      code: 'invalid',
      message: 'unknown flag --strat: did you mean --start? (--help lists the flags)',
      details: { flags: ['--strat'], suggestions: ['--start'] },
    },
  });
});
