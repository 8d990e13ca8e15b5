/**
 * The load as a child process when things go wrong: bad arguments get a clear `error` line
 * and exit 1 (never a stack trace), and a load that cannot start or dies is reported to the
 * runner as a {@link LoadError} instead of hanging it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadError } from './load.js';
import { childProcessLoad } from './load-session.js';
import type { LoadSpec } from './protocol.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const SPEC: LoadSpec = {
  url: 'https://127.0.0.1:30420',
  caPath: '/nonexistent/ca.pem',
  clients: 2,
  users: 1,
  userPrefix: 'chaos-test',
  attemptTimeoutMs: 200,
  retryDelayMs: 10,
  paceMs: 10,
  createShare: 0.5,
  seed: 1,
  windowStart: '2031-01-06T00:00:00.000Z',
  readBackTimeoutMs: 1_000,
};

function loadMain(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'lab/chaos/load-main.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    input: '',
  });
  return { code: run.status, lines: run.stdout.trim().split('\n'), stderr: run.stderr };
}

test('bad arguments are one clear error line and exit 1', (t) => {
  const missing = loadMain();
  t.is(missing.code, 1);
  t.deepEqual(
    missing.lines.map((line) => JSON.parse(line) as unknown),
    [{ type: 'error', message: 'bad arguments: --spec <json> is required' }],
  );

  const wrong = loadMain('--spec', JSON.stringify({ ...SPEC, clients: 0 }));
  t.is(wrong.code, 1);
  t.regex(wrong.lines[0]!, /^\{"type":"error","message":"bad arguments: .*clients: Too small/);
  t.is(wrong.stderr, '');
});

test('a load whose process cannot run is a LoadError, not a hang', async (t) => {
  // The prefix fails at once, as a missing namespace would.
  const session = childProcessLoad(['false'])(SPEC, () => undefined);
  const error = await t.throwsAsync(session.ready(), { instanceOf: LoadError });
  t.regex(error?.message ?? '', /the chaos load exited \(code 1\)/);
  await session.close();
});

test('a load that cannot set up reports why', async (t) => {
  // The CA file does not exist: the load says so on its error line.
  const session = childProcessLoad([])(SPEC, () => undefined);
  const error = await t.throwsAsync(session.ready(), { instanceOf: LoadError });
  t.regex(error?.message ?? '', /the chaos load failed: .*ENOENT.*ca\.pem/);
  await session.close();
});
