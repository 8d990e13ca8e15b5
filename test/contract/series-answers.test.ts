/**
 * Answers to a series and to its occurrences changed on their own, through the whole request
 * path (the real gateway, bus, users service and store,
 * ../../server/gateway/in-process-system.ts), called as the CLI calls them: an answer to the
 * series reaches the changed occurrences, one given to a changed occurrence alone stays, and
 * a changed occurrence in the way of the answerer's agenda refuses the series with a reason.
 */
import test from 'ava';
import { Conflict } from '../../contract/errors.js';
import { PortRange } from '../../server/bus/test-support.js';
import { startInProcessSystem } from '../../server/gateway/in-process-system.js';
import { signedIn } from './support.js';

const ports = new PortRange(28_860, 28_879);

test('an answer to a series reaches its changed occurrences; one answered alone keeps its answer', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const [alice, bob] = await signedIn(t, system, ['alice', 'bob']);

  const { event: series } = await alice.createEvent({
    title: 'Standup',
    start: '2030-03-04T09:00:00Z',
    duration: '15m',
    repeat: 'FREQ=DAILY;COUNT=4',
    with: ['bob'],
  });
  const moved = (
    await alice.updateEvent(series.id, { start: '2030-03-05T15:00:00Z' }, '2030-03-05T09:00:00Z')
  ).event;
  const renamed = (
    await alice.updateEvent(series.id, { title: 'Standup (demo)' }, '2030-03-06T09:00:00Z')
  ).event;
  const mine = async () =>
    (await bob.listEvents({ from: '2030-03-04T00:00:00Z', to: '2030-03-08T00:00:00Z' })).events
      .filter((e) => e.title.startsWith('Standup'))
      .map((e) => `${e.start.slice(0, 16)} ${e.myStatus}`);

  // bob's own hour is in the way of the moved occurrence: accepting the series says so.
  await bob.createEvent({ title: 'Dentist', start: '2030-03-05T15:00:00Z', duration: '1h' });
  const refused = await t.throwsAsync(bob.acceptInvitation(series.id, {}), {
    instanceOf: Conflict,
  });
  t.regex(refused?.message ?? '', /changed on their own/);
  t.deepEqual(
    refused?.conflicts.map((c) => c.title),
    ['Dentist'],
  );

  // He declines the demo day alone, then accepts the series over his dentist.
  await bob.declineInvitation(renamed.id);
  const accepted = await bob.acceptInvitation(series.id, { allowConflict: true });
  t.is(accepted.event.id, series.id);
  t.deepEqual(await mine(), [
    '2030-03-04T09:00 accepted',
    '2030-03-05T15:00 accepted',
    '2030-03-06T09:00 declined',
    '2030-03-07T09:00 accepted',
  ]);
  t.deepEqual((await bob.invitations()).invitations, []);

  // Declining the series takes the moved one along; the demo day keeps his own no.
  await bob.declineInvitation(series.id);
  t.is((await bob.showEvent(moved.id)).event.myStatus, 'declined');
  // And moving it again asks him again: his no was about 15:00.
  await alice.updateEvent(moved.id, { start: '2030-03-05T16:00:00Z' });
  t.is((await bob.showEvent(moved.id)).event.myStatus, 'pending');
  t.deepEqual(
    (await bob.invitations()).invitations.map((i) => i.id),
    [moved.id],
  );
});
