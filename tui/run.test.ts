import test from 'ava';
import { PassThrough } from 'node:stream';
import { ManualClock } from './clock.js';
import { FakeFeed } from '../ops/feed.js';
import { healthyCluster } from '../ops/fixtures.js';
import { waitForFrame, waitForText } from './testing.js';

// Ink renders only the final frame when it believes it runs in CI (is-in-ci reads CI once, at
// import), and these tests watch live frames on a real render: load Ink with CI unset.
process.env.CI = 'false';
const { runDashboard } = await import('./run.js');

/** A terminal in memory: keys go in through `stdin`, frames accumulate in `output()`. */
function fakeTerminal() {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: () => stdin,
    ref: () => stdin,
    unref: () => stdin,
  });
  const stdout = Object.assign(new PassThrough(), { columns: 120, rows: 50, isTTY: false });
  let written = '';
  stdout.on('data', (chunk: Buffer) => (written += chunk.toString()));
  return {
    stdin: stdin as unknown as NodeJS.ReadStream,
    stdout: stdout as unknown as NodeJS.WriteStream,
    type: (keys: string) => stdin.write(keys),
    output: () => written,
  };
}

test('runDashboard resolves when the operator presses q', async (t) => {
  const terminal = fakeTerminal();
  const feed = new FakeFeed();
  feed.push(healthyCluster(Date.UTC(2026, 0, 1, 8, 0, 0)));
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const running = runDashboard(feed, {
    signal: controller.signal,
    stdin: terminal.stdin,
    stdout: terminal.stdout,
    clock: new ManualClock(0),
  });
  await waitForText(terminal.output, 'snapshot 08:00:00Z', 'leader n1');
  terminal.type('q');
  await running;
  t.is(feed.readers, 0);
});

test('runDashboard resolves when the signal aborts', async (t) => {
  const terminal = fakeTerminal();
  const feed = new FakeFeed();
  const controller = new AbortController();
  const running = runDashboard(feed, {
    signal: controller.signal,
    stdin: terminal.stdin,
    stdout: terminal.stdout,
    clock: new ManualClock(0),
  });
  await waitForFrame(
    () => String(feed.readers),
    (readers) => readers === '1',
  );
  controller.abort();
  await running;
  t.is(feed.readers, 0);
});

test('runDashboard does nothing when already aborted', async (t) => {
  const terminal = fakeTerminal();
  await runDashboard(new FakeFeed(), {
    signal: AbortSignal.abort(),
    stdin: terminal.stdin,
    stdout: terminal.stdout,
  });
  t.is(terminal.output(), '');
});
