/**
 * Importing a file again respects SEQUENCE (RFC 5545 §3.8.7.4, issue 15): an event changed
 * in Agenda since it was imported is not reverted by the same file, nor by one whose version
 * of it is no newer; a file with a newer version (a greater SEQUENCE, or the same with a later
 * LAST-MODIFIED) brings it up to date.
 */
import test from 'ava';
import { aliceAlone, fixture, importText, listed } from './support.js';

const SEPTEMBER = ['2025-09-01T00:00:00Z', '2025-10-01T00:00:00Z'] as const;
const EVENING = '3hq8n5v1c0m2k4j6l8p0r2t4v6@google.com';

test("Google: an event renamed in Agenda keeps its name when the same file is imported again, reported as kept; a newer SEQUENCE, or a later LAST-MODIFIED, brings the file's", async (t) => {
  const c = await aliceAlone();
  const file = fixture('google-sequence.ics');
  const first = importText(c, file, 'UTC').outcome;
  t.deepEqual(
    first.events.map((e) => e.action),
    ['created', 'created'],
  );
  const id = first.events[0]?.id ?? '';
  c.ok('alice', {
    type: 'event.update',
    eventId: id,
    changes: { title: 'Parents’ evening (bring the forms)' },
  });

  const again = importText(c, file, 'UTC').outcome;
  t.deepEqual(
    again.events.map((e) => [e.uid, e.action, e.kept]),
    [
      [
        EVENING,
        'unchanged',
        "kept the version in your agenda: the file's (SEQUENCE 2, last modified 2025-08-20T09:00:00.000Z) is not newer than the one it was imported from (SEQUENCE 2, last modified 2025-08-20T09:00:00.000Z)",
      ],
      ['7gk2m4p6r8t0v2x4z6b8d0f2h4@google.com', 'unchanged', undefined],
    ],
  );
  t.deepEqual(listed(c, ...SEPTEMBER), [
    ['2025-09-05T16:00:00.000Z', 'Parents’ evening (bring the forms)'],
    ['2025-09-06T09:00:00.000Z', 'Swimming'],
  ]);

  // An older version of the file (a lower SEQUENCE, though modified later) changes nothing.
  const older = file
    .replace('SEQUENCE:2', 'SEQUENCE:1')
    .replace(
      'LAST-MODIFIED:20250820T090000Z\r\nSEQUENCE:1',
      'LAST-MODIFIED:20250830T090000Z\r\nSEQUENCE:1',
    )
    .replace('LOCATION:School hall', 'LOCATION:Gym');
  t.is(importText(c, older, 'UTC').outcome.events[0]?.action, 'unchanged');
  t.is(c.read('alice', { type: 'event.show', eventId: id }).event.location, 'School hall');

  // The organizer moved it in Google (SEQUENCE 3): the file's version wins.
  const moved = file
    .replace('SEQUENCE:2', 'SEQUENCE:3')
    .replace('DTSTART:20250905T160000Z', 'DTSTART:20250905T170000Z')
    .replace('DTEND:20250905T170000Z', 'DTEND:20250905T180000Z');
  const newer = importText(c, moved, 'UTC').outcome;
  t.deepEqual(
    newer.events.map((e) => [e.action, e.kept]),
    [
      ['updated', undefined],
      ['unchanged', undefined],
    ],
  );
  t.deepEqual(listed(c, ...SEPTEMBER)[0], ['2025-09-05T17:00:00.000Z', "Parents' evening"]);

  // Renamed here again; the same SEQUENCE with a later LAST-MODIFIED (a change that did not
  // raise it) is newer too.
  c.ok('alice', { type: 'event.update', eventId: id, changes: { title: 'Evening' } });
  t.is(importText(c, moved, 'UTC').outcome.events[0]?.action, 'unchanged');
  const touched = moved.replace(
    'LAST-MODIFIED:20250820T090000Z\r\nSEQUENCE:3',
    'LAST-MODIFIED:20250902T090000Z\r\nSEQUENCE:3',
  );
  t.is(importText(c, touched, 'UTC').outcome.events[0]?.action, 'updated');
  t.is(listed(c, ...SEPTEMBER)[0]?.[1], "Parents' evening");
});

test('an event found as the file has it in a newer version stays unchanged (no new revision), and keeps that version for the next import', async (t) => {
  const c = await aliceAlone();
  const file = fixture('google-sequence.ics');
  const id = importText(c, file, 'UTC').outcome.events[1]?.id ?? '';
  // Google raised the SEQUENCE of an event whose fields Agenda keeps did not change.
  const raised = file.replace('SEQUENCE:0', 'SEQUENCE:4');
  t.is(importText(c, raised, 'UTC').outcome.events[1]?.action, 'unchanged');
  t.is(c.read('alice', { type: 'event.show', eventId: id }).event.revision, 0);
  // Changed here since: the file with SEQUENCE 4 is no newer than what was imported.
  c.ok('alice', { type: 'event.update', eventId: id, changes: { title: 'Swimming (pool B)' } });
  const again = importText(c, raised, 'UTC').outcome.events[1];
  t.is(again?.action, 'unchanged');
  t.regex(
    again?.kept ?? '',
    /the file's \(SEQUENCE 4, .*\) is not newer than the one it was imported from \(SEQUENCE 4,/,
  );
  t.is(listed(c, ...SEPTEMBER)[1]?.[1], 'Swimming (pool B)');
});
