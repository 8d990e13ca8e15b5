/**
 * `--free` on `event add` and `event update` (an event shown as free takes none of your
 * time), and `event show` saying so.
 */
import test from 'ava';
import EventAdd from '../commands/event/add.js';
import EventShow from '../commands/event/show.js';
import EventUpdate from '../commands/event/update.js';
import { FakeGateway, createTestTls } from './support/fake-gateway.js';
import { eventDetails, logIn, loginAnswer } from './support/fixtures.js';
import { runCommand, temporaryConfigDir } from './support/harness.js';

test('event add --free and update --no-free send transparent; event show says it shows as free', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  const free = eventDetails({ transparent: true });
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/events', {
      status: 201,
      json: { event: free, conflicts: [], imposedConflicts: [] },
    })
    .on('PATCH', '/v1/events/:id', {
      status: 200,
      json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
    })
    .on('GET', '/v1/events/:id', { status: 200, json: { event: free } });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);

  const added = await runCommand(EventAdd, [
    'Working from home',
    '--start',
    '2096-03-02T09:00Z',
    '--duration',
    '8h',
    '--free',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(added.exitCode, 0, added.stderr);
  const [create] = gateway.requestsTo('POST', '/v1/events');
  t.is((JSON.parse(create?.body ?? '{}') as { transparent?: boolean }).transparent, true);

  const busy = await runCommand(EventUpdate, [
    'e1',
    '--no-free',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(busy.exitCode, 0, busy.stderr);
  const [patch] = gateway.requestsTo('PATCH', '/v1/events/e1');
  t.deepEqual(JSON.parse(patch?.body ?? '{}'), { transparent: false });

  const shown = await runCommand(EventShow, ['e1', '--tz', 'UTC', '--config-dir', configDir]);
  t.is(shown.exitCode, 0, shown.stderr);
  t.regex(shown.stdout, /shows as\s+free \(takes none of your time\)/);
});
