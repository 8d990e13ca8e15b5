/**
 * An occurrence changed on its own, asked for again through its series, over the whole
 * request path (the real gateway, bus, users service and store,
 * ../../server/gateway/in-process-system.ts), called as the CLI calls it: the refusal names
 * the event the occurrence became, in its details, on every hop.
 */
import test from 'ava';
import { NotFound } from '../../contract/errors.js';
import { PortRange } from '../../server/bus/test-support.js';
import { startInProcessSystem } from '../../server/gateway/in-process-system.js';
import { signedIn } from './support.js';

const ports = new PortRange(28_720, 28_739);

test('changing or cancelling an occurrence changed on its own already names the event it became', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const [alice] = await signedIn(t, system, ['alice']);
  const { event: series } = await alice.createEvent({
    title: 'Standup',
    start: '2030-03-04T09:00:00Z',
    duration: '15m',
    repeat: 'FREQ=DAILY;COUNT=4',
  });
  const occurrence = '2030-03-05T09:00:00Z';
  const { event: moved } = await alice.updateEvent(
    series.id,
    { start: '2030-03-05T15:00:00Z' },
    occurrence,
  );
  t.not(moved.id, series.id);

  const again = await t.throwsAsync(alice.updateEvent(series.id, { title: 'Again' }, occurrence), {
    instanceOf: NotFound,
  });
  t.is(again?.detachedEventId, moved.id);
  t.is(
    again?.message,
    `the occurrence starting at 2030-03-05T09:00:00.000Z was already changed on its own: it is now event ${moved.id}`,
  );
  const cancelled = await t.throwsAsync(alice.cancelEvent(series.id, occurrence), {
    instanceOf: NotFound,
  });
  t.is(cancelled?.detachedEventId, moved.id);

  // The event it became is where the change goes: it takes it.
  t.is((await alice.updateEvent(moved.id, { title: 'Again' })).event.title, 'Again');
  // Once that one is cancelled, the occurrence is only no longer in the series.
  await alice.cancelEvent(moved.id);
  const gone = await t.throwsAsync(alice.updateEvent(series.id, { title: 'x' }, occurrence), {
    instanceOf: NotFound,
  });
  t.is(gone?.detachedEventId, undefined);
  t.regex(gone?.message ?? '', /no longer in the series/);
});
