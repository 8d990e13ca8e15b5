/**
 * `agenda device add|list|revoke` against a fake gateway: the app password is shown once,
 * with the username and server a CalDAV app asks for; list and revoke answer as the API does.
 */
import test from 'ava';
import DeviceAdd from '../commands/device/add.js';
import DeviceList from '../commands/device/list.js';
import DeviceRevoke from '../commands/device/revoke.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import { logIn, loginAnswer } from './support/fixtures.js';
import {
  parseJsonLine,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
} from './support/harness.js';

const device = { id: 'd1', label: 'phone', createdAt: '2030-01-01T00:00:00.000Z' };
const password = 'abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567';

test('device add shows the app password once with the username and server; list and revoke answer {devices} and {device}', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/devices', {
      status: 201,
      json: { password, username: 'alice', url: 'https://127.0.0.1:8443/dav/', device },
    })
    .on('GET', '/v1/devices', { status: 200, json: { devices: [device] } })
    .on('DELETE', '/v1/devices/:id', { status: 200, json: { device } });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);

  const made = await runCommand(DeviceAdd, ['phone', '--config-dir', configDir]);
  t.is(made.exitCode, 0, made.stderr);
  t.regex(made.stdout, /^App password: abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567$/m);
  t.regex(made.stdout, /^Username: +alice$/m);
  t.regex(made.stdout, /^Server: +https:\/\/127\.0\.0\.1:8443\/dav\/$/m);
  t.regex(made.stdout, /not shown again/);
  t.deepEqual(JSON.parse(gateway.requestsTo('POST', '/v1/devices')[0]?.body ?? ''), {
    label: 'phone',
  });

  const listed = await runCommand(DeviceList, ['--json', '--config-dir', configDir]);
  t.is(listed.exitCode, 0, listed.stderr);
  t.deepEqual(parseJsonResult(DeviceList, listed.stdout), { devices: [device] });
  const table = await runCommand(DeviceList, ['--config-dir', configDir]);
  t.regex(table.stdout, /d1\s+phone/);

  const revoked = await runCommand(DeviceRevoke, ['d1', '--json', '--config-dir', configDir]);
  t.is(revoked.exitCode, 0, revoked.stderr);
  t.deepEqual(parseJsonResult(DeviceRevoke, revoked.stdout), { device });
  t.is(gateway.requestsTo('DELETE', '/v1/devices/d1').length, 1);
});

test('device add past the cap, and revoke of an unknown device, exit with the error', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on(
      'POST',
      '/v1/devices',
      errorAnswer(400, 'invalid', 'you have 20 devices, the most one user keeps'),
    )
    .on('DELETE', '/v1/devices/:id', errorAnswer(404, 'not_found', 'you have no device d9'));
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const full = await runCommand(DeviceAdd, ['tablet', '--json', '--config-dir', configDir]);
  t.is(full.exitCode, 1);
  t.like(parseJsonLine(full.stderr), { error: { code: 'invalid' } });
  const missing = await runCommand(DeviceRevoke, ['d9', '--json', '--config-dir', configDir]);
  t.not(missing.exitCode, 0);
  t.like(parseJsonLine(missing.stderr), { error: { code: 'not_found' } });
  const none = await runCommand(DeviceAdd, ['--config-dir', configDir]);
  t.not(none.exitCode, 0, 'the label is required');
});
