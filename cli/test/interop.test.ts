import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import Export from '../commands/export.js';
import Import from '../commands/import.js';
import { FakeGateway, createTestTls } from './support/fake-gateway.js';
import type { TestTls } from './support/fake-gateway.js';
import { logIn, loginAnswer } from './support/fixtures.js';
import { parseJsonLine, runCommand, temporaryConfigDir } from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

const CALENDAR = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Agenda//CLI test//EN',
  'BEGIN:VEVENT',
  'UID:standup@example.org',
  'DTSTAMP:20260301T000000Z',
  'DTSTART:20260302T090000Z',
  'DTEND:20260302T091500Z',
  'SUMMARY:Standup – café ☕',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

/** A gateway whose agenda is whatever calendar was last imported. */
async function calendarGateway(): Promise<{ gateway: FakeGateway; configDir: string }> {
  const gateway = await FakeGateway.start(tls);
  let stored = '';
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/import', (request) => {
      if (request.body.includes('UID:clash@example.org')) {
        return {
          status: 200,
          json: {
            events: [{ uid: 'standup@example.org', id: 'e1', action: 'created' }],
            failed: [
              {
                index: 1,
                uid: 'clash@example.org',
                error: { code: 'conflict', message: 'it overlaps Standup' },
              },
            ],
            skipped: [{ uid: 'todo-1', reason: 'VTODO is not supported' }],
          },
        };
      }
      stored = request.body;
      return {
        status: 200,
        json: {
          events: [{ uid: 'standup@example.org', id: 'e1', action: 'created' }],
          failed: [],
          skipped: [],
        },
      };
    })
    .on('GET', '/v1/export', () => ({
      status: 200,
      text: stored,
      contentType: 'text/calendar; charset=utf-8',
    }));
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  return { gateway, configDir };
}

test('import then export round-trips an .ics file byte for byte', async (t) => {
  const { gateway, configDir } = await calendarGateway();
  t.teardown(() => gateway.close());
  const source = path.join(configDir, 'in.ics');
  await writeFile(source, CALENDAR);

  const imported = await runCommand(Import, [source, '--json', '--config-dir', configDir]);
  t.is(imported.exitCode, 0, imported.stderr);
  t.like(parseJsonLine(imported.stdout), {
    events: [{ uid: 'standup@example.org', id: 'e1', action: 'created' }],
    failed: [],
    skipped: [],
  });
  const [upload] = gateway.requestsTo('POST', '/v1/import');
  t.is(upload?.body, CALENDAR);
  t.regex(String(upload?.headers['content-type']), /^text\/calendar/);
  t.truthy(upload?.headers['idempotency-key']);

  const target = path.join(configDir, 'out.ics');
  const exported = await runCommand(Export, [
    '--output',
    target,
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(exported.exitCode, 0, exported.stderr);
  t.deepEqual(parseJsonLine(exported.stdout), { file: target, bytes: Buffer.byteLength(CALENDAR) });
  t.is(await readFile(target, 'utf8'), CALENDAR);
  t.regex(String(gateway.requestsTo('GET', '/v1/export')[0]?.headers.accept), /text\/calendar/);

  // The file exists now: kept unless --force.
  await writeFile(target, 'precious');
  const refused = await runCommand(Export, ['--output', target, '--config-dir', configDir]);
  t.is(refused.exitCode, 1);
  t.regex(refused.stderr, /exists: add --force to replace it/);
  t.is(await readFile(target, 'utf8'), 'precious');

  const human = await runCommand(Export, [
    '--output',
    target,
    '--force',
    '--config-dir',
    configDir,
  ]);
  t.is(human.stdout, `Exported 1 event to ${target}.\n`);
  t.is(await readFile(target, 'utf8'), CALENDAR);

  // A directory is no file to write, --force or not (outside attack P4: "add --force", then
  // EISDIR), and is said before any request.
  const exports = gateway.requestsTo('GET', '/v1/export').length;
  for (const force of [[], ['--force']]) {
    const directory = await runCommand(Export, [
      '--output',
      configDir,
      ...force,
      '--config-dir',
      configDir,
    ]);
    t.is(directory.exitCode, 1);
    t.is(directory.stderr, `error: --output ${configDir} is a directory: give a file name\n`);
  }
  t.is(gateway.requestsTo('GET', '/v1/export').length, exports);
});

test('export writes the raw calendar to stdout, or a {calendar} field with --json', async (t) => {
  const { gateway, configDir } = await calendarGateway();
  t.teardown(() => gateway.close());
  const source = path.join(configDir, 'in.ics');
  await writeFile(source, CALENDAR);
  await runCommand(Import, [source, '--config-dir', configDir]);

  const raw = await runCommand(Export, [
    '--from',
    '2026-03-01T00:00',
    '--to',
    '2026-04-01T00:00',
    '--tz',
    'Europe/Madrid',
    '--config-dir',
    configDir,
  ]);
  t.is(raw.stdout, CALENDAR);
  const query = gateway.requestsTo('GET', '/v1/export')[0]?.query;
  t.is(query?.get('from'), '2026-03-01T00:00:00+01:00');
  t.is(query?.get('to'), '2026-04-01T00:00:00+02:00');

  const json = await runCommand(Export, ['--json', '--config-dir', configDir]);
  t.deepEqual(parseJsonLine(json.stdout), { calendar: CALENDAR });
  t.false(gateway.requestsTo('GET', '/v1/export')[1]?.query.has('from'));
});

test('an import with failed events prints the result and exits with the first failure', async (t) => {
  const { gateway, configDir } = await calendarGateway();
  t.teardown(() => gateway.close());
  const source = path.join(configDir, 'clash.ics');
  await writeFile(source, CALENDAR.replace('UID:standup@example.org', 'UID:clash@example.org'));

  const json = await runCommand(Import, [
    source,
    '--allow-conflict',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(json.exitCode, 4);
  t.like(parseJsonLine(json.stdout), { failed: [{ uid: 'clash@example.org' }] });
  t.like(parseJsonLine(json.stderr), {
    error: {
      code: 'conflict',
      message: '1 of 2 events were not imported (first: it overlaps Standup)',
    },
  });
  t.is(gateway.requestsTo('POST', '/v1/import')[0]?.query.get('allowConflict'), 'true');

  const human = await runCommand(Import, [source, '--config-dir', configDir]);
  t.regex(human.stdout, /Imported 1 event \(1 created\)\./);
  t.regex(human.stdout, /not imported: clash@example\.org: it overlaps Standup/);
  t.regex(human.stdout, /skipped: todo-1: VTODO is not supported/);
});

test('importing a file that cannot be read exits 1 before any request', async (t) => {
  const { gateway, configDir } = await calendarGateway();
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [
    path.join(configDir, 'missing.ics'),
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 1);
  t.like(parseJsonLine(run.stderr), { error: { code: 'invalid' } });
  t.is(gateway.requestsTo('POST', '/v1/import').length, 0);
});
