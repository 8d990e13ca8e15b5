import test from 'ava';
import { DateTime } from 'luxon';
import { seededRandom } from '../../base/rng.js';
import { InvalidInput } from '../../contract/errors.js';
import { at } from './test-fixtures.js';
import {
  parseDuration,
  parseInstant,
  validateEventDraft,
  validateQueryInterval,
  validateTimeZone,
} from './validation.js';
import type { EventDraft } from './validation.js';

const base: EventDraft = {
  title: 'Review',
  start: at('2025-03-03T09:00:00Z'),
  end: at('2025-03-03T10:00:00Z'),
};

test('a minimal draft gets its defaults', (t) => {
  t.deepEqual(validateEventDraft(base), {
    title: 'Review',
    start: at('2025-03-03T09:00:00Z'),
    end: at('2025-03-03T10:00:00Z'),
    timeZone: 'UTC',
    description: '',
    location: '',
    visibility: 'busy',
    recurrence: null,
  });
});

test('an event may end when it starts: an instant, one-off or recurring', (t) => {
  const instant = at('2025-03-03T09:00:00Z');
  t.like(validateEventDraft({ ...base, end: instant }), { start: instant, end: instant });
  t.like(validateEventDraft({ ...base, end: instant, recurrence: 'FREQ=DAILY;COUNT=3' }), {
    start: instant,
    end: instant,
  });
});

test('zones are canonicalised and fields trimmed', (t) => {
  const d = validateEventDraft({
    ...base,
    title: '  Review  ',
    timeZone: 'europe/madrid',
    visibility: 'public',
    description: 'line 1\nline 2',
  });
  t.is(d.title, 'Review');
  t.is(d.timeZone, 'Europe/Madrid');
  t.is(d.visibility, 'public');
  t.is(d.description, 'line 1\nline 2');
});

const refused: ReadonlyArray<[string, Partial<EventDraft>, string, RegExp]> = [
  ['empty title', { title: '   ' }, 'title', /cannot be empty/],
  ['long title', { title: 'x'.repeat(201) }, 'title', /longer than 200/],
  ['title with a line break', { title: 'a\nb' }, 'title', /control characters/],
  [
    'end before start',
    { end: at('2025-03-03T08:00:00Z') },
    'end',
    /end cannot be before the start/,
  ],
  ['too long', { end: at('2025-04-30T09:00:00Z') }, 'end', /at most 31 days/],
  ['sub-second start', { start: at('2025-03-03T09:00:00.500Z') }, 'start', /whole second/],
  ['year 2300', { end: at('2300-01-01T00:00:00Z') }, 'end', /between 1970 and 2200/],
  ['NaN start', { start: Number.NaN }, 'start', /between 1970 and 2200/],
  ['unknown zone', { timeZone: 'Mars/Olympus' }, 'timeZone', /not an IANA time zone/],
  ['bad visibility', { visibility: 'secret' }, 'visibility', /public, busy or private/],
  ['long location', { location: 'x'.repeat(501) }, 'location', /longer than 500/],
  [
    'exceptions without recurrence',
    { exceptions: [at('2025-03-10T09:00:00Z')] },
    'exceptions',
    /recurring/,
  ],
  ['unsupported rule', { recurrence: 'FREQ=MINUTELY' }, 'recurrence', /not supported/],
  [
    'self-overlapping series',
    { end: at('2025-03-04T10:00:00Z'), recurrence: 'FREQ=DAILY' },
    'recurrence',
    /overlap each other/,
  ],
  [
    'UNTIL before start',
    { recurrence: 'FREQ=DAILY;UNTIL=20250101T000000Z' },
    'recurrence',
    /UNTIL is before/,
  ],
];
for (const [name, change, field, reason] of refused) {
  test(`draft refused: ${name}`, (t) => {
    const error = t.throws(() => validateEventDraft({ ...base, ...change }));
    t.true(error instanceof InvalidInput);
    t.regex(error.message, reason);
    t.is((error as InvalidInput).field, field);
  });
}

/** What luxon alone makes of an instant: the reference the fast path must agree with. */
function luxonInstant(text: string): number | string {
  const parsed = DateTime.fromISO(text.trim(), { setZone: true });
  return parsed.isValid ? parsed.toMillis() : 'invalid';
}

test('plain instants read the same as luxon reads them, edge cases included', (t) => {
  const random = seededRandom(20261127);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const two = (low: number, high: number): string =>
    String(low + Math.floor(random() * (high - low + 1))).padStart(2, '0');
  const disagreements: string[] = [];
  for (let trial = 0; trial < 20_000; trial += 1) {
    const year = pick([
      '1970',
      '2024',
      '2025',
      '2100',
      '2000',
      '2199',
      String(1970 + Math.floor(random() * 230)),
    ]);
    const time = `${two(0, 24)}:${two(0, 60)}${pick(['', `:${two(0, 60)}`, `:${two(0, 59)}.${pick(['5', '25', '125', '000'])}`])}`;
    const offset = pick([
      'Z',
      `+${two(0, 15)}:${two(0, 60)}`,
      `-${two(0, 15)}:${two(0, 60)}`,
      '+00:00',
      '-00:00',
    ]);
    const text = `${year}-${two(0, 13)}-${two(0, 32)}T${time}${offset}`;
    const expected = luxonInstant(text);
    let actual: number | string;
    try {
      actual = parseInstant(text, 'start');
    } catch (error) {
      // Outside 1970–2200 or not whole seconds: the range check, not the parser, refuses.
      if (
        error instanceof InvalidInput &&
        /must be/.test(error.message) &&
        expected !== 'invalid'
      ) {
        continue;
      }
      actual = 'invalid';
    }
    if (actual !== expected)
      disagreements.push(`${text}: parseInstant ${actual}, luxon ${expected}`);
  }
  t.deepEqual(disagreements, []);
});

test('instants need an explicit offset', (t) => {
  t.is(parseInstant('2025-03-01T10:00:00+01:00', 'start'), at('2025-03-01T09:00:00Z'));
  t.is(parseInstant('2025-03-01T09:00Z', 'start'), at('2025-03-01T09:00:00Z'));
  t.throws(() => parseInstant('2025-03-01T09:00', 'start'), {
    instanceOf: InvalidInput,
    message: /needs a UTC offset/,
  });
  t.throws(() => parseInstant('yesterday Z', 'start'), {
    instanceOf: InvalidInput,
    message: /not an ISO 8601/,
  });
});

test('durations read like people write them', (t) => {
  t.is(parseDuration('45m'), 45 * 60_000);
  t.is(parseDuration('1h30m'), 90 * 60_000);
  t.is(parseDuration('2d'), 2 * 86_400_000);
  t.is(parseDuration('PT1H30M'), 90 * 60_000);
  for (const bad of ['', '0m', 'soon', 'P1M', '1.5h']) {
    t.throws(() => parseDuration(bad), { instanceOf: InvalidInput }, bad);
  }
});

test('query intervals are ordered and at most a year long', (t) => {
  t.throws(() => validateQueryInterval(at('2025-01-02T00:00:00Z'), at('2025-01-01T00:00:00Z')), {
    message: /after "from"/,
  });
  t.throws(() => validateQueryInterval(at('2025-01-01T00:00:00Z'), at('2026-06-01T00:00:00Z')), {
    message: /at most 366 days/,
  });
  t.deepEqual(validateQueryInterval(0, 1000), { start: 0, end: 1000 });
});

test('UTC is the default zone', (t) => {
  t.is(validateTimeZone(undefined), 'UTC');
});

test("a zone keeps the name it was given when ICU knows it by an older one, in the tz database's casing", (t) => {
  t.is(validateTimeZone('Asia/Kathmandu'), 'Asia/Kathmandu');
  t.is(validateTimeZone('Europe/Kyiv'), 'Europe/Kyiv');
  t.is(validateTimeZone('asia/kolkata'), 'Asia/Kolkata');
  t.is(validateTimeZone('asia/ho_chi_minh'), 'Asia/Ho_Chi_Minh');
  // ICU's own names keep ICU's spelling, whatever the case given.
  t.is(validateTimeZone('europe/paris'), 'Europe/Paris');
  t.is(validateTimeZone('america/port-au-prince'), 'America/Port-au-Prince');
  t.is(validateTimeZone('Asia/Katmandu'), 'Asia/Katmandu');
  t.is(validateTimeZone('etc/gmt+5'), 'Etc/GMT+5');
});

test('a series cannot start in the second pass of a repeated hour, which its wall-clock time would not name', (t) => {
  const draft = {
    title: 'Night shift',
    start: at('2026-11-01T06:30:00Z'), // 01:30 EST, the second 01:30 in New York that night
    end: at('2026-11-01T07:00:00Z'),
    timeZone: 'America/New_York',
    recurrence: 'FREQ=DAILY;COUNT=3',
  };
  const error = t.throws(() => validateEventDraft(draft), { instanceOf: InvalidInput });
  t.regex(error.message, /read that time twice.*2026-11-01T05:30:00\.000Z/);
  // The first pass, and the same time as a one-off event, are kept as asked.
  t.is(
    validateEventDraft({ ...draft, start: draft.start - 3_600_000, end: draft.end - 3_600_000 })
      .start,
    draft.start - 3_600_000,
  );
  const { recurrence: _, ...oneOff } = draft;
  t.is(validateEventDraft(oneOff).start, draft.start);
});
