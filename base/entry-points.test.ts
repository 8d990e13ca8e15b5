import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  cliEnvironment,
  compiledFile,
  nodeEntry,
  REPO,
  RUNNING_FROM_SOURCES,
  STARTS_FROM_SOURCES,
} from './entry-points.js';

test('under the tests the code runs from the sources, and starts its programs from them too', (t) => {
  t.true(RUNNING_FROM_SOURCES);
  t.true(STARTS_FROM_SOURCES);
  t.true(existsSync(join(REPO, 'package.json')));
  t.true(existsSync(join(REPO, 'base/entry-points.ts')));
  t.deepEqual(nodeEntry('server/db/main.ts'), ['--import', 'tsx', join(REPO, 'server/db/main.ts')]);
  t.deepEqual(nodeEntry(join(REPO, 'raft/cmd/node.ts')), [
    '--import',
    'tsx',
    join(REPO, 'raft/cmd/node.ts'),
  ]);
  t.is(cliEnvironment({ PATH: '/bin' }).AGENDA_FROM_SOURCES, '1');
});

test('only TypeScript programs of this repository can be started', (t) => {
  t.throws(() => nodeEntry('bin/agenda.js'), { message: /not a TypeScript program/ });
  t.throws(() => nodeEntry('/elsewhere/main.ts'), { message: /not a TypeScript program/ });
});

test('compiled, a program runs from its bundle when the build made one after the last compilation', (t) => {
  const dist = mkdtempSync(join(tmpdir(), 'agenda-dist-'));
  try {
    const at = (path: string, seconds: number) => {
      mkdirSync(join(dist, path, '..'), { recursive: true });
      writeFileSync(join(dist, path), '');
      utimesSync(join(dist, path), seconds, seconds);
    };
    at('.tsbuildinfo', 1_000);
    at('server/db/main.js', 1_000);
    at('lab/cli.js', 1_000);
    t.is(compiledFile('server/db/main.js', dist), join(dist, 'server/db/main.js'));
    at('daemons/server/db/main.js', 1_001);
    at('daemons/.bundled', 1_001);
    t.is(compiledFile('server/db/main.js', dist), join(dist, 'daemons/server/db/main.js'));
    // Not bundled: its tsc output.
    t.is(compiledFile('lab/cli.js', dist), join(dist, 'lab/cli.js'));
    // tsc compiled again, without the bundles: they are older than the code, and not run.
    at('.tsbuildinfo', 1_002);
    t.is(compiledFile('server/db/main.js', dist), join(dist, 'server/db/main.js'));
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});
