/**
 * Every calendar file of test/fixtures/ics/, imported as a user imports it and expanded as
 * their agenda lists it, compared occurrence by occurrence with an independent expander
 * (issue 15): Debian's python3-recurring-ical-events, run by test/oracle/expand_ics.py.
 *
 * Our side is the real path: the domain's parser (`importICalendar`, in a default zone),
 * one `event.import` command to a store, then `event.list` over the fixture's window, page
 * by page — the store's own expansion of series (server/domain/recurrence.ts), its
 * exceptions, and the events detached from series for changed occurrences. Conflicts are
 * allowed: whether two events of a file may overlap is not what is compared.
 *
 * Compared, for each UID: the set of occurrences, each as its start and end (UTC instants,
 * or dates for an all-day one: ours when both ends are midnight in the event's zone) and,
 * for a changed occurrence, its RECURRENCE-ID (ours: the occurrence the detached event was).
 * Cancelled instances must be absent on both sides. A UID the oracle cannot read must be
 * one our import skipped too. Every difference must be listed in `KNOWN`, with the reason;
 * a listed difference that no longer occurs fails as well, so that the list stays the truth.
 * test/fixtures/ics/README.md says what each fixture is and repeats the list.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { DateTime } from 'luxon';
import { decodeCalendarFile } from '../cli/import/decode-calendar.js';
import { importICalendar } from '../server/domain/index.js';
import type { CommandBody } from '../server/store/protocol.js';
import { at, openStore, StoreClient } from '../server/store/test-support.js';

const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./oracle/expand_ics.py', import.meta.url));
const FIXTURES = new URL('./fixtures/ics/', import.meta.url);

/**
 * Each fixture's window [from, to) and the zone it is imported in (the importer's zone: what
 * dates and floating times are read in, here and by the oracle), chosen to hold the file's
 * interesting part — its changes of daylight saving time, moved and cancelled occurrences —
 * with no occurrence at an edge (the two expanders may count an event touching an edge
 * differently, which is not what is compared).
 */
const CASES: Record<string, { from: string; to: string; zone: string }> = {
  'davx5-alarm-attendees.ics': { from: '2025-10-01', to: '2025-11-20', zone: 'Europe/Vienna' },
  'dtstart-only-recurring.ics': { from: '2025-10-15', to: '2025-12-01', zone: 'America/New_York' },
  'google-all-day-recurring.ics': { from: '2025-03-01', to: '2025-06-15', zone: 'Europe/Madrid' },
  'outlook-w-europe-all-day.ics': { from: '2025-03-15', to: '2026-03-15', zone: 'Europe/Zurich' },
  'sabredav-rdate.ics': { from: '2025-10-01', to: '2026-01-01', zone: 'Europe/Berlin' },
  'thunderbird-exdate-all-day.ics': { from: '2025-10-01', to: '2025-11-20', zone: 'Europe/Berlin' },
  'apple-location-lines.ics': { from: '2025-06-01', to: '2025-07-01', zone: 'America/Los_Angeles' },
  'apple-no-end.ics': { from: '2025-06-01', to: '2025-07-01', zone: 'Europe/Berlin' },
  'eluceo-dates-without-value.ics': { from: '2025-10-01', to: '2025-11-01', zone: 'Europe/Zurich' },
  'exchange-all-day-occurrence.ics': {
    from: '2025-03-01',
    to: '2025-05-15',
    zone: 'Europe/Madrid',
  },
  'exchange-windows-zones.ics': { from: '2025-03-01', to: '2025-05-01', zone: 'UTC' },
  'facebook-birthdays.ics': { from: '2025-04-01', to: '2026-04-01', zone: 'Europe/Madrid' },
  'google-holidays-transparent.ics': { from: '2025-10-01', to: '2025-12-01', zone: 'UTC' },
  'google-long-title-attendees.ics': {
    from: '2025-07-01',
    to: '2025-08-01',
    zone: 'Europe/Madrid',
  },
  'google-moved-occurrence.ics': { from: '2025-03-01', to: '2025-06-01', zone: 'America/New_York' },
  'google-sequence.ics': { from: '2025-09-01', to: '2025-10-01', zone: 'Europe/Madrid' },
  'google-zero-length.ics': { from: '2025-06-01', to: '2025-07-01', zone: 'America/New_York' },
  'ical-1.5-cr-line-ends.ics': { from: '2025-07-01', to: '2025-11-15', zone: 'Europe/Paris' },
  'orphan-occurrences.ics': { from: '2025-03-01', to: '2025-04-15', zone: 'UTC' },
  'outlook-2007-sydney.ics': { from: '2025-03-20', to: '2025-05-01', zone: 'Australia/Sydney' },
  'outlook-2010-brasilia.ics': { from: '2025-05-01', to: '2025-08-01', zone: 'America/Sao_Paulo' },
  // Where the file's stale zone keeps Brazil's daylight saving (ended in 2019): one event and
  // one occurrence of the series.
  'outlook-2010-stale-brasilia.ics': {
    from: '2025-11-14',
    to: '2025-11-24',
    zone: 'America/Sao_Paulo',
  },
  'outlook-customized-zone-bad-offsets.ics': {
    from: '2025-06-01',
    to: '2025-07-01',
    zone: 'Europe/Berlin',
  },
  'outlook-windows-1252.ics': { from: '2025-06-01', to: '2025-07-01', zone: 'Europe/Paris' },
  'thunderbird-moved-occurrence.ics': {
    from: '2025-03-01',
    to: '2025-05-01',
    zone: 'Europe/Berlin',
  },
  'thunderbird-one-bad-event.ics': { from: '2025-03-01', to: '2025-04-01', zone: 'Europe/Berlin' },
};

/** Why two readings of a file differ, and which. */
type Why =
  /** RFC 5545 leaves it open, or the file says two things: both readings are defensible. */
  | 'ambiguity'
  /** The file breaks RFC 5545; each reader recovers its own way (we skip and report). */
  | 'invalid'
  /** RFC 5545 says what it means, and the oracle does otherwise. */
  | 'oracle'
  /** Valid RFC 5545 that our import skips and reports, not yet supported. */
  | 'unsupported';

/**
 * Every difference between our reading and the oracle's, by fixture, as the lines
 * `difference` writes, with why. Nothing else may differ.
 */
const KNOWN: Record<string, { why: Why; reason: string; lines: string[] }[]> = {
  'apple-no-end.ics': [
    {
      why: 'oracle',
      reason:
        'a DTSTART date with neither DTEND nor DURATION lasts one day (RFC 5545 §3.6.1); ' +
        'recurring_ical_events 2.0.1 makes it end when it starts',
      lines: [
        'oracle only: 9B2A6C4D-1E3F-4A5B-8C7D-6E5F4A3B2C1D 2025-06-14/2025-06-14',
        'ours only: 9B2A6C4D-1E3F-4A5B-8C7D-6E5F4A3B2C1D 2025-06-14/2025-06-15',
      ],
    },
  ],
  'dtstart-only-recurring.ics': [
    {
      why: 'oracle',
      reason:
        'a DTSTART date with neither DTEND nor DURATION lasts one day (RFC 5545 §3.6.1), each ' +
        'occurrence of a series too; recurring_ical_events 2.0.1 makes it end when it starts',
      lines: [
        'oracle only: 20251001-anniversary@example.com 2025-11-02/2025-11-02',
        'ours only: 20251001-anniversary@example.com 2025-11-02/2025-11-03',
      ],
    },
  ],
  'exchange-windows-zones.ics': [
    {
      why: 'oracle',
      reason:
        "UNTIL is inclusive (RFC 5545 §3.3.10) and Exchange writes the last occurrence's start " +
        'in UTC; recurring_ical_events expands with the offset of DTSTART (winter) through the ' +
        'change to summer time, so the last occurrence seems an hour past UNTIL and is dropped',
      lines: [
        'ours only: 040000008200E00074C5B7101A82E00800000000D0E5F3A1B2C3DB01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90 2025-04-07T08:00:00Z/2025-04-07T08:30:00Z',
        'ours only: 040000008200E00074C5B7101A82E00800000000E1F2A3B4C5D6DB01000000000000000010000000B2C3D4E5F60718293A4B5C6D7E8F9001 2025-03-17T16:00:00Z/2025-03-17T16:15:00Z',
      ],
    },
  ],
  'orphan-occurrences.ics': [
    {
      why: 'unsupported',
      reason:
        'a changed occurrence whose series is not in the file (what an attendee invited to one ' +
        'occurrence gets, RFC 6638 §3.2.6) is skipped and reported; the oracle shows it alone',
      lines: [
        'oracle only: lost@example.com 2025-03-10T12:00:00Z/2025-03-10T13:00:00Z (recurrence 2025-03-10T09:00:00Z)',
      ],
    },
    {
      why: 'invalid',
      reason:
        'a RECURRENCE-ID names an instance of the recurrence set (RFC 5545 §3.8.4.4), and ' +
        '2025-03-11 (a Tuesday) is none of a Monday series: we skip and report it, the oracle ' +
        'shows it as an extra event',
      lines: [
        'oracle only: weekly@example.com 2025-03-11T12:00:00Z/2025-03-11T13:00:00Z (recurrence 2025-03-11T09:00:00Z)',
      ],
    },
    {
      why: 'unsupported',
      reason:
        'RANGE=THISANDFUTURE changes that occurrence and every later one (RFC 5545 §3.8.4.4): ' +
        'we skip and report it, so the series keeps its times; the oracle ignores RANGE and ' +
        'moves that one occurrence only (neither is what the file means)',
      lines: [
        'oracle only: weekly@example.com 2025-03-17T10:00:00Z/2025-03-17T11:00:00Z (recurrence 2025-03-17T09:00:00Z)',
        'ours only: weekly@example.com 2025-03-17T09:00:00Z/2025-03-17T10:00:00Z',
      ],
    },
  ],
  'outlook-2010-stale-brasilia.ics': [
    {
      why: 'ambiguity',
      reason:
        'the TZID "(UTC-03:00) Brasília" names a zone (America/Sao_Paulo, no daylight saving ' +
        "since 2019) and the file's VTIMEZONE of that name defines another (with it): RFC 5545 " +
        '§3.6.5 makes the VTIMEZONE the definition, and the oracle follows it; we follow the ' +
        "name, as the author's Outlook shows it, and report the event as changed",
      lines: [
        'oracle only: stale-brasilia-2 2025-11-20T12:00:00Z/2025-11-20T13:00:00Z',
        'ours only: stale-brasilia-2 2025-11-20T13:00:00Z/2025-11-20T14:00:00Z',
        'oracle only: stale-brasilia-3 2025-11-18T11:00:00Z/2025-11-18T11:30:00Z',
        'ours only: stale-brasilia-3 2025-11-18T12:00:00Z/2025-11-18T12:30:00Z',
      ],
    },
  ],
  'thunderbird-one-bad-event.ics': [
    {
      why: 'invalid',
      reason:
        'an RRULE whose UNTIL is no date (20251345) is unreadable: we skip the event and report ' +
        'it; icalendar drops the RRULE and the oracle shows the first occurrence alone',
      lines: ['oracle only: 7a9e3b21-choir 2025-03-04T18:00:00Z/2025-03-04T19:30:00Z'],
    },
  ],
};

interface OracleOccurrence {
  readonly recurrenceId: string | null;
  readonly start: string;
  readonly end: string;
  readonly allDay: boolean;
  readonly summary: string;
}
type OracleUid = { readonly occurrences: OracleOccurrence[] } | { readonly error: string };
interface OracleFile {
  readonly file: string;
  readonly uids: Record<string, OracleUid>;
}

/** Runs the oracle once over every fixture; says what to install when it cannot run. */
function runOracle(
  jobs: { file: string; from: string; to: string; zone: string }[],
): Promise<OracleFile[]> {
  const missing =
    "the calendar oracle needs /usr/bin/python3 with Debian's python3-recurring-ical-events: " +
    'apt-get install python3-recurring-ical-events (.ci/run installs it)';
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [ORACLE, '--batch'], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new Error(`${missing} (${error.message})`)));
    child.on('close', (code) => {
      if (code === 3) reject(new Error(`${missing}\n${stderr}`));
      else if (code !== 0) reject(new Error(`the oracle exited ${code}:\n${stderr}`));
      else resolve(JSON.parse(stdout) as OracleFile[]);
    });
    child.stdin.end(JSON.stringify(jobs));
  });
}

/** `2025-03-10T13:00:00Z` for an instant. */
function utc(instant: number): string {
  return new Date(instant).toISOString().replace('.000Z', 'Z');
}

/** One occurrence as compared: `start/end`, and `(recurrence R)` for a changed one. */
function occurrenceText(start: string, end: string, recurrenceId: string | null): string {
  return `${start}/${end}${recurrenceId === null ? '' : ` (recurrence ${recurrenceId})`}`;
}

interface Ours {
  /** Occurrences by UID, each as `occurrenceText`. */
  readonly byUid: Map<string, string[]>;
  /** UIDs our import skipped (whole events, not parts), with why. */
  readonly skipped: Map<string, string>;
  /** Store refusals, by UID. */
  readonly failed: Map<string, string>;
}

/** The fixture imported and listed as a user's agenda lists it. */
async function ours(text: string, from: number, to: number, zone: string): Promise<Ours> {
  const parsed = importICalendar(text, { defaultTimeZone: zone });
  const c = new StoreClient(await openStore());
  c.register('alice');
  // Fresh ids go where freshIdCount puts them: each event's, then one per changed occurrence.
  const owner = new Map<string, { uid: string; occurrenceStart: number | null }>();
  const ids: string[] = [];
  for (const event of parsed.events) {
    owner.set(`x${ids.length}`, { uid: event.uid, occurrenceStart: null });
    ids.push(`x${ids.length}`);
    for (const occurrence of event.occurrences ?? []) {
      owner.set(`x${ids.length}`, { uid: event.uid, occurrenceStart: occurrence.occurrenceStart });
      ids.push(`x${ids.length}`);
    }
  }
  const failed = new Map<string, string>();
  const skipped = new Map<string, string>();
  for (const s of parsed.skipped) {
    if (s.part !== true && s.component === 'VEVENT') skipped.set(s.uid ?? '', s.reason);
  }
  const byUid = new Map<string, string[]>();
  if (parsed.events.length > 0) {
    const body: CommandBody = { type: 'event.import', events: parsed.events, allowConflict: true };
    const outcome = c.ok('alice', body, { ids });
    for (const f of outcome.failed) failed.set(f.uid ?? '', f.error.message);
    let after: string | undefined;
    do {
      const page = c.read('alice', {
        type: 'event.list',
        from,
        to,
        ...(after === undefined ? {} : { after }),
      });
      for (const e of page.events) {
        const who = owner.get(e.id);
        if (who === undefined) throw new Error(`an event the import did not make: ${e.id}`);
        const start = DateTime.fromISO(e.start, { zone: e.timeZone });
        const end = DateTime.fromISO(e.end, { zone: e.timeZone });
        const allDay =
          start < end && start.equals(start.startOf('day')) && end.equals(end.startOf('day'));
        const show = (instant: number) =>
          allDay
            ? (DateTime.fromMillis(instant, { zone: e.timeZone }).toISODate() ?? '')
            : utc(instant);
        const list = byUid.get(who.uid) ?? [];
        list.push(
          occurrenceText(
            show(start.toMillis()),
            show(end.toMillis()),
            who.occurrenceStart === null ? null : show(who.occurrenceStart),
          ),
        );
        byUid.set(who.uid, list);
      }
      after = page.next ?? undefined;
    } while (after !== undefined);
  }
  return { byUid, skipped, failed };
}

/**
 * The differences between the two readings, one line each: `oracle only: UID OCCURRENCE`,
 * `ours only: UID OCCURRENCE`, `oracle error: UID` (the oracle cannot read a UID we
 * imported), `store refused: UID`.
 */
function difference(oracle: OracleFile, mine: Ours): string[] {
  const lines: string[] = [];
  const uids = new Set([...Object.keys(oracle.uids), ...mine.byUid.keys(), ...mine.failed.keys()]);
  for (const uid of [...uids].sort()) {
    if (mine.failed.has(uid)) lines.push(`store refused: ${uid}`);
    const theirs = oracle.uids[uid];
    const ourList = [...(mine.byUid.get(uid) ?? [])].sort();
    if (theirs !== undefined && 'error' in theirs) {
      if (!mine.skipped.has(uid)) lines.push(`oracle error: ${uid}`);
      continue;
    }
    const theirList = (theirs?.occurrences ?? [])
      .map((o) => occurrenceText(o.start, o.end, o.recurrenceId))
      .sort();
    const left = [...ourList];
    for (const occurrence of theirList) {
      const i = left.indexOf(occurrence);
      if (i >= 0) left.splice(i, 1);
      else lines.push(`oracle only: ${uid} ${occurrence}`);
    }
    for (const occurrence of left) lines.push(`ours only: ${uid} ${occurrence}`);
  }
  return lines;
}

const files = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.ics'))
  .sort();

test('every fixture has a window to be compared in, and every listed difference a fixture', (t) => {
  t.deepEqual(
    files.filter((name) => CASES[name] === undefined),
    [],
  );
  t.deepEqual(
    Object.keys({ ...CASES, ...KNOWN }).filter((name) => !files.includes(name)),
    [],
  );
});

const day = (date: string) => at(`${date}T00:00:00Z`);
const oracleRun = runOracle(
  files
    .filter((name) => CASES[name] !== undefined)
    .map((name) => {
      const c = CASES[name] ?? { from: '', to: '', zone: '' };
      return {
        file: fileURLToPath(new URL(name, FIXTURES)),
        from: `${c.from}T00:00:00Z`,
        to: `${c.to}T00:00:00Z`,
        zone: c.zone,
      };
    }),
);
// Awaited by each test; a failure is theirs, not an unhandled rejection.
oracleRun.catch(() => undefined);

for (const name of files) {
  const c = CASES[name];
  if (c === undefined) continue;
  test(`${name}: our import and expansion agree with recurring_ical_events, but for the listed differences`, async (t) => {
    const oracle = (await oracleRun).find((o) => o.file.endsWith(`/${name}`));
    if (oracle === undefined) throw new Error(`the oracle did not read ${name}`);
    const text = decodeCalendarFile(readFileSync(new URL(name, FIXTURES))).text;
    const mine = await ours(text, day(c.from), day(c.to), c.zone);
    const found = difference(oracle, mine);
    const known = (KNOWN[name] ?? []).flatMap((k) => k.lines);
    t.deepEqual(
      found.sort(),
      [...known].sort(),
      `${name}: differences not listed in KNOWN (or listed and gone)`,
    );
    // Something was compared: a window that catches nothing proves nothing.
    t.true(
      [...mine.byUid.values()].some((list) => list.length > 0),
      `${name}: no occurrence of ours in the window`,
    );
  });
}
