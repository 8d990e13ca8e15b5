/**
 * Changed occurrences (RECURRENCE-ID) through the whole request path (the real gateway, bus,
 * users service with its parser, and store, ../../server/gateway/in-process-system.ts),
 * called as the CLI calls it: a Google Calendar file's moved occurrence is imported as an
 * event of its own, the cancelled one is gone, importing again changes nothing, and the
 * export carries the moved one back out as a RECURRENCE-ID of its series.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { PortRange } from '../../server/bus/test-support.js';
import { startInProcessSystem } from '../../server/gateway/in-process-system.js';
import { apiOf } from './support.js';

const ports = new PortRange(28_700, 28_719);

test('a Google file with a moved and a cancelled occurrence imports, imports again unchanged, and exports back', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const api = (token?: string) => apiOf(t, system, token);
  const anonymous = api();
  await anonymous.call('register', { body: { username: 'alice', password: 'alice passphrase' } });
  const { token } = await anonymous.call('login', {
    body: { username: 'alice', password: 'alice passphrase' },
  });
  const alice = api(token);
  const file = readFileSync(
    new URL('../fixtures/ics/google-moved-occurrence.ics', import.meta.url),
    'utf8',
  );

  const first = await alice.importCalendar(file, false, 'UTC');
  t.deepEqual(first.skipped, []);
  t.deepEqual(first.failed, []);
  t.deepEqual(
    first.events.map((e) => [e.uid, e.action]),
    [['4k2b9q8f7s6d5a4@google.com', 'created']],
  );
  const march = { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' };
  const listed = async () => (await alice.listEvents(march)).events.map((e) => [e.start, e.title]);
  const expected = [
    ['2025-03-03T14:00:00.000Z', 'Team standup'],
    ['2025-03-10T18:00:00.000Z', 'Team standup (afternoon)'],
    ['2025-03-17T13:00:00.000Z', 'Team standup'],
    ['2025-03-31T13:00:00.000Z', 'Team standup'],
  ];
  t.deepEqual(await listed(), expected);

  const again = await alice.importCalendar(file, false, 'UTC');
  t.deepEqual(
    again.events.map((e) => e.action),
    ['unchanged'],
  );
  t.deepEqual(await listed(), expected);

  const exported = await alice.exportCalendar({});
  t.regex(exported, /RECURRENCE-ID;TZID=America\/New_York:20250310T090000/);
  const back = await alice.importCalendar(exported, false, 'UTC');
  t.deepEqual(
    back.events.map((e) => e.action),
    ['unchanged'],
  );
  t.deepEqual(await listed(), expected);
});
