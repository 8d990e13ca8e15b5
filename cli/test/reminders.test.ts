/**
 * `watch --remind`'s schedule, on a fake clock: which occurrences remind, when, how often the
 * list is read again, and that each reminder is announced once. Also `--remind` on
 * `event add` and `event update`, and reminders in `event show`.
 */
import test from 'ava';
import type { EventView } from '../../contract/views.js';
import EventAdd from '../commands/event/add.js';
import EventShow from '../commands/event/show.js';
import EventUpdate from '../commands/event/update.js';
import { parseReminders } from '../flags.js';
import {
  REMINDER_LOOKAHEAD_MS,
  REMINDER_REFRESH_MS,
  REMINDER_SETTLE_MS,
  ReminderWatch,
  reminderWindow,
  remindersOf,
} from '../reminders.js';
import type { DueReminder, ReminderClock } from '../reminders.js';
import { FakeGateway, createTestTls, errorAnswer } from './support/fake-gateway.js';
import { eventDetails, eventView, logIn, loginAnswer } from './support/fixtures.js';
import { runCommand, temporaryConfigDir } from './support/harness.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T08:00:00Z');

/** A clock that moves only when told, firing its timers in order. */
class FakeClock implements ReminderClock {
  private time = T0;
  private timers: { at: number; callback: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): { cancel(): void } {
    const timer = { at: this.time + ms, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves `ms` on, firing every timer due on the way (and letting reads resolve). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers
        .filter((timer) => !timer.cancelled && timer.at <= end)
        .sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      next.cancelled = true;
      this.time = next.at;
      next.callback();
      await settle();
    }
    this.time = end;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function occurrence(startMs: number, fields: Partial<EventView> = {}): EventView {
  return eventView({
    id: 'sync',
    title: 'Sync',
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 15 * MINUTE).toISOString(),
    reminders: [10, 60],
    ...fields,
  });
}

function watchOver(clock: FakeClock, occurrences: () => EventView[]) {
  const announced: string[] = [];
  const windows: [number, number][] = [];
  const watch = new ReminderWatch({
    list: (from, to) => {
      windows.push([from, to]);
      return Promise.resolve(occurrences());
    },
    announce: (r: DueReminder) =>
      announced.push(
        `${new Date(clock.now()).toISOString().slice(11, 16)} ${r.event.id}-${r.minutes}`,
      ),
    clock,
  });
  return { watch, announced, windows };
}

test('reminders fall due before each accepted occurrence; pending, declined and cancelled ones remind nobody', (t) => {
  const start = T0 + 2 * 60 * MINUTE;
  const due = remindersOf(
    [
      occurrence(start),
      occurrence(T0 + 86_400_000 + 30 * MINUTE),
      occurrence(start, { id: 'invite', myStatus: 'pending' }),
      occurrence(start, { id: 'declined', myStatus: 'declined' }),
      occurrence(start, { id: 'off', status: 'cancelled' }),
      occurrence(T0 - MINUTE, { id: 'begun' }),
    ],
    T0,
  );
  // Tomorrow's 10-minute reminder is past the lookahead; its 60-minute one is not.
  t.deepEqual(
    due.map((r) => `${r.event.id}@${new Date(r.due).toISOString()}`),
    [
      'sync@2026-03-02T09:00:00.000Z',
      'sync@2026-03-02T09:50:00.000Z',
      'sync@2026-03-03T07:30:00.000Z',
    ],
  );
  t.true(due.every((r) => r.due <= T0 + REMINDER_LOOKAHEAD_MS));
});

test('each reminder is announced once, at its time; the list is read again every 10 minutes and soon after an update', async (t) => {
  const clock = new FakeClock();
  let listed = [occurrence(T0 + 30 * MINUTE), occurrence(T0 + 24 * 60 * MINUTE + 30 * MINUTE)];
  const { watch, announced, windows } = watchOver(clock, () => listed);
  await watch.start();
  // 60 minutes before 08:30 has passed, but the occurrence has not begun: said at once.
  t.deepEqual(announced, ['08:00 sync-60']);
  await clock.advance(25 * MINUTE);
  t.deepEqual(announced, ['08:00 sync-60', '08:20 sync-10']);
  t.is(windows.length, 3, 'read at the start and every 10 minutes');
  t.is(windows[1]?.[0], T0 + REMINDER_REFRESH_MS);

  // An update adds an event: it is read a moment later, not at the next 10 minutes.
  listed = [...listed, occurrence(T0 + 40 * MINUTE, { id: 'new', reminders: [5] })];
  watch.changed();
  watch.changed();
  await clock.advance(REMINDER_SETTLE_MS);
  t.is(windows.length, 4, 'a burst of updates is one read');
  await clock.advance(10 * MINUTE);
  t.deepEqual(announced, ['08:00 sync-60', '08:20 sync-10', '08:35 new-5']);

  // A day later, tomorrow's occurrence reminds too; nothing is said twice.
  await clock.advance(24 * 60 * MINUTE);
  t.deepEqual(announced.slice(3), ['07:30 sync-60', '08:20 sync-10']);
  watch.stop();
  const reads = windows.length;
  await clock.advance(60 * MINUTE);
  t.is(windows.length, reads, 'a stopped watch reads nothing');
});

test('a failed read is reported and retried at the next period', async (t) => {
  const clock = new FakeClock();
  const failures: unknown[] = [];
  let fail = true;
  const announced: number[] = [];
  const watch = new ReminderWatch({
    list: () =>
      fail
        ? Promise.reject(new Error('service unavailable'))
        : Promise.resolve([occurrence(T0 + 60 * MINUTE, { reminders: [30] })]),
    announce: (r) => announced.push(r.minutes),
    failed: (error) => failures.push(error),
    clock,
  });
  await watch.start();
  t.is(failures.length, 1);
  fail = false;
  await clock.advance(REMINDER_REFRESH_MS);
  await clock.advance(30 * MINUTE);
  t.deepEqual(announced, [30]);
  watch.stop();
});

test('--remind reads durations, several flags or commas, 0 and none', (t) => {
  t.deepEqual(parseReminders(['10m']), [10]);
  t.deepEqual(parseReminders(['10m', '1d']), [10, 1440]);
  t.deepEqual(parseReminders(['1h30m, 2h', '0']), [90, 120, 0]);
  t.deepEqual(parseReminders(['PT15M']), [15]);
  // Weeks are a unit: `5w` reaches the server, whose refusal names the limit (4 weeks).
  t.deepEqual(parseReminders(['1w', '5 weeks']), [10_080, 50_400]);
  t.deepEqual(parseReminders(['none']), []);
  t.throws(() => parseReminders(['none', '10m']), { message: /none cannot be combined/ });
  t.throws(() => parseReminders(['']), { message: /names no time/ });
  t.throws(() => parseReminders(['90s']), { message: /whole minutes/ });
  t.throws(() => parseReminders(['-5m']), { message: /not negative/ });
  t.throws(() => parseReminders(['tomorrow']), { message: /not a duration/ });
});

test('event add and update send --remind as minutes; event show lists the reminders', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  const withReminders = eventDetails({ reminders: [10, 1440] });
  gateway
    .on('POST', '/v1/sessions', { status: 200, json: loginAnswer() })
    .on('POST', '/v1/events', {
      status: 201,
      json: { event: withReminders, conflicts: [], imposedConflicts: [] },
    })
    .on('PATCH', '/v1/events/:id', {
      status: 200,
      json: { event: eventDetails(), conflicts: [], imposedConflicts: [] },
    })
    .on('GET', '/v1/events/:id', { status: 200, json: { event: withReminders } });
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);

  const added = await runCommand(EventAdd, [
    'Flight',
    '--start',
    '2026-03-02T07:00Z',
    '--duration',
    '2h',
    '--remind',
    '10m',
    '--remind',
    '1d',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(added.exitCode, 0, added.stderr);
  const [create] = gateway.requestsTo('POST', '/v1/events');
  t.deepEqual((JSON.parse(create?.body ?? '{}') as { reminders?: number[] }).reminders, [10, 1440]);

  const cleared = await runCommand(EventUpdate, [
    'e1',
    '--remind',
    'none',
    '--json',
    '--config-dir',
    configDir,
  ]);
  t.is(cleared.exitCode, 0, cleared.stderr);
  const [patch] = gateway.requestsTo('PATCH', '/v1/events/e1');
  t.deepEqual(JSON.parse(patch?.body ?? '{}'), { reminders: [] });

  const shown = await runCommand(EventShow, ['e1', '--tz', 'UTC', '--config-dir', configDir]);
  t.is(shown.exitCode, 0, shown.stderr);
  t.regex(shown.stdout, /reminders\s+10 min before, 1 d before/);
});

test('the server says why it refuses reminders; the CLI shows it with exit 1, no stack', async (t) => {
  const tls = await createTestTls();
  const gateway = await FakeGateway.start(tls);
  t.teardown(() => gateway.close());
  gateway.on('POST', '/v1/sessions', { status: 200, json: loginAnswer() }).on(
    'POST',
    '/v1/events',
    errorAnswer(400, 'invalid', 'an event has at most 5 reminders (got 6)', {
      field: 'reminders',
    }),
  );
  const configDir = await temporaryConfigDir();
  await logIn(gateway, tls, configDir);
  const run = await runCommand(EventAdd, [
    'Flight',
    '--start',
    // In the future, so no warning about a past start comes before the error.
    '2096-03-02T07:00Z',
    '--duration',
    '2h',
    '--remind',
    '1m,2m,3m,4m,5m,6m',
    '--config-dir',
    configDir,
  ]);
  t.is(run.exitCode, 1);
  t.is(run.stderr, 'error: an event has at most 5 reminders (got 6)\n');
});

test('the window read for reminders is in whole seconds, as the API takes instants', (t) => {
  const { from, to } = reminderWindow(Date.parse('2026-12-06T13:00:00.123Z'));
  t.is(new Date(from).toISOString(), '2026-12-06T13:00:00.000Z');
  t.is(to % 1000, 0);
  t.true(to > from + REMINDER_LOOKAHEAD_MS);
  t.is(reminderWindow(Date.parse('2026-12-06T13:00:00Z')).from, from);
});
