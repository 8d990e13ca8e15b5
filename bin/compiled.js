#!/usr/bin/env node
// Runs one of the repository's programs compiled, in this process:
// `node bin/compiled.js lab/local/start.ts [arguments]` (what `npm start`, `npm run lab` and
// the benchmarks run). It first brings dist/ up to date (bin/build.js: incremental, about a
// second when nothing changed), so a program never runs from a dist/ older than its
// sources, then imports the program's compiled file; the daemons it starts run compiled too
// (base/entry-points.ts). A failed build stops it. With AGENDA_FROM_SOURCES=1 it builds
// nothing and runs the TypeScript source through tsx instead, and so does what it starts.
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { build } from './build.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const [source, ...args] = process.argv.slice(2);
if (source === undefined || !/\.tsx?$/.test(source)) {
  process.stderr.write('usage: node bin/compiled.js <program>.ts [arguments]\n');
  process.exit(2);
}

let program;
if (process.env.AGENDA_FROM_SOURCES === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  program = join(REPO, source);
} else {
  const status = await build();
  if (status !== 0) {
    process.stderr.write(
      `${source}: not started, the build failed; fix it, or run from the sources with AGENDA_FROM_SOURCES=1\n`,
    );
    process.exit(status);
  }
  program = join(REPO, 'dist', source.replace(/\.tsx?$/, '.js'));
}
// The program reads its arguments from process.argv as if it had been run itself.
process.argv = [process.argv[0], program, ...args];
await import(pathToFileURL(program).href);
