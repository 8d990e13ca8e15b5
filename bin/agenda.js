#!/usr/bin/env node
// The `agenda` command line. It runs the compiled commands in dist/ (`npm run build`, which
// `npm ci` runs): oclif reads what every command is from dist/oclif.manifest.json and imports
// only the one it runs. With AGENDA_FROM_SOURCES=1 (the tests set it: ava.config.js) it runs
// the TypeScript commands under cli/commands through tsx's loader instead, with no manifest:
// slower to start, but always the current sources.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { commandFirst } from './command-line.js';

// undici, which the operator commands use (the user commands speak Node's https), parses
// HTTP in WebAssembly. V8 compiles it twice: at once (Liftoff), then again, optimised, on a
// background thread, and a process that is done waits for that second compilation before it
// can exit: 200–400 ms after every command that made a request, for code a command runs for
// a few responses. One fast compilation is all a command needs. (Set before anything
// compiles WebAssembly; the daemons keep V8's default.)
setFlagsFromString('--liftoff-only');

// The output could not be written. A reader that went away (`agenda event list | head -1`)
// ends the command quietly, with success, as other command-line tools do; any other failure
// (a full disk: `agenda export > /dev/full`) is said once, as every failure is, not as a stack.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  const reason = `cannot write the output (${error.code ?? error.message})`;
  process.stderr.write(
    process.argv.includes('--json')
      ? `${JSON.stringify({ error: { code: 'internal', message: reason, details: {} } })}\n`
      : `error: ${reason}\n`,
  );
  process.exit(1);
});
process.stderr.on('error', () => process.exit(process.exitCode ?? 1));

const fromSources = process.env.AGENDA_FROM_SOURCES === '1';
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
if (!fromSources && !existsSync(`${dist}oclif.manifest.json`)) {
  process.stderr.write(
    `agenda: the compiled CLI is missing (${dist}oclif.manifest.json): run \`npm run build\`` +
      ' (`npm ci` does), or set AGENDA_FROM_SOURCES=1 to run it from the TypeScript sources\n',
  );
  process.exit(1);
}
// oclif's root: the repository (package.json, cli/commands) or dist/, made one by the build.
const root = fromSources ? new URL('../', import.meta.url) : pathToFileURL(dist);
// Compiled, oclif comes from the CLI's bundle, the copy its commands use (cli/oclif.ts).
const { flush, handle, run, settings } = await import(
  fromSources ? '@oclif/core' : new URL('cli-bundle/oclif.js', root).href
);
// The code is JavaScript already, or tsx's loader is in place: oclif must not look for
// ts-node nor map the commands to other files.
settings.enableAutoTranspile = false;
// Without a command (nothing, or only flags: `agenda --profile work`), `agenda` shows today
// and what is next (cli/commands/home.ts); --help and --version keep their meaning.
// `-h` is `--help` wherever it stands before `--`, as people expect (oclif knows only
// `--help`, and no command has a flag of its own named -h).
// Global flags before the command go after it (`agenda --json today`: bin/command-line.js).
const end = process.argv.indexOf('--');
const argv = commandFirst(
  process.argv
    .slice(2)
    .map((arg, i) => (arg === '-h' && (end === -1 || i + 2 < end) ? '--help' : arg)),
);
const first = argv[0];
const options = end === -1 ? argv : argv.slice(0, end - 2);
const flagsOnly =
  first === undefined ||
  (first.startsWith('-') && !['--help', '-h', '--version', '-v'].includes(first));
// `--help` among flags alone (`agenda --json -h`) asks for the top-level help, not home's.
const home = flagsOnly && !options.includes('--help') && !options.includes('--version');
// `--version` is the `version` command (what it prints is oclif's `--version` line), so that
// with --json it prints that command's JSON rather than the line (--verbose goes along).
const version =
  (first === '--version' || flagsOnly) &&
  options.includes('--version') &&
  !options.includes('--help');
// `help` has no --json flag and would refuse it: it reads --json in the command line as
// typed (cli/help.ts), and what it cannot find is answered as an unknown command is.
const commandLine = version
  ? ['version', ...options.filter((arg) => arg === '--json' || arg === '--verbose')]
  : home
    ? ['home', ...argv]
    : flagsOnly
      ? ['--help']
      : first === 'help'
        ? argv.filter((arg, i) => arg !== '--json' || (end !== -1 && i + 2 > end))
        : argv;
if (fromSources) {
  const { register } = await import('tsx/esm/api');
  register();
}
// What oclif's `execute` does (run, flush, and `handle` prints a failure), except that with
// --json a failure before any command ran, an unknown command say, is the one line of JSON
// every command's failure is (cli/failures.ts), not oclif's text. A command has reported its
// own failure already: it ends in an ExitError carrying the exit code.
try {
  await run(commandLine, fileURLToPath(root));
  await flush();
} catch (error) {
  const json = options.includes('--json');
  // oclif's errors are known by their shape, not their class: a plugin's command (help,
  // autocomplete) throws them from the plugin's own copy of oclif, beside the bundle's. A
  // CLIError carries `oclif.exit`; an ExitError (a failure already reported, or help's exit
  // code) is one whose code is EEXIT.
  const oclifError = error instanceof Error && typeof error.oclif?.exit === 'number';
  const exit = oclifError && error.code === 'EEXIT';
  // oclif's refusals in its own commands (`autocomplete tcsh`) read as our sentences too:
  // as JSON under --json, else after "error:" as every command's failure.
  const refusal = oclifError && !exit;
  if (exit) {
    process.exitCode = error.oclif.exit;
  } else if (json || refusal) {
    const { failureJson, failureOf } = await import(
      new URL(fromSources ? 'cli/failures.ts' : 'cli-bundle/failures.js', root).href
    );
    const failure = failureOf(error);
    process.stderr.write(json ? failureJson(failure) : `error: ${failure.message}\n`);
    process.exitCode = failure.exitCode;
  } else {
    await handle(error);
  }
}
