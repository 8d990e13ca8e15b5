// How `agenda` reads a command line before oclif does (bin/agenda.js): oclif finds the
// command in the first words, so a global flag given before it (`agenda --json today`,
// `agenda --profile work event list`) made `agenda` alone (home) run, refusing `today` as
// an unexpected argument. Plain JavaScript, loaded by the binary before oclif and tested
// from cli/test/command-line.test.ts.

/**
 * The global flags of a user's command (`AgendaCommand.baseFlags`, cli/base-command.ts: a
 * test holds the two equal), each with whether it takes a value.
 */
export const GLOBAL_FLAGS = Object.freeze({
  '--json': false,
  '--server': true,
  '--ca': true,
  '--profile': true,
  '--tz': true,
  '--config-dir': true,
});

/**
 * `argv` with the global flags given before the command or between its words moved after
 * it, before any `--`: `--json today` is `today --json`, `--profile work event list` and
 * `event --profile work list` are `event list --profile work`. Only flags before the first
 * other option move; a boolean one given twice goes once. Left as it is when no word
 * follows them (flags alone run home; `--help` and `--version` keep their meaning) or when
 * the first option is not a global flag, which the command then reads or refuses as before.
 */
export function commandFirst(argv) {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  const words = [];
  const moved = [];
  let i = 0;
  while (i < options.length) {
    const arg = options[i];
    const name = arg.split('=', 1)[0];
    if (Object.hasOwn(GLOBAL_FLAGS, name)) {
      const takesValue = GLOBAL_FLAGS[name] && !arg.includes('=');
      if (takesValue || !moved.includes(arg))
        moved.push(...options.slice(i, i + (takesValue ? 2 : 1)));
      i += takesValue ? 2 : 1;
      continue;
    }
    if (arg.startsWith('-')) break;
    words.push(arg);
    i++;
  }
  if (moved.length === 0 || words.length === 0) return argv;
  return [...words, ...options.slice(i), ...moved, ...(end === -1 ? [] : argv.slice(end))];
}
