import test from 'ava';
import { getEventListeners } from 'node:events';
import { Unavailable } from '../../contract/errors.js';
import { withDeadline } from './deadline.js';

const late = () => new Unavailable('too late');

test('work that finishes in time: its answer, and no listener left on either signal', async (t) => {
  const clientGone = new AbortController();
  let given: AbortSignal | null = null;
  const answer = await withDeadline(
    (signal) => {
      given = signal;
      return Promise.resolve(42);
    },
    clientGone.signal,
    late,
    1_000,
  );
  t.is(answer, 42);
  t.deepEqual(getEventListeners(clientGone.signal, 'abort'), []);
  t.deepEqual(getEventListeners(given!, 'abort'), []);
  t.false(given!.aborted);
});

test('work that ignores its signal ends at the deadline, or when the client leaves', async (t) => {
  const never = () => new Promise<never>(() => {});
  const started = Date.now();
  await t.throwsAsync(withDeadline(never, null, late, 50), { message: 'too late' });
  t.true(Date.now() - started >= 45);

  const clientGone = new AbortController();
  let given: AbortSignal | null = null;
  const pending = withDeadline(
    (signal) => {
      given = signal;
      return never();
    },
    clientGone.signal,
    late,
    10_000,
  );
  clientGone.abort();
  await t.throwsAsync(pending, { message: 'too late' });
  t.true(given!.aborted);
  t.deepEqual(getEventListeners(clientGone.signal, 'abort'), []);
});

test('a client already gone: the work is given an aborted signal and the call is late', async (t) => {
  const clientGone = AbortSignal.abort();
  await t.throwsAsync(
    withDeadline(() => Promise.resolve(1), clientGone, late, 1_000),
    { message: 'too late' },
  );
});
