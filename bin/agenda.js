#!/usr/bin/env node
// The `agenda` command line. Its commands are TypeScript files under cli/commands, run
// through tsx's ESM loader, registered here before oclif imports any of them: a clone works
// right after `npm ci`, with no build step.
import { execute, settings } from '@oclif/core';
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
// The loader is already in place: oclif must not look for ts-node or compiled output.
settings.enableAutoTranspile = false;
// Without a command (nothing, or only flags: `agenda --profile work`), `agenda` shows today
// and what is next (cli/commands/home.ts); --help and --version keep their meaning.
const argv = process.argv.slice(2);
const first = argv[0];
const home =
  first === undefined ||
  (first.startsWith('-') && !['--help', '-h', '--version', '-v'].includes(first));
await execute({ dir: import.meta.url, ...(home ? { args: ['home', ...argv] } : {}) });
