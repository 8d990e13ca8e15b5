/**
 * `agenda import` of a file bigger than one request: split, sent two requests at a time
 * with a progress bar on a terminal, answers combined in file order, each request retried
 * under its own idempotency key while the gateways cannot answer, and stopped by Ctrl-C
 * (no further request; those in flight finish and count).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import Import from '../commands/import.js';
import { IMPORT_REQUEST_MAX_EVENTS } from '../../contract/api.js';
import type { ImportAnswer } from '../../contract/api.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import type { RecordedRequest, TestTls } from './support/fake-gateway.js';
import { logIn, loginAnswer } from './support/fixtures.js';
import {
  RecordedTerminal,
  parseJsonLine,
  parseJsonResult,
  runCommand,
  temporaryConfigDir,
} from './support/harness.js';

let tls: TestTls;
test.before(async () => {
  tls = await createTestTls();
});

/** An Apple-style export of `n` yearly all-day events, LF line ends. */
function birthdays(n: number): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Apple Inc.//macOS 14.5//EN'];
  for (let i = 0; i < n; i++) {
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 27)).padStart(2, '0');
    lines.push(
      'BEGIN:VEVENT',
      `UID:birthday-${i}@example.com`,
      'RRULE:FREQ=YEARLY',
      `DTSTART;VALUE=DATE:2025${month}${day}`,
      `SUMMARY:Birthday ${i}`,
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return `${lines.join('\n')}\n`;
}

/** What a gateway importing `request` would answer: every UID in it, created. */
function created(request: RecordedRequest): ImportAnswer {
  const uids = [...request.body.matchAll(/^UID:(.+)\r$/gm)].map((m) => m[1] ?? '');
  return {
    events: uids.map((uid) => ({ uid, id: `id-${uid}`, action: 'created' as const })),
    failed: [],
    skipped: [],
  };
}

async function importGateway(
  handler: (
    request: RecordedRequest,
    n: number,
  ) =>
    | ReturnType<typeof created>
    | ReturnType<typeof errorAnswer>
    | Promise<ReturnType<typeof created> | ReturnType<typeof errorAnswer>>,
): Promise<{ gateway: FakeGateway; configDir: string; file: string }> {
  const gateway = await FakeGateway.start(tls);
  let n = 0;
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/import', async (request) => {
      const answer = await handler(request, n++);
      return 'status' in answer ? answer : { status: 200, json: answer };
    });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const file = path.join(configDir, 'big.ics');
  await writeFile(file, birthdays(450));
  return { gateway, configDir, file };
}

test('a file of 450 events goes in three requests, one combined result, a progress bar on a terminal only', async (t) => {
  const { gateway, configDir, file } = await importGateway((request) => created(request));
  t.teardown(() => gateway.close());

  const json = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(json.exitCode, 0, json.stderr);
  const requests = gateway.requestsTo('POST', '/v1/import');
  t.deepEqual(
    requests.map((r) => r.body.match(/^BEGIN:VEVENT\r$/gm)?.length),
    [IMPORT_REQUEST_MAX_EVENTS, IMPORT_REQUEST_MAX_EVENTS, 450 - 2 * IMPORT_REQUEST_MAX_EVENTS],
  );
  for (const request of requests) {
    t.true(request.body.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.'));
    t.true(request.body.endsWith('END:VCALENDAR\r\n'));
  }
  const keys = new Set(requests.map((r) => r.headers['idempotency-key']));
  t.is(keys.size, 3, 'each request has a key of its own');
  const result = parseJsonResult(Import, json.stdout);
  t.is(result.events.length, 450);
  t.like(result.events[449], { uid: 'birthday-449@example.com', action: 'created' });
  t.is(json.stderr, '');

  const terminal = new RecordedTerminal({ tty: true });
  const human = await runCommand(Import, [file, '--config-dir', configDir], terminal);
  t.is(human.exitCode, 0, human.stderr);
  t.regex(human.stderr, /Importing ━+─+ 200\/450 events/);
  t.regex(human.stderr, /Importing ━{24} 450\/450 events/);
  t.true(human.stderr.endsWith('\r\u001b[K'), 'the bar is erased at the end');
  t.is(human.stdout, 'Imported 450 events (450 created).\n');

  const piped = await runCommand(Import, [file, '--config-dir', configDir]);
  t.is(piped.stderr, '');
});

test('a request nobody could answer is sent again with the same key, and the import goes on', async (t) => {
  const { gateway, configDir, file } = await importGateway((request, n) =>
    n === 1
      ? errorAnswer(503, 'unavailable', 'the users service did not answer within 10 s')
      : created(request),
  );
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  const keys = gateway.requestsTo('POST', '/v1/import').map((r) => r.headers['idempotency-key']);
  t.is(keys.length, 4);
  t.is(new Set(keys).size, 3, 'three requests, one sent twice');
  t.is(keys.lastIndexOf(keys[1]), 3, 'the retry (sent last, after a pause) kept its key');
  t.is(parseJsonResult(Import, run.stdout).events.length, 450);
});

test('failures of every request are combined, indexed across the file; the exit code is the first one', async (t) => {
  const { gateway, configDir, file } = await importGateway((request, n) => {
    const answer = created(request);
    if (n !== 1) return answer;
    const [first, ...rest] = answer.events;
    return {
      events: rest,
      failed: [
        {
          index: 0,
          uid: first?.uid ?? null,
          error: { code: 'conflict', message: 'it overlaps Dentist' },
        },
      ],
      skipped: [{ uid: 'todo-1', reason: 'VTODO: only events (VEVENT) are imported' }],
    };
  });
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  // A failure wins over the component skipped: its exit code, and complete: false.
  t.is(run.exitCode, 4);
  const result = parseJsonResult(Import, run.stdout);
  t.false(result.complete);
  t.deepEqual(result.failed, [
    {
      index: IMPORT_REQUEST_MAX_EVENTS,
      uid: `birthday-${IMPORT_REQUEST_MAX_EVENTS}@example.com`,
      error: { code: 'conflict', message: 'it overlaps Dentist' },
    },
  ]);
  t.is(result.events.length, 449);
  t.is(result.skipped.length, 1);
  t.like(parseJsonLine(run.stderr), {
    error: {
      code: 'conflict',
      message: '1 of 450 events were not imported (first: it overlaps Dentist)',
    },
  });
});

test('answers are combined in file order when a later request is answered first', async (t) => {
  const { gateway, configDir, file } = await importGateway(async (request, n) => {
    if (n === 0) await new Promise((resolve) => setTimeout(resolve, 300));
    return created(request);
  });
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  const result = parseJsonResult(Import, run.stdout);
  t.deepEqual(
    result.events.map((e) => e.uid),
    Array.from({ length: 450 }, (_, i) => `birthday-${i}@example.com`),
  );
});

test('Ctrl-C sends no further request, lets the two in flight finish, and says how far it got and how to resume', async (t) => {
  const terminal = new RecordedTerminal({ tty: true });
  const { gateway, configDir, file } = await importGateway((request, n) => {
    // Once: a second Ctrl-C would abandon the request in flight as well.
    if (n === 0) terminal.interrupt();
    return created(request);
  });
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--config-dir', configDir], terminal);
  t.is(run.exitCode, 1);
  t.is(gateway.requestsTo('POST', '/v1/import').length, 2);
  t.is(run.stdout, 'Imported 400 events (400 created).\n');
  t.regex(
    run.stderr,
    /the import was interrupted after 400 of 450 events; run the same command again to resume \(the events already imported come back unchanged\)/,
  );
  t.false(terminal.interruptible, 'it stopped listening for Ctrl-C');
});

test('Ctrl-C twice abandons the requests in flight and says their events may have been imported', async (t) => {
  const terminal = new RecordedTerminal({ tty: true });
  const { gateway, configDir, file } = await importGateway(async (request, n) => {
    if (n === 1) {
      terminal.interrupt();
      terminal.interrupt();
    }
    // Still working when the second Ctrl-C abandons the request (the server may apply it).
    await new Promise((resolve) => setTimeout(resolve, 300));
    return created(request);
  });
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--config-dir', configDir], terminal);
  t.is(run.exitCode, 1);
  t.regex(
    run.stderr,
    /the import was interrupted after 0 of 450 events \(the 400 events of the requests abandoned in flight may have been imported as well\); run the same command again to resume/,
  );
});

test('a refusal that every request would get stops the import at once', async (t) => {
  const { gateway, configDir, file } = await importGateway(() =>
    errorAnswer(403, 'forbidden', 'your account is suspended'),
  );
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(run.exitCode, 3);
  // The two sent at once, and no other.
  t.is(gateway.requestsTo('POST', '/v1/import').length, 2);
  const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
  t.is(error.code, 'forbidden');
  t.regex(
    error.message,
    /^the import stopped after 0 of 450 events: your account is suspended; run the same command again/,
  );
});

test('an empty file is refused as empty before any request; a calendar without events says it holds none', async (t) => {
  const { gateway, configDir } = await importGateway(() => ({
    events: [],
    failed: [],
    skipped: [{ uid: 'todo-1', reason: 'a VTODO: Agenda keeps events only' }],
  }));
  t.teardown(() => gateway.close());
  for (const text of ['', '\n\r\n  \n', '\uFEFF']) {
    const file = path.join(configDir, 'empty.ics');
    await writeFile(file, text);
    const run = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
    t.is(run.exitCode, 1);
    const { error } = parseJsonLine(run.stderr) as { error: { code: string; message: string } };
    t.is(error.code, 'invalid');
    t.true(
      error.message.startsWith(`${file} is empty: it holds no events to import`),
      error.message,
    );
  }
  t.is(gateway.requestsTo('POST', '/v1/import').length, 0);

  const todos = path.join(configDir, 'todos.ics');
  await writeFile(
    todos,
    'BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:todo-1\nSUMMARY:Taxes\nEND:VTODO\nEND:VCALENDAR\n',
  );
  const run = await runCommand(Import, [todos, '--config-dir', configDir]);
  // The VTODO was skipped whole: not everything in the file is in the agenda (exit 6).
  t.is(run.exitCode, 6, run.stderr);
  t.is(
    run.stdout,
    'Nothing imported: the file holds no events (no VEVENT).\nskipped: todo-1: a VTODO: Agenda keeps events only\n',
  );
});

test("a file whose events were all refused says so, and why: the one event's reason on the first line", async (t) => {
  const reasons: Record<string, string> = {
    'yoga-1': 'VEVENT "Yoga": FREQ=BOGUS is not supported; use DAILY, WEEKLY, MONTHLY, YEARLY',
    'yoga-2': 'VEVENT "Yoga again": the event has no start (DTSTART)',
  };
  const { gateway, configDir } = await importGateway((request) => ({
    events: [],
    failed: [],
    skipped: Object.entries(reasons)
      .filter(([uid]) => request.body.includes(`UID:${uid}`))
      .map(([uid, reason]) => ({ uid, reason })),
  }));
  t.teardown(() => gateway.close());
  const vevent = (uid: string) =>
    `BEGIN:VEVENT\nUID:${uid}\nDTSTART:20260302T090000Z\nRRULE:FREQ=BOGUS\nSUMMARY:Yoga\nEND:VEVENT\n`;
  const calendar = (...uids: string[]) =>
    `BEGIN:VCALENDAR\nVERSION:2.0\n${uids.map(vevent).join('')}END:VCALENDAR\n`;

  const one = path.join(configDir, 'one.ics');
  await writeFile(one, calendar('yoga-1'));
  const run = await runCommand(Import, [one, '--config-dir', configDir]);
  t.is(run.exitCode, 6, run.stderr);
  t.is(run.stdout, `Nothing imported: the file's one event was refused: ${reasons['yoga-1']}\n`);
  t.notRegex(run.stdout, /holds no events/);

  const two = path.join(configDir, 'two.ics');
  await writeFile(two, calendar('yoga-1', 'yoga-2'));
  const both = await runCommand(Import, [two, '--config-dir', configDir]);
  t.is(both.exitCode, 6, both.stderr);
  t.is(
    both.stdout,
    [
      "Nothing imported: none of the file's 2 events could be imported (why, below).",
      `skipped: yoga-1: ${reasons['yoga-1']}`,
      `skipped: yoga-2: ${reasons['yoga-2']}`,
      '',
    ].join('\n'),
  );

  // A changed occurrence whose series the file lacks is a VEVENT, though not an event.
  reasons['moved-1'] =
    'VEVENT "Yoga": a changed occurrence (RECURRENCE-ID) of a series the file does not have';
  const orphan = path.join(configDir, 'orphan.ics');
  await writeFile(
    orphan,
    'BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:moved-1\nRECURRENCE-ID:20260309T090000Z\nDTSTART:20260309T100000Z\nSUMMARY:Yoga\nEND:VEVENT\nEND:VCALENDAR\n',
  );
  const lone = await runCommand(Import, [orphan, '--config-dir', configDir]);
  t.is(lone.exitCode, 6, lone.stderr);
  t.is(
    lone.stdout,
    [
      "Nothing imported: none of the file's VEVENTs could be imported (why, below).",
      `skipped: moved-1: ${reasons['moved-1']}`,
      '',
    ].join('\n'),
  );
});

test('components skipped whole: the report is printed and the exit code is 6, --json says complete: false; parts of imported events left out keep 0', async (t) => {
  let withTodo = true;
  const { gateway, configDir, file } = await importGateway((request) => ({
    ...created(request),
    skipped: [
      {
        uid: 'birthday-3@example.com',
        reason: 'ATTENDEE "Birthday 3": its attendee (ana@example.com) is not kept',
        part: true as const,
      },
      ...(withTodo
        ? [{ uid: 'todo-1', reason: 'VTODO "Taxes": only events (VEVENT) are imported' }]
        : []),
    ],
    changed: [
      { uid: 'birthday-4@example.com', reason: 'VEVENT "Birthday 4": its title is shortened' },
    ],
  }));
  t.teardown(() => gateway.close());

  const human = await runCommand(Import, [file, '--config-dir', configDir]);
  t.is(human.exitCode, 6);
  t.regex(human.stdout, /^Imported 450 events \(450 created\)\./);
  t.regex(human.stdout, /skipped: todo-1: VTODO "Taxes": only events \(VEVENT\) are imported/);
  t.is(
    human.stderr,
    'warning: 3 components were skipped (listed above): not everything in the file is in your agenda\n',
  );

  const json = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(json.exitCode, 6);
  // Outside attack 16: the warning was plain text pointing "above" at nothing. Now one line
  // of JSON pointing at the result, which lists the skipped components.
  t.deepEqual(JSON.parse(json.stderr), {
    warning:
      '3 components were skipped (listed in the result\'s "skipped"): not everything in the file is in your agenda',
    code: 'incomplete',
  });
  const result = parseJsonResult(Import, json.stdout);
  t.like(result, { complete: false, encoding: 'utf-8' });
  t.is(result.skipped.filter((s) => s.part !== true).length, 3);
  t.true(result.skipped.some((s) => s.uid === 'todo-1' && /VTODO "Taxes"/.test(s.reason)));

  // Only an attendee left out and a title changed: everything is in the agenda.
  withTodo = false;
  const kept = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.is(kept.exitCode, 0, kept.stderr);
  t.like(parseJsonResult(Import, kept.stdout), { complete: true });
});

test('a file in Windows-1252 (Outlook) is sent as the UTF-8 text it means, and the report says how it was read', async (t) => {
  const { gateway, configDir, file } = await importGateway((request) => created(request));
  t.teardown(() => gateway.close());
  await writeFile(
    file,
    await readFile(new URL('../../test/fixtures/ics/outlook-windows-1252.ics', import.meta.url)),
  );
  const human = await runCommand(Import, [file, '--config-dir', configDir]);
  t.is(human.exitCode, 0, human.stderr);
  const [request] = gateway.requestsTo('POST', '/v1/import');
  t.true(request?.body.includes('SUMMARY:Réunion “Budget” über Köln\r\n'));
  t.true(request?.body.includes('DESCRIPTION:Budget 2026 – 1 200 € par équipe'));
  t.is(
    human.stdout,
    'Imported 1 event (1 created).\nencoding: the file is not UTF-8: it was read as Windows-1252 (as Outlook on Windows writes it)\n',
  );
  const json = await runCommand(Import, [file, '--json', '--config-dir', configDir]);
  t.like(parseJsonResult(Import, json.stdout), { encoding: 'windows-1252', complete: true });
});

test('an event kept as changed in Agenda is listed with why, and the exit code stays 0', async (t) => {
  const { gateway, configDir, file } = await importGateway((request) => {
    const answer = created(request);
    const [first, ...rest] = answer.events;
    return {
      ...answer,
      events: [
        {
          uid: first?.uid ?? '',
          id: 'id-0',
          action: 'unchanged' as const,
          kept: "kept the version in your agenda: the file's (SEQUENCE 0) is not newer than the one it was imported from (SEQUENCE 0)",
        },
        ...rest,
      ],
    };
  });
  t.teardown(() => gateway.close());
  const run = await runCommand(Import, [file, '--config-dir', configDir]);
  t.is(run.exitCode, 0, run.stderr);
  t.regex(
    run.stdout,
    /^Imported 450 events \(447 created, 3 unchanged\)\.\nkept: birthday-0@example\.com: kept the version in your agenda: the file's \(SEQUENCE 0\) is not newer/,
  );
});

test('events the file gives no CLASS: the human summary says how many were imported public and how to make them busy; --visibility is sent and combined over requests (outside attack 7)', async (t) => {
  const { gateway, configDir, file } = await importGateway((request) => {
    const answer = created(request);
    const visibility = request.query.get('visibility') ?? 'public';
    // The server's answer: every event of the request, created, had no CLASS.
    return {
      ...answer,
      withoutClass: {
        visibility: visibility as 'public' | 'busy' | 'private',
        uids: answer.events.map((e) => e.uid),
      },
    };
  });
  t.teardown(() => gateway.close());

  const human = await runCommand(Import, [file, '--config-dir', configDir]);
  t.is(human.exitCode, 0, human.stderr);
  t.true(gateway.requestsTo('POST', '/v1/import').every((r) => !r.query.has('visibility')));
  t.true(
    human.stdout.includes(
      'visibility: 450 events imported public because the file gave no CLASS, so others who see your agenda see their details (--visibility busy to show them as busy blocks; importing again keeps those imported: agenda event update <id> --visibility busy changes one)',
    ),
    human.stdout,
  );

  const busy = await runCommand(Import, [
    file,
    '--visibility',
    'busy',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(busy.exitCode, 0, busy.stderr);
  const sent = gateway.requestsTo('POST', '/v1/import').slice(-3);
  t.deepEqual(
    sent.map((r) => r.query.get('visibility')),
    ['busy', 'busy', 'busy'],
  );
  const result = parseJsonResult(Import, busy.stdout);
  t.is(result.withoutClass?.visibility, 'busy');
  t.is(result.withoutClass?.uids.length, 450);

  const wrong = await runCommand(Import, [
    file,
    '--visibility',
    'secret',
    '--config-dir',
    configDir,
  ]);
  t.is(wrong.exitCode, 1);
  t.regex(wrong.stderr, /--visibility must be one of public, busy or private \(got secret\)/);
});
