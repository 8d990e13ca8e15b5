import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import {
  cliEnvironment,
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
