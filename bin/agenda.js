#!/usr/bin/env node
// The `agenda` command line. Its commands are TypeScript files under cli/commands, run
// through tsx's ESM loader, registered here before oclif imports any of them: a clone works
// right after `npm ci`, with no build step.
import { execute, settings } from '@oclif/core';
import { register } from 'tsx/esm/api';

register();
// The loader is already in place: oclif must not look for ts-node or compiled output.
settings.enableAutoTranspile = false;
await execute({ dir: import.meta.url });
