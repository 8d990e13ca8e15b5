/**
 * Reminders through the whole request path (the real gateway, bus, users service and store,
 * ../../server/gateway/in-process-system.ts), called as the CLI calls it: kept on the event,
 * listed with every occurrence, refused past their bounds with a reason, exported as VALARMs
 * and imported back.
 */
import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import { PortRange } from '../../server/bus/test-support.js';
import { startInProcessSystem } from '../../server/gateway/in-process-system.js';
import { signedIn } from './support.js';

const ports = new PortRange(28_880, 28_899);

test('reminders are kept, listed with each occurrence, bounded with a reason, and travel as VALARMs', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const [alice, bob] = await signedIn(t, system, ['alice', 'bob']);

  const { event } = await alice.createEvent({
    title: 'Standup',
    start: '2030-03-04T09:00:00Z',
    duration: '15m',
    repeat: 'FREQ=DAILY;COUNT=3',
    reminders: [60, 10],
    with: ['bob'],
  });
  t.deepEqual(event.reminders, [10, 60]);
  const week = { from: '2030-03-04T00:00:00Z', to: '2030-03-11T00:00:00Z' };
  t.deepEqual(
    (await alice.listEvents(week)).events.map((e) => e.reminders),
    [
      [10, 60],
      [10, 60],
      [10, 60],
    ],
  );
  // The invitee sees the event's reminders too (they are the event's).
  t.deepEqual((await bob.showEvent(event.id)).event.reminders, [10, 60]);

  const refused = await t.throwsAsync(
    alice.updateEvent(event.id, { reminders: [1, 2, 3, 4, 5, 6] }),
    { instanceOf: InvalidInput },
  );
  t.is(refused?.message, 'an event has at most 5 reminders (got 6)');
  t.is(refused?.field, 'reminders');
  await t.throwsAsync(alice.updateEvent(event.id, { reminders: [40_321] }), {
    message: /reminders can be at most 4 weeks before the event \(28 days\)/,
  });

  const ics = await alice.exportCalendar({});
  t.regex(
    ics,
    /BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Standup\r\nTRIGGER:-PT10M\r\nEND:VALARM/,
  );
  const imported = await bob.importCalendar(
    ics.replaceAll(event.id, 'copy-of-standup'),
    true,
    'UTC',
  );
  const copy = imported.events[0]?.id ?? '';
  t.deepEqual((await bob.showEvent(copy)).event.reminders, [10, 60]);

  await alice.updateEvent(event.id, { reminders: [] });
  t.is((await alice.showEvent(event.id)).event.reminders, undefined);
});
