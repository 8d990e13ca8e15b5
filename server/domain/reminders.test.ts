/**
 * Reminders on events: their bounds, how create and update keep them, and how they travel
 * as VALARMs (export, import, round trip).
 */
import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import { MAX_REMINDER_MINUTES, MAX_REMINDERS } from '../../contract/limits.js';
import { createEvent, updateEvent } from './events.js';
import { exportICalendar, importICalendar } from './icalendar.js';
import { at, commit, record, recordOf, recordsOf, worldWith } from './test-fixtures.js';
import { validateEventDraft, validateReminders } from './validation.js';

const now = at('2025-06-01T00:00:00Z');
const slot = { start: at('2025-06-02T09:00:00Z'), end: at('2025-06-02T10:00:00Z') };

test('reminders are whole minutes from 0 to 4 weeks, at most 5, kept ascending without repeats', (t) => {
  t.deepEqual(validateReminders(undefined), []);
  t.deepEqual(validateReminders([1440, 10, 10, 0]), [0, 10, 1440]);
  t.deepEqual(validateReminders([MAX_REMINDER_MINUTES]), [MAX_REMINDER_MINUTES]);
  const refusal = (value: number[]) =>
    t.throws(() => validateReminders(value), { instanceOf: InvalidInput });
  t.is(
    refusal([MAX_REMINDER_MINUTES + 7 * 24 * 60])?.message,
    'reminders can be at most 4 weeks before the event (28 days), not 35 days',
  );
  t.regex(refusal([MAX_REMINDER_MINUTES + 1])?.message ?? '', /at most 4 weeks before the event/);
  t.regex(refusal([-5])?.message ?? '', /before the start, not after/);
  t.regex(refusal([1.5])?.message ?? '', /whole number of minutes/);
  t.regex(refusal([Number.NaN])?.message ?? '', /whole number of minutes/);
  t.regex(refusal([1, 2, 3, 4, 5, 6])?.message ?? '', /at most 5 reminders \(got 6\)/);
  t.is(refusal([1, 2, 3, 4, 5, 6])?.field, 'reminders');
  // Duplicates count once.
  t.is(validateReminders([1, 2, 3, 4, 5, 5, 5]).length, MAX_REMINDERS);
  // Absent when there are none, so events without reminders look as they always did.
  t.false('reminders' in validateEventDraft({ title: 'x', ...slot, reminders: [] }));
  t.deepEqual(validateEventDraft({ title: 'x', ...slot, reminders: [60, 10] }).reminders, [10, 60]);
});

test('an event keeps its reminders; an update replaces them, [] removes them, other changes keep them', (t) => {
  const world = worldWith([], [], ['alice', 'bob']);
  const created = createEvent(
    {
      now,
      actor: 'alice',
      eventId: 'e1',
      draft: { title: 'Flight', ...slot, reminders: [1440, 180] },
      with: ['bob'],
    },
    { existingUsers: new Set(world.users.keys()), group: undefined, events: [] },
  );
  t.deepEqual(created.result.event.reminders, [180, 1440]);
  const w1 = commit(world, created);
  const update = (w: typeof w1, changes: Parameters<typeof updateEvent>[0]['changes']) =>
    updateEvent(
      { actor: 'alice', eventId: 'e1', now, changes },
      { record: recordOf(w, 'e1'), existingUsers: new Set(w.users.keys()), events: recordsOf(w) },
    );

  const renamed = update(w1, { title: 'Flight to Oslo' });
  t.deepEqual(renamed.result.event.reminders, [180, 1440], 'a new title keeps the reminders');
  const w2 = commit(w1, update(w1, { reminders: [10] }));
  t.deepEqual(w2.events.get('e1')?.reminders, [10]);
  const cleared = update(w2, { reminders: [] });
  t.is(cleared.result.event.reminders, undefined);
  t.false('reminders' in (commit(w2, cleared).events.get('e1') ?? {}));
  // Changing only the reminders is a change, and attendees are told.
  t.deepEqual(
    cleared.notifications.map((n) => `${n.to}:${n.change}`),
    ['alice:updated', 'bob:updated'],
  );
  t.deepEqual(update(w2, { reminders: [10] }).mutations, [], 'the same reminders change nothing');
  t.throws(() => update(w2, { reminders: [60 * 24 * 29] }), {
    instanceOf: InvalidInput,
    message: /reminders can be at most 4 weeks before the event/,
  });
});

test('reminders are exported as display VALARMs and imported back unchanged', (t) => {
  const event = record({
    id: 'flight',
    ...validateEventDraft({
      title: 'Flight',
      ...slot,
      timeZone: 'Europe/Madrid',
      recurrence: 'FREQ=WEEKLY;COUNT=3',
      reminders: [0, 10, 1440, MAX_REMINDER_MINUTES],
    }),
    organizer: 'alice',
  });
  const text = exportICalendar([event], { now });
  const unfolded = text.replace(/\r\n[ \t]/g, '');
  for (const trigger of ['TRIGGER:PT0S', 'TRIGGER:-PT10M', 'TRIGGER:-P1D', 'TRIGGER:-P4W']) {
    t.true(
      unfolded.includes(
        `BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Flight\r\n${trigger}\r\nEND:VALARM`,
      ),
      trigger,
    );
  }
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'UTC' });
  t.deepEqual(skipped, []);
  t.deepEqual(events[0]?.draft.reminders, [0, 10, 1440, MAX_REMINDER_MINUTES]);
  t.deepEqual(validateEventDraft(events[0]?.draft ?? { title: '', start: 0, end: 0 }).reminders, [
    0,
    10,
    1440,
    MAX_REMINDER_MINUTES,
  ]);

  const none = exportICalendar([record({ id: 'plain', title: 'Plain', ...slot })], { now });
  t.false(none.includes('VALARM'));
  t.false(
    'reminders' in (importICalendar(none, { defaultTimeZone: 'UTC' }).events[0]?.draft ?? {}),
  );
});

test('foreign VALARMs: triggers before the start become reminders; the rest is left out, never failing the event', (t) => {
  const alarm = (...lines: string[]) => ['BEGIN:VALARM', ...lines, 'END:VALARM'];
  const file = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Test//EN',
    'BEGIN:VEVENT',
    'UID:many',
    'DTSTART:20250602T090000Z',
    'DTEND:20250602T100000Z',
    'SUMMARY:Many alarms',
    ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT15M'),
    ...alarm('ACTION:AUDIO', 'TRIGGER;RELATED=START:-PT1H'),
    ...alarm('ACTION:EMAIL', 'TRIGGER:-P1DT30S'), // part of a minute: a whole one earlier
    ...alarm('ACTION:DISPLAY', 'TRIGGER;VALUE=DATE-TIME:20250602T083000Z'), // absolute: 30 min
    ...alarm('ACTION:DISPLAY', 'TRIGGER;RELATED=END:-PT5M'), // relative to the end: left out
    ...alarm('ACTION:DISPLAY', 'TRIGGER:PT5M'), // after the start: left out
    ...alarm('ACTION:NONE', 'TRIGGER;VALUE=DATE-TIME:19760401T005545Z'), // Apple's placeholder
    ...alarm('ACTION:DISPLAY', 'TRIGGER:-P5W'), // earlier than 4 weeks: left out
    ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT15M'), // a repeat counts once
    ...alarm('ACTION:DISPLAY'), // no trigger
    ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT2M'),
    ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT3M'),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const { events, skipped } = importICalendar(file, { defaultTimeZone: 'UTC' });
  // 2, 3, 15, 30, 60 and 1441 minutes qualify: the first five are kept.
  t.deepEqual(events[0]?.draft.reminders, [2, 3, 15, 30, 60]);
  // Each alarm left out is reported under its event, with why; Apple's placeholder is no alarm.
  t.deepEqual(
    skipped.map((s) => [s.component, s.uid, s.summary, s.reason]),
    [
      'it goes off relative to the end (-PT5M); reminders come before the start',
      'it goes off after the start; reminders come before it',
      'it goes off 50400 minutes before the start, earlier than a reminder may (4 weeks)',
      'it has no TRIGGER, so nothing says when it would go off',
      'an event keeps at most 5 reminders, the nearest to its start; this one (1441 minutes before) is further',
    ].map((reason) => ['VALARM', 'many', 'Many alarms', reason]),
  );
});
