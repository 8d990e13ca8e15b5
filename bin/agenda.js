#!/usr/bin/env node
// The `agenda` command line. It runs the compiled commands in dist/ (`npm run build`, which
// `npm ci` runs): oclif reads what every command is from dist/oclif.manifest.json and imports
// only the one it runs. With AGENDA_FROM_SOURCES=1 (the tests set it: ava.config.js) it runs
// the TypeScript commands under cli/commands through tsx's loader instead, with no manifest:
// slower to start, but always the current sources.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const fromSources = process.env.AGENDA_FROM_SOURCES === '1';
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
if (!fromSources && !existsSync(`${dist}oclif.manifest.json`)) {
  process.stderr.write(
    `agenda: the compiled CLI is missing (${dist}oclif.manifest.json): run \`npm run build\`` +
      ' (`npm ci` does), or set AGENDA_FROM_SOURCES=1 to run it from the TypeScript sources\n',
  );
  process.exit(1);
}
const { execute, settings } = await import('@oclif/core');
// The code is JavaScript already, or tsx's loader is in place: oclif must not look for
// ts-node nor map the commands to other files.
settings.enableAutoTranspile = false;
// Without a command (nothing, or only flags: `agenda --profile work`), `agenda` shows today
// and what is next (cli/commands/home.ts); --help and --version keep their meaning.
// `-h` is `--help` wherever it stands before `--`, as people expect (oclif knows only
// `--help`, and no command has a flag of its own named -h).
const end = process.argv.indexOf('--');
const argv = process.argv
  .slice(2)
  .map((arg, i) => (arg === '-h' && (end === -1 || i + 2 < end) ? '--help' : arg));
const first = argv[0];
const home =
  first === undefined ||
  (first.startsWith('-') && !['--help', '-h', '--version', '-v'].includes(first));
const args = { args: home ? ['home', ...argv] : argv };
if (fromSources) {
  const { register } = await import('tsx/esm/api');
  register();
  await execute({ dir: import.meta.url, ...args });
} else {
  await execute({ dir: dist, ...args });
}
