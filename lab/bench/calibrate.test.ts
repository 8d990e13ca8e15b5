import test from 'ava';
import { storeApplyMicros } from './calibrate.js';

test('the machine is timed on store work: a positive number of microseconds per event', async (t) => {
  const micros = await storeApplyMicros();
  t.true(Number.isFinite(micros) && micros > 0, String(micros));
  // Even a slow machine applies an event in well under 10 ms; more means the timing is wrong.
  t.true(micros < 10_000, String(micros));
});
