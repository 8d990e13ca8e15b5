import test from 'ava';
import { displayWidth, loadDisplayWidths } from '../../base/table.js';
import { whileSlow } from './spinner.js';

/** A terminal stream that keeps what was written. */
function terminal(): { isTTY: true; written: string[]; write(text: string): boolean } {
  const written: string[] = [];
  return {
    isTTY: true,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  };
}

test('a slow call shows its label cut to the terminal, and erases it when done', async (t) => {
  await loadDisplayWidths();
  const stream = terminal();
  const work = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 150));
  t.is(await whileSlow(stream, "Fetching the day's events…", work, 10, 20), 'done');
  const frames = stream.written.filter((w) => w.startsWith('\r') && w !== '\r\u001b[K');
  t.true(frames.length > 0, 'the spinner was shown');
  for (const frame of frames) t.true(displayWidth(frame.slice(1)) <= 20, JSON.stringify(frame));
  t.is(stream.written.at(-1), '\r\u001b[K');
});

test('a quick call, or one off a terminal, shows nothing', async (t) => {
  const stream = terminal();
  t.is(await whileSlow(stream, 'Fetching…', Promise.resolve(1), 200, 20), 1);
  t.deepEqual(stream.written, []);
  const piped = { ...terminal(), isTTY: false as const };
  t.is(await whileSlow(piped, 'Fetching…', new Promise((r) => setTimeout(() => r(2), 50)), 1), 2);
  t.deepEqual(piped.written, []);
});
