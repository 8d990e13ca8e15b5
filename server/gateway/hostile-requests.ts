/**
 * Test support (not used by production code): fast-check arbitraries of HTTP requests drawn
 * from the API's declaration (contract/api-routes.ts) — every route, its path parameters,
 * query parameters and body — mixing what a careful client sends with what a hostile or
 * broken one does: wrong types, strings at and past the limits of contract/limits.ts, deep
 * nesting, unicode edge cases, absurd numbers and dates, pathological recurrence rules,
 * malformed iCalendar, bad JSON, wrong media types and missing, garbage or expired
 * credentials.
 *
 * A request is plain data ({@link HostileRequest}); credentials are named, not carried, so
 * that a counterexample prints readably and the sender turns them into tokens.
 */
import fc from 'fast-check';
import type { z } from 'zod';
import {
  API_ROUTES,
  queryNames,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import { requestSchema } from '../../contract/request-schemas.js';
import {
  DESCRIPTION_MAX_LENGTH,
  GROUP_NAME_MAX_LENGTH,
  LOCATION_MAX_LENGTH,
  MAX_GROUP_MEMBERS,
  MAX_IMPORT_CHUNK_BYTES,
  MAX_IMPORT_CHUNK_EVENTS,
  MAX_INVITEES,
  MAX_LEVEL,
  MAX_PAGE_SIZE,
  MAX_RRULE_COUNT,
  MAX_RRULE_INTERVAL,
  PASSWORD_MAX_LENGTH,
  TITLE_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
} from '../../contract/limits.js';

/** Whose credentials a request carries, if any, and in what state. */
export type Credentials =
  | { readonly kind: 'none' }
  /** A valid session token of `user` (registered or not). */
  | { readonly kind: 'session'; readonly user: string }
  /** A session token that expired. */
  | { readonly kind: 'expired'; readonly user: string }
  /** A session token signed by a key the gateway does not trust. */
  | { readonly kind: 'foreign'; readonly user: string }
  /** A feed token presented as a session token. */
  | { readonly kind: 'feed'; readonly user: string }
  /** This exact `authorization` header. */
  | { readonly kind: 'header'; readonly value: string };

/** A request body: text, or raw bytes (not necessarily UTF-8). */
export type HostileBody =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly base64: string };

/** One request, as plain data. */
export interface HostileRequest {
  /** The route it was drawn from (its method or path may have been changed since). */
  readonly route: RouteName;
  readonly method: string;
  /** Path and query string, as sent (percent-encoded where a client would encode). */
  readonly target: string;
  readonly credentials: Credentials;
  /** `content-type`, when sent. */
  readonly contentType?: string;
  readonly idempotencyKey?: string;
  readonly body?: HostileBody;
}

/** What exists in the system the requests are aimed at, so that some of them hit real things. */
export interface World {
  /** Registered users (the first one owns the groups and events below). */
  readonly users: readonly string[];
  /** Groups that exist. */
  readonly groups: readonly string[];
  /** Events that exist. */
  readonly eventIds: readonly string[];
  /** Feed path tokens that are valid. */
  readonly feedTokens: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Text

/** Pieces of text that break naive code: controls, lone surrogates, bidi, emoji, combining marks. */
const NASTY_PIECES = [
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDFFF',
  '\u202E',
  '\u2066',
  '\u200B',
  '\u200D',
  '\uFEFF',
  '\u2028',
  '\u2029',
  '\uFFFD',
  '\uFFFF',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  'e\u0301\u0301\u0301\u0301',
  '\u0e01\u0e49\u0e49\u0e49',
  'ß',
  'İ',
  'ﬃ',
  '"',
  "'",
  '\\',
  '/',
  '../',
  '%',
  '%00',
  '%zz',
  '?',
  '#',
  '&',
  '=',
  ';',
  ',',
  ':',
  ' ',
  '__proto__',
  'constructor',
  'toString',
  '<script>',
  '${x}',
  'NaN',
  '-0',
  '1e308',
  'null',
  'undefined',
] as const;

/** Text mixing ordinary characters with {@link NASTY_PIECES}. */
export const nastyText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...NASTY_PIECES) },
      { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

/** Text of a length at or around `max` (in UTF-16 units or in characters of several units). */
function nearLimit(max: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(max - 1, max, max + 1, 2 * max + 7),
      fc.constantFrom('x', 'é', '👩', 'e\u0301', '\u0000'),
    )
    .map(([n, unit]) => unit.repeat(Math.max(0, Math.ceil(n / unit.length))).slice(0, n));
}

/** `arbitrary`'s value once in `oneIn` draws, else undefined. */
function rarely<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary },
  );
}

/** `arbitrary`'s value, but undefined once in `oneIn` draws. */
function mostly<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** A string for a field whose documented limit is `max`. */
function textField(max: number, ...valid: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid.length > 0 ? fc.constantFrom(...valid) : fc.string() },
    { weight: 3, arbitrary: nastyText },
    { weight: 1, arbitrary: nearLimit(max) },
  );
}

// ---------------------------------------------------------------------------------------
// Values of the domain

const VALID_INSTANTS = [
  '2026-03-02T09:00:00Z',
  '2026-03-02T10:00:00+01:00',
  '2026-03-02T09:00:00.000Z',
  '2026-03-29T01:30:00Z',
  '1970-01-01T00:00:00Z',
  '2199-12-31T23:00:00Z',
  '2026-03-02T09:00:00-09:30',
] as const;

const HOSTILE_INSTANTS = [
  '',
  ' ',
  'tomorrow',
  'NaN',
  '-0',
  '0',
  '1e308',
  'Infinity',
  '-Infinity',
  '2026-02-30T09:00:00Z',
  '2026-02-29T09:00:00Z',
  '2026-03-02T24:00:00Z',
  '2026-03-02T23:59:60Z',
  '2026-03-02T09:00:00',
  '2026-03-02',
  '2026-03-02T09:00:00+99:99',
  '2026-03-02T09:00:00+24:00',
  '2026-03-02T09:00:00-00:00',
  '2026-03-02t09:00:00z',
  '2026-03-02 09:00:00Z',
  '2026-03-02T09:00:00.123456789012345Z',
  '1969-12-31T23:59:59.999Z',
  '2200-01-01T00:00:00Z',
  '2200-01-01T00:00:00.001Z',
  '+275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '２０２６-03-02T09:00:00Z',
  '2026-03-02T09:00:00Z\u0000',
  '\u202E2026-03-02T09:00:00Z',
] as const;

/** Instants given as text: valid, absurd, or drawn from the whole range of `Date`. */
export const instantText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VALID_INSTANTS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_INSTANTS) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }),
        fc.constantFrom('Z', '+00:00', '+14:00', '-12:00', '+05:45'),
      )
      .map(([date, offset]) => date.toISOString().replace('Z', offset)),
  },
  { weight: 1, arbitrary: nastyText },
);

const DURATIONS = [
  '1h',
  '45m',
  '2h',
  '1d',
  '1h30m',
  'PT1H30M',
  'PT45M',
  'P1D',
  '744h',
  '745h',
  '31d',
  '32d',
  '0m',
  '0s',
  '1s',
  '-1h',
  '99999999999d',
  '9'.repeat(400) + 'd',
  'P1Y',
  'P1W',
  'PT0.5H',
  'PT1,5H',
  '1e3h',
  'NaN',
  '',
  'PT',
  'P',
  '1H',
  'h',
  'PT1H30M0.000000001S',
  'P0D',
  'PT-1H',
] as const;

/** Durations: valid, at the 31-day limit, and absurd. */
export const durationText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...DURATIONS) },
  { weight: 1, arbitrary: nastyText },
  { weight: 1, arbitrary: fc.nat().map((n) => `${n}m`) },
);

const ZONES = [
  'UTC',
  'Europe/Madrid',
  'America/St_Johns',
  'Pacific/Apia',
  'Pacific/Kiritimati',
  'Australia/Lord_Howe',
  'Etc/GMT+12',
  'Etc/GMT-14',
  'EST5EDT',
  'utc',
  'Z',
  '+01:00',
  'Invalid/Zone',
  '',
  'local',
  '../../etc/passwd',
  'Europe/Madrid\u0000',
  'x'.repeat(101),
] as const;

export const timeZoneText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ZONES) },
  { weight: 1, arbitrary: nastyText },
);

/** RRULE parts, each a valid or pathological `NAME=value`. */
const rrulePart: fc.Arbitrary<string> = fc.oneof(
  fc
    .constantFrom(
      'SECONDLY',
      'MINUTELY',
      'HOURLY',
      'DAILY',
      'WEEKLY',
      'MONTHLY',
      'YEARLY',
      'daily',
      'FORTNIGHTLY',
      '',
    )
    .map((f) => `FREQ=${f}`),
  fc
    .constantFrom(
      '0',
      '1',
      '2',
      String(MAX_RRULE_INTERVAL - 1),
      String(MAX_RRULE_INTERVAL),
      String(MAX_RRULE_INTERVAL + 1),
      '2147483648',
      '-1',
      '1e308',
      '01',
      'x',
      '',
    )
    .map((v) => `INTERVAL=${v}`),
  fc
    .constantFrom(
      '0',
      '1',
      String(MAX_RRULE_COUNT),
      String(MAX_RRULE_COUNT + 1),
      '1000000000',
      '-1',
      '1.5',
      '',
    )
    .map((v) => `COUNT=${v}`),
  fc
    .constantFrom(
      '20260401T000000Z',
      '20260401',
      '19691231T235959Z',
      '22000101T000001Z',
      '99991231T235959Z',
      '20260230T000000Z',
      '20260401T000000',
      'tomorrow',
      '',
    )
    .map((v) => `UNTIL=${v}`),
  fc
    .constantFrom(
      'MO',
      'MO,TU,WE,TH,FR',
      '-1SU',
      '1MO',
      '5FR',
      '53MO',
      '-53FR',
      '54MO',
      '0MO',
      '+2TU',
      'XX',
      'MO,MO,MO',
      '',
    )
    .map((v) => `BYDAY=${v}`),
  fc
    .constantFrom('1', '13', '29', '30', '31', '-1', '-31', '0', '32', '-32', '1,15,31', '')
    .map((v) => `BYMONTHDAY=${v}`),
  fc
    .constantFrom('1', '-1', '366', '-366', '367', '0', '1,2,3,-1,-2,-3')
    .map((v) => `BYSETPOS=${v}`),
  fc.constantFrom('1', '2', '12', '0', '13', '2,2').map((v) => `BYMONTH=${v}`),
  fc.constantFrom('1', '53', '-53', '54', '0').map((v) => `BYWEEKNO=${v}`),
  fc.constantFrom('1', '366', '-366', '367', '60').map((v) => `BYYEARDAY=${v}`),
  fc.constantFrom('0', '23', '24').map((v) => `BYHOUR=${v}`),
  fc.constantFrom('MO', 'SU', 'XX').map((v) => `WKST=${v}`),
  nastyText,
);

/**
 * RRULE text of the parts Agenda supports, each within or at its bounds: what gets past
 * parsing into the expansion and its cost limits.
 */
export const supportedRrule: fc.Arbitrary<string> = fc
  .record(
    {
      freq: fc.constantFrom('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'),
      interval: fc.oneof(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(MAX_RRULE_INTERVAL - 1, MAX_RRULE_INTERVAL, 12, 52),
      ),
      end: fc.oneof(
        fc
          .oneof(
            fc.integer({ min: 1, max: 20 }),
            fc.constantFrom(MAX_RRULE_COUNT - 1, MAX_RRULE_COUNT),
          )
          .map((n) => `COUNT=${n}`),
        fc.constantFrom(
          'UNTIL=20270101T000000Z',
          'UNTIL=21991231T235959Z',
          'UNTIL=20260302',
          'UNTIL=19700102T000000Z',
        ),
      ),
      byDay: fc.constantFrom(
        'MO',
        'MO,WE,FR',
        'SA,SU',
        '-1SU',
        '1MO',
        '2TU,-2TH',
        '5FR',
        '-5MO',
        '53MO',
        '-53SU',
        '20WE',
      ),
      byMonthDay: fc.constantFrom('1', '15', '28', '29', '30', '31', '-1', '-31', '1,15,-1', '13'),
    },
    { requiredKeys: ['freq'] },
  )
  .map(({ freq, interval, end, byDay, byMonthDay }) =>
    [
      `FREQ=${freq}`,
      ...(interval === undefined ? [] : [`INTERVAL=${interval}`]),
      ...(end === undefined ? [] : [end]),
      ...(byDay === undefined ? [] : [`BYDAY=${byDay}`]),
      ...(byMonthDay === undefined ? [] : [`BYMONTHDAY=${byMonthDay}`]),
    ].join(';'),
  );

/** RRULE text: sensible rules, the costliest ones the API takes, and nonsense. */
export const rruleText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'FREQ=DAILY',
      'FREQ=WEEKLY;BYDAY=MO,WE,FR',
      'FREQ=MONTHLY;BYMONTHDAY=31',
      'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5000',
      'FREQ=MONTHLY;INTERVAL=999;BYDAY=-1SU;BYMONTHDAY=22,23,24,25,26,27,28;COUNT=5000',
      'FREQ=MONTHLY;BYMONTHDAY=30;INTERVAL=12',
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=5000',
      'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=21991231T000000Z',
      'FREQ=SECONDLY',
      'FREQ=MINUTELY;INTERVAL=1;COUNT=5000',
      'FREQ=YEARLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR',
      'FREQ=DAILY;COUNT=5000;INTERVAL=999',
      'RRULE:FREQ=DAILY',
      'FREQ=DAILY;FREQ=WEEKLY',
      'FREQ=DAILY;;',
      'FREQ=DAILY;COUNT=2;UNTIL=20260401T000000Z',
    ),
  },
  { weight: 3, arbitrary: supportedRrule },
  {
    weight: 3,
    arbitrary: fc.array(rrulePart, { minLength: 1, maxLength: 6 }).map((p) => p.join(';')),
  },
  { weight: 1, arbitrary: nearLimit(500).map((s) => `FREQ=DAILY;X-${s}`) },
);

// ---------------------------------------------------------------------------------------
// JSON values

/** Any JSON-ish value, including numbers JSON cannot say (they become null or are refused). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, 1, -1, 1e308, -1e308, 5e-324, 2 ** 53, 1.5, NaN),
  nastyText,
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.integer(), nastyText), { maxLength: 3 }),
  fc.dictionary(nastyText, fc.oneof(fc.integer(), nastyText), { maxKeys: 3 }),
);

/** A name of a user, a group or an event that exists, or one that does not. */
function nameIn(known: readonly string[], max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    {
      weight: 2,
      arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,12}$/),
    },
    { weight: 2, arbitrary: textField(max) },
  );
}

/** What a field of a body may hold: values a careful client sends, and hostile ones. */
interface FieldValues {
  readonly valid: fc.Arbitrary<unknown>;
  readonly hostile: fc.Arbitrary<unknown>;
}

/** A valid instant between 1970 and 2200, as ISO text with an offset. */
const plausibleInstant: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...VALID_INSTANTS) },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 0, 1) })
      .map((ms) => new Date(ms - (ms % 900_000)).toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: Date.UTC(2199, 11, 31) / 1000 })
      .map((seconds) => new Date(seconds * 1000).toISOString()),
  },
);

/** The fields every body schema of the API may name. */
function fieldValues(world: World): Readonly<Record<string, FieldValues>> {
  const user = nameIn(world.users, USERNAME_MAX_LENGTH);
  const text = (max: number, ...valid: string[]): FieldValues => ({
    valid:
      valid.length > 0 ? fc.constantFrom(...valid) : fc.string({ minLength: 1, maxLength: 40 }),
    hostile: textField(max),
  });
  return {
    username: { valid: fc.constantFrom(...world.users, 'dave', 'erin'), hostile: user },
    password: text(PASSWORD_MAX_LENGTH, 'correct horse battery', 'short'),
    name: {
      valid: fc.oneof(
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,20}$/),
        fc.constantFrom(...world.groups),
      ),
      hostile: textField(GROUP_NAME_MAX_LENGTH),
    },
    title: text(TITLE_MAX_LENGTH),
    description: text(DESCRIPTION_MAX_LENGTH),
    location: text(LOCATION_MAX_LENGTH),
    visibility: {
      valid: fc.constantFrom('public', 'busy', 'private'),
      hostile: fc.constantFrom('secret', '', 'PUBLIC'),
    },
    start: { valid: plausibleInstant, hostile: instantText },
    end: { valid: plausibleInstant, hostile: instantText },
    duration: {
      valid: fc.constantFrom('15m', '30m', '1h', '1h30m', '2h', '1d', 'PT45M', '744h'),
      hostile: durationText,
    },
    repeat: {
      valid: fc.oneof(
        { weight: 3, arbitrary: supportedRrule },
        { weight: 1, arbitrary: rruleText },
      ),
      hostile: fc.oneof(rruleText, nastyText),
    },
    timeZone: {
      valid: fc.constantFrom(
        'UTC',
        'Europe/Madrid',
        'America/St_Johns',
        'Pacific/Apia',
        'Australia/Lord_Howe',
      ),
      hostile: timeZoneText,
    },
    with: {
      valid: fc.array(fc.constantFrom(...world.users, 'dave'), { maxLength: 3 }),
      hostile: fc.oneof(
        fc.array(user, { maxLength: 4 }),
        fc.constant(Array.from({ length: MAX_INVITEES + 1 }, (_, i) => `user${i}`)),
        fc.constant(Array.from({ length: 201 }, (_, i) => `user${i}`)),
        fc.constant(['alice', 'alice', 'alice']),
      ),
    },
    group: {
      valid: fc.constantFrom(...world.groups),
      hostile: nameIn(world.groups, GROUP_NAME_MAX_LENGTH),
    },
    allowConflict: { valid: fc.boolean(), hostile: anyValue },
    transparent: { valid: fc.boolean(), hostile: anyValue },
    kind: {
      valid: fc.constantFrom('flat', 'hierarchical'),
      hostile: fc.constantFrom('FLAT', '', 'tree'),
    },
    level: {
      valid: fc.integer({ min: 0, max: 5 }),
      hostile: fc.oneof(
        fc.integer({ min: 0, max: MAX_LEVEL }),
        fc.constantFrom(-1, MAX_LEVEL, MAX_LEVEL + 1, 1.5, -0, 1e308, 2 ** 31, 2 ** 53 + 1),
      ),
    },
  };
}

/**
 * When an event is, as a careful client says it: a start and either an end after it or a
 * duration; for an update (`startRequired` false) any consistent part of that, or nothing.
 */
function eventTiming(startRequired: boolean): fc.Arbitrary<Record<string, string>> {
  const full = fc
    .tuple(
      plausibleInstant,
      fc.oneof(
        fc
          .constantFrom('15m', '30m', '1h', '1h30m', '2h', '1d', 'PT45M')
          .map((duration) => ({ duration })),
        fc.integer({ min: 1, max: 96 }).map((quarters) => ({ quarters })),
      ),
    )
    .map(([start, length]): Record<string, string> =>
      'duration' in length
        ? { start, duration: length.duration }
        : { start, end: new Date(Date.parse(start) + length.quarters * 900_000).toISOString() },
    );
  if (startRequired) return full;
  return fc.oneof<fc.Arbitrary<Record<string, string>>[]>(
    full,
    fc.constant({}),
    plausibleInstant.map((start) => ({ start })),
    plausibleInstant.map((end) => ({ end })),
  );
}

/**
 * A JSON object of the fields `keys` as a careful client would fill it — required ones
 * nearly always, optional ones often — with a few fields then made hostile: a value of the
 * wrong kind or at the limits, a field left out, an unknown field added. One bad field at a
 * time is what gets past the schema into the domain.
 */
function objectOf(
  world: World,
  keys: readonly string[],
  required: ReadonlySet<string>,
  nullable: ReadonlySet<string>,
): fc.Arbitrary<Record<string, unknown>> {
  const fields = fieldValues(world);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  const timed = ['start', 'end', 'duration'].every((key) => keys.includes(key));
  for (const key of keys) {
    if (timed && (key === 'start' || key === 'end' || key === 'duration')) continue;
    const given = fields[key]?.valid ?? anyValue;
    const valid = nullable.has(key)
      ? fc.oneof({ weight: 4, arbitrary: given }, { weight: 1, arbitrary: fc.constant(null) })
      : given;
    record[key] = required.has(key) ? valid : mostly(valid, 3);
  }
  if (timed) record.timing = eventTiming(required.has('start'));
  const hostile = (key: string) =>
    fc.oneof(
      { weight: 6, arbitrary: fields[key]?.hostile ?? anyValue },
      { weight: 2, arbitrary: anyValue },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  const mutation =
    keys.length === 0
      ? fc.constant([] as [string, unknown][])
      : fc.oneof(
          fc.constant([] as [string, unknown][]),
          fc.array(
            fc
              .constantFrom(...keys)
              .chain((key) => hostile(key).map((value) => [key, value] as [string, unknown])),
            { minLength: 1, maxLength: 2 },
          ),
        );
  return fc
    .tuple(
      fc.record(record),
      mutation,
      rarely(
        fc.dictionary(fc.constantFrom('colour', '__proto__', 'constructor', ''), anyValue),
        15,
      ),
      fc.boolean(),
    )
    .map(([object, mutations, extra, withPeople]) => {
      const result: Record<string, unknown> = {};
      const { timing, ...rest } = object as { timing?: Record<string, string> };
      for (const [key, value] of Object.entries({ ...rest, ...timing })) {
        if (value !== undefined) result[key] = value;
      }
      // An event is with people or for a group, not both.
      if ('with' in result && 'group' in result) delete result[withPeople ? 'group' : 'with'];
      for (const [key, value] of mutations) {
        if (value === undefined) delete result[key];
        else result[key] = value;
      }
      // Defined as own properties: `__proto__` too is a field of the JSON text, not a prototype.
      for (const [key, value] of Object.entries(extra ?? {})) {
        Object.defineProperty(result, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    });
}

/** Nested arrays or objects `depth` deep, as JSON text (a parser's recursion is the target). */
function deeplyNested(depth: number, kind: 'array' | 'object', inside: string): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `{${`"${inside}":{`.repeat(depth)}${'}'.repeat(depth + 1)}`;
}

/** The keys a route's JSON body schema declares (its zod object's shape), and the required ones. */
function schemaKeys(declaration: RouteDeclaration): {
  readonly keys: readonly string[];
  readonly required: ReadonlySet<string>;
  readonly nullable: ReadonlySet<string>;
} {
  const body = declaration.body;
  if (body?.kind !== 'json') return { keys: [], required: new Set(), nullable: new Set() };
  const shape =
    (requestSchema(body.schema) as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
  const keys = Object.keys(shape);
  return {
    keys,
    required: new Set(keys.filter((key) => !shape[key]?.safeParse(undefined).success)),
    nullable: new Set(keys.filter((key) => shape[key]?.safeParse(null).success)),
  };
}

/** JSON bodies for a route: shaped as its schema with hostile values, or not JSON at all. */
function jsonBody(world: World, declaration: RouteDeclaration): fc.Arbitrary<string> {
  const { keys, required, nullable } = schemaKeys(declaration);
  return fc.oneof(
    {
      weight: 40,
      arbitrary: objectOf(world, keys, required, nullable).map((o) => JSON.stringify(o)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"title": "x",',
        'null',
        '[]',
        '[1,2]',
        '"text"',
        '42',
        'NaN',
        '{"a":1}{"b":2}',
        '\uFEFF{}',
        '{"title":"\\ud800"}',
        '{"title":"\\u0000"}',
        '{"level":1e400}',
        '{"level":-0}',
        '{"__proto__":{"admin":true}}',
        '{"title":"a","title":"b"}',
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(100, 10_000, 100_000),
          fc.constantFrom<'array' | 'object'>('array', 'object'),
          fc.constantFrom(...(keys.length > 0 ? keys : ['x'])),
        )
        .map(([depth, kind, key]) => deeplyNested(depth, kind, key)),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...(keys.length > 0 ? keys : ['x']))
        .map((key) => JSON.stringify({ [key]: 'x'.repeat((1 << 20) + 1) })),
    },
  );
}

// ---------------------------------------------------------------------------------------
// iCalendar

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

const icsDateTime: fc.Arbitrary<string> = fc.oneof(
  fc
    .date({
      min: new Date(Date.UTC(1900, 0, 1)),
      max: new Date(Date.UTC(2300, 0, 1)),
      noInvalidDate: true,
    })
    .map(
      (d) =>
        `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
        `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`,
    ),
  fc.constantFrom('20260302T090000', '19700101T000000', '21991231T230000', '20260230T090000'),
  fc.constantFrom('99999999T999999', '2026', '', 'T', 'NaN'),
);

/** DTSTART/DTEND-like property lines. */
function timeProperty(name: 'DTSTART' | 'DTEND' | 'RECURRENCE-ID' | 'EXDATE' | 'RDATE') {
  return fc
    .tuple(
      icsDateTime,
      fc.constantFrom('Z', '', ''),
      fc.constantFrom(
        '',
        ';VALUE=DATE',
        ';TZID=Europe/Madrid',
        ';TZID=Invalid/Zone',
        ';TZID="Europe/Madrid"',
        ';VALUE=PERIOD',
        ';TZID=',
      ),
    )
    .map(([time, z, params]) =>
      params === ';VALUE=DATE'
        ? `${name}${params}:${time.slice(0, 8)}`
        : `${name}${params}:${time}${params.startsWith(';TZID') ? '' : z}`,
    );
}

const veventLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: timeProperty('DTSTART') },
  { weight: 2, arbitrary: timeProperty('DTEND') },
  { weight: 1, arbitrary: timeProperty('RECURRENCE-ID') },
  {
    weight: 1,
    arbitrary: fc
      .array(timeProperty('EXDATE'), { maxLength: 3 })
      .map((lines) => (lines.length > 0 ? lines.join('\r\n') : 'EXDATE:')),
  },
  { weight: 1, arbitrary: timeProperty('RDATE') },
  { weight: 2, arbitrary: durationText.map((d) => `DURATION:${d}`) },
  { weight: 3, arbitrary: rruleText.map((r) => `RRULE:${r}`) },
  { weight: 2, arbitrary: textField(TITLE_MAX_LENGTH, 'Standup').map((s) => `SUMMARY:${s}`) },
  { weight: 1, arbitrary: nastyText.map((s) => `DESCRIPTION:${s}`) },
  { weight: 1, arbitrary: nastyText.map((s) => `LOCATION:${s}`) },
  { weight: 2, arbitrary: fc.oneof(fc.uuid(), nastyText).map((u) => `UID:${u}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'CLASS:PRIVATE',
      'CLASS:PUBLIC',
      'CLASS:X',
      'TRANSP:TRANSPARENT',
      'STATUS:CANCELLED',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('ATTENDEE:mailto:bob@example.com', 'ORGANIZER;CN=x:mailto:a@b'),
  },
  { weight: 1, arbitrary: nastyText.map((s) => `X-${s}:${s}`) },
  { weight: 1, arbitrary: nastyText },
);

const VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Madrid',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

/** The lines of an event as calendar apps write it: UID, start, end or duration, summary, maybe a rule. */
const plausibleEventLines: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.uuid(),
    fc.integer({ min: Date.UTC(2020, 0, 1) / 900_000, max: Date.UTC(2030, 0, 1) / 900_000 }),
    fc.constantFrom('Z', ';TZID=Europe/Madrid', ';VALUE=DATE'),
    fc.integer({ min: 1, max: 16 }),
    fc.option(rruleText, { nil: undefined }),
  )
  .map(([uid, quarter, zone, quarters, rule]) => {
    const start = new Date(quarter * 900_000);
    const end = new Date(start.getTime() + quarters * 900_000);
    const basic = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 15);
    const time = (name: string, d: Date) =>
      zone === 'Z'
        ? `${name}:${basic(d)}Z`
        : zone === ';VALUE=DATE'
          ? `${name};VALUE=DATE:${basic(d).slice(0, 8)}`
          : `${name}${zone}:${basic(d)}`;
    return [
      `UID:${uid}`,
      'DTSTAMP:20260101T000000Z',
      time('DTSTART', start),
      zone === ';VALUE=DATE'
        ? time('DTEND', new Date(start.getTime() + 86_400_000))
        : quarters % 2 === 0
          ? time('DTEND', end)
          : `DURATION:PT${quarters * 15}M`,
      'SUMMARY:Imported',
      ...(rule === undefined ? [] : [`RRULE:${rule}`]),
    ];
  });

/**
 * A VEVENT: a plausible one with a few lines added or replaced by hostile ones, or random
 * lines altogether; usually with its BEGIN and END, sometimes not.
 */
const vevent: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(plausibleEventLines, fc.array(fc.tuple(fc.nat(), veventLine), { maxLength: 3 }))
          .map(([lines, changes]) => {
            const result = [...lines];
            for (const [at, line] of changes) {
              if (at % 2 === 0) result.splice(at % (result.length + 1), 0, line);
              else result[at % result.length] = line;
            }
            return result;
          }),
      },
      { weight: 1, arbitrary: fc.array(veventLine, { maxLength: 8 }) },
    ),
    fc.constantFrom('both', 'both', 'both', 'both', 'both', 'no-end', 'no-begin'),
  )
  .map(([lines, frame]) => [
    ...(frame === 'no-begin' ? [] : ['BEGIN:VEVENT']),
    ...lines,
    ...(frame === 'no-end' ? [] : ['END:VEVENT']),
  ]);

/** Lines folded as RFC 5545 says (CRLF and a space), at any UTF-16 position. */
function folded(lines: readonly string[], every: number): string {
  return lines
    .map((line) => {
      // Component boundaries stay whole: what is fuzzed is the unfolding of properties.
      if (/^(BEGIN|END):/.test(line)) return line;
      const parts: string[] = [];
      for (let i = 0; i < line.length; i += every) parts.push(line.slice(i, i + every));
      return parts.join('\r\n ');
    })
    .join('\r\n');
}

/** A line's UTF-8 encoding folded every `every` bytes, cutting multi-byte characters in two. */
function foldedBytes(line: string, every: number): Buffer {
  const bytes = Buffer.from(line, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += every) {
    if (i > 0) out.push(Buffer.from('\r\n '));
    out.push(bytes.subarray(i, i + every));
  }
  return Buffer.concat(out);
}

/** iCalendar bodies for import: plausible, malformed, deeply nested, oversized. */
export const calendarBody: fc.Arbitrary<HostileBody> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.array(vevent, { minLength: 0, maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom('full', 'full', 'full', 'full', 'full', 'no-end', 'no-begin', 'no-version'),
        fc.constantFrom(0, 0, 0, 1, 7, 75),
        fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r'),
      )
      .map(([events, timezone, frame, foldEvery, newline]) => {
        const lines = [
          ...(frame === 'no-begin' ? [] : ['BEGIN:VCALENDAR']),
          ...(frame === 'no-version' ? [] : ['VERSION:2.0', 'PRODID:-//fuzz//EN']),
          ...(timezone ? VTIMEZONE : []),
          ...events.flat(),
          ...(frame === 'no-end' ? [] : ['END:VCALENDAR']),
        ];
        const text = foldEvery > 0 ? folded(lines, foldEvery) : lines.join('\r\n');
        return { kind: 'text' as const, text: text.replaceAll('\r\n', newline) + newline };
      }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(1, 2, 3, 5, 74, 75), nastyText).map(([every, summary]) => ({
      kind: 'bytes' as const,
      base64: Buffer.concat([
        Buffer.from('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n'),
        Buffer.from('DTSTART:20260302T090000Z\r\nDURATION:PT1H\r\n'),
        foldedBytes(`SUMMARY:${'é👩‍👩‍👧日本語'.repeat(8)}${summary}`, every),
        Buffer.from('\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'),
      ]).toString('base64'),
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(100, 10_000, 50_000),
        fc.constantFrom('VEVENT', 'VCALENDAR', 'VALARM', 'X-Y'),
      )
      .map(([depth, component]) => ({
        kind: 'text' as const,
        text: `${`BEGIN:${component}\r\n`.repeat(depth)}${`END:${component}\r\n`.repeat(depth)}`,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(MAX_IMPORT_CHUNK_EVENTS, MAX_IMPORT_CHUNK_EVENTS + 1, 2_000)
      .map((count) => ({
        kind: 'text' as const,
        text: [
          'BEGIN:VCALENDAR',
          'VERSION:2.0',
          ...Array.from({ length: count }, (_, i) => [
            'BEGIN:VEVENT',
            `UID:bulk-${count}-${i}@fuzz`,
            `DTSTART:2027${pad((i % 12) + 1)}${pad((i % 28) + 1)}T${pad(i % 24)}0000Z`,
            'DURATION:PT15M',
            `SUMMARY:Bulk ${i}`,
            'END:VEVENT',
          ]).flat(),
          'END:VCALENDAR',
          '',
        ].join('\r\n'),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          MAX_IMPORT_CHUNK_BYTES - 1,
          MAX_IMPORT_CHUNK_BYTES + 1,
          3 * MAX_IMPORT_CHUNK_BYTES,
          5 * MAX_IMPORT_CHUNK_BYTES,
        ),
        fc.constantFrom('x', '\u0000', '"', '日'),
      )
      .map(([bytes, filler]) => {
        const head = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-FILLER:';
        const tail = '\r\nEND:VCALENDAR\r\n';
        const unit = Buffer.byteLength(filler);
        const count = Math.max(0, Math.floor((bytes - head.length - tail.length) / unit));
        return { kind: 'text' as const, text: `${head}${filler.repeat(count)}${tail}` };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '',
        'BEGIN:VCALENDAR',
        'END:VCALENDAR\r\n',
        'BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
        'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
        '{"not":"a calendar"}',
        '\uFEFFBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
        'BEGIN:VCALENDAR\r\n' + ' continuation of nothing\r\n'.repeat(1000) + 'END:VCALENDAR\r\n',
        'BEGIN:VCALENDAR\r\nX:' + ';'.repeat(100_000) + '\r\nEND:VCALENDAR\r\n',
        'BEGIN:VCALENDAR\r\nX;' + 'A=B;'.repeat(20_000) + ':v\r\nEND:VCALENDAR\r\n',
      )
      .map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({
      kind: 'bytes' as const,
      base64: Buffer.from(bytes).toString('base64'),
    })),
  },
);

// ---------------------------------------------------------------------------------------
// Paths, queries and headers

/** A path parameter's value: an existing thing, a plausible one, or hostile text. */
function pathValue(world: World, name: string): fc.Arbitrary<{ raw: string } | { text: string }> {
  const known: Record<string, readonly string[]> = {
    eventId: world.eventIds,
    group: world.groups,
    username: world.users,
    token: world.feedTokens,
  };
  const existing = known[name] ?? [];
  const plain = fc.oneof(
    {
      weight: 10,
      arbitrary: existing.length > 0 ? fc.constantFrom(...existing) : fc.constant('x'),
    },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/) },
    { weight: 2, arbitrary: nastyText.filter((s) => s !== '') },
    { weight: 1, arbitrary: nearLimit(name === 'group' ? 100 : 64) },
  );
  return fc.oneof(
    { weight: 15, arbitrary: plain.map((text) => ({ text })) },
    // Sent as is: malformed escapes, encoded slashes, dot segments.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '%',
          '%zz',
          '%E0%A4%A',
          '%ED%A0%80',
          '%00',
          '%2F',
          '..',
          '.',
          '%2e%2e',
          '%C0%AF',
          '%FF',
        )
        .map((raw) => ({ raw })),
    },
  );
}

/** A query parameter's hostile value, by its name. */
function hostileQueryValue(world: World, name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'from':
    case 'to':
    case 'occurrence':
      return instantText;
    case 'duration':
      return durationText;
    case 'limit':
      return fc.oneof(
        fc.integer({ min: 1, max: MAX_PAGE_SIZE }).map(String),
        fc.constantFrom(
          '0',
          '-1',
          String(MAX_PAGE_SIZE + 1),
          '1e3',
          '1.0',
          '007',
          '999999',
          'NaN',
          '',
        ),
      );
    case 'after':
      return fc.oneof(
        fc.constantFrom('', 'x', 'eyJ9', 'e30', 'W10', 'bnVsbA', '%%%', 'AAAA'.repeat(2000)),
        fc.base64String({ maxLength: 80 }),
        fc
          .jsonValue({ maxDepth: 2 })
          .map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
      );
    case 'group':
      return nameIn(world.groups, GROUP_NAME_MAX_LENGTH);
    case 'users':
      return fc.oneof(
        fc
          .array(nameIn(world.users, USERNAME_MAX_LENGTH), { maxLength: 5 })
          .map((u) => u.join(',')),
        fc.constantFrom(
          ',,,',
          ' , ',
          Array.from({ length: MAX_GROUP_MEMBERS + 1 }, (_, i) => `u${i}`).join(','),
        ),
      );
    case 'allowConflict':
      return fc.constantFrom('TRUE', '1', '', 'yes');
    case 'timeZone':
      return timeZoneText;
    default:
      return nastyText;
  }
}

const DAY_MS = 86_400_000;

/** `from` and `to` a careful client sends: ordered, whole seconds, at most a year apart. */
const plausibleInterval: fc.Arbitrary<{ from: string; to: string }> = fc
  .tuple(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.integer({
          min: Date.UTC(2025, 0, 1) / 1000,
          max: Date.UTC(2028, 0, 1) / 1000,
        }),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: Date.UTC(2199, 0, 1) / 1000 }) },
    ),
    fc.oneof(
      fc.integer({ min: 1, max: 30 }).map((days) => days * DAY_MS),
      fc.constantFrom(1000, 3_600_000, 366 * DAY_MS, 366 * DAY_MS + 1000),
    ),
  )
  .map(([seconds, span]) => ({
    from: new Date(seconds * 1000).toISOString(),
    to: new Date(seconds * 1000 + span).toISOString(),
  }));

/** A route's query parameters as a careful client fills them, by name (absent: left out). */
function plausibleQuery(
  world: World,
  names: readonly string[],
  intervalRequired: boolean,
): fc.Arbitrary<Record<string, string | undefined>> {
  const has = (name: string) => names.includes(name);
  const parts: Record<string, fc.Arbitrary<string | undefined>> = {};
  if (has('duration')) parts.duration = fc.constantFrom('15m', '30m', '1h', '2h', '1d', 'PT45M');
  if (has('limit')) parts.limit = mostly(fc.integer({ min: 1, max: MAX_PAGE_SIZE }).map(String), 2);
  if (has('occurrence')) {
    parts.occurrence = mostly(
      fc.oneof(
        fc
          .integer({ min: 0, max: 60 })
          .map((day) => new Date(Date.UTC(2026, 2, 2 + day, 9)).toISOString()),
        plausibleInstant,
      ),
      2,
    );
  }
  if (has('allowConflict')) parts.allowConflict = mostly(fc.constantFrom('true', 'false'), 2);
  if (has('timeZone')) {
    parts.timeZone = mostly(
      fc.constantFrom('UTC', 'Europe/Madrid', 'America/St_Johns', 'Pacific/Apia'),
      2,
    );
  }
  const rest = fc.record(parts);
  const interval =
    has('from') && has('to')
      ? intervalRequired
        ? plausibleInterval
        : // Export takes either bound, or none.
          mostly(plausibleInterval, 2).map((i) => i ?? { from: undefined, to: undefined })
      : fc.constant({});
  // Agendas and free time take a group or users, not both.
  const targets = has('users')
    ? fc.oneof(
        fc.constantFrom(...world.groups).map((group) => ({ group, users: undefined })),
        fc
          .array(fc.constantFrom(...world.users, 'dave'), { minLength: 1, maxLength: 3 })
          .map((users) => ({ group: undefined, users: users.join(',') })),
      )
    : has('group')
      ? fc.constantFrom(...world.groups).map((group) => ({ group }))
      : fc.constant({});
  return fc.tuple(rest, interval, targets).map(([r, i, g]) => ({ ...r, ...i, ...g }));
}

/**
 * A query string for `declaration`: its parameters as a careful client fills them, a few
 * then made hostile (a bad value, one left out), maybe an unknown or a repeated one, or
 * raw nonsense.
 */
function queryString(
  world: World,
  declaration: RouteDeclaration,
  careful: boolean,
): fc.Arbitrary<string> {
  const names = queryNames(declaration);
  const mutations =
    names.length === 0
      ? fc.constant([] as [string, string | undefined][])
      : fc.array(
          fc
            .constantFrom(...names)
            .chain((name) =>
              fc
                .oneof(
                  { weight: 5, arbitrary: hostileQueryValue(world, name) },
                  { weight: 1, arbitrary: fc.constant(undefined) },
                )
                .map((value) => [name, value] as [string, string | undefined]),
            ),
          { maxLength: 2 },
        );
  return fc
    .tuple(
      plausibleQuery(world, names, declaration.query?.from === 'required'),
      fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: mutations }),
      careful
        ? fc.constant(undefined)
        : rarely(
            fc.oneof(
              fc
                .constantFrom(...(names.length > 0 ? names : ['from']))
                .chain((name) =>
                  hostileQueryValue(world, name).map((value) => [name, value] as const),
                ),
              fc.tuple(fc.constantFrom('page', 'x', '', '__proto__'), nastyText),
            ),
            4,
          ),
      careful
        ? fc.constant(undefined)
        : rarely(fc.constantFrom('&&', '&=', '=x', '&a', '%zz=1', '&from', '#frag'), 6),
    )
    .map(([base, changes, extra, raw]) => {
      const values: Record<string, string | undefined> = { ...base };
      for (const [name, value] of changes) values[name] = value;
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(values)) {
        if (value !== undefined) params.append(name, value);
      }
      if (extra !== undefined) params.append(extra[0], extra[1]);
      const text = params.toString() + (raw ?? '');
      return text === '' ? '' : `?${text}`;
    });
}

/** The credentials a request carries. */
function credentials(world: World, declaration: RouteDeclaration): fc.Arbitrary<Credentials> {
  const user = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...world.users) },
    { weight: 1, arbitrary: fc.constantFrom('nobody-registered', 'x'.repeat(300), '') },
  );
  const garbage = fc.constantFrom(
    '',
    'Bearer',
    'Bearer ',
    'Bearer x',
    'Bearer a.b.c',
    'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.',
    'Basic YWxpY2U6cGFzc3dvcmQ=',
    'bearer  x  ',
    `Bearer ${'A'.repeat(10_000)}`,
    `Bearer ${'eyJ'.repeat(3)}.${'x'.repeat(100)}.${'y'.repeat(100)}`,
  );
  const needsUser = declaration.auth === 'user';
  return fc.oneof(
    {
      weight: needsUser ? 30 : 2,
      arbitrary: user.map((u) => ({ kind: 'session' as const, user: u })),
    },
    { weight: needsUser ? 1 : 6, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: user.map((u) => ({ kind: 'expired' as const, user: u })) },
    { weight: 1, arbitrary: user.map((u) => ({ kind: 'foreign' as const, user: u })) },
    { weight: 1, arbitrary: user.map((u) => ({ kind: 'feed' as const, user: u })) },
    { weight: 1, arbitrary: garbage.map((value) => ({ kind: 'header' as const, value })) },
  );
}

/**
 * `text` percent-encoded as UTF-8, every byte but the unreserved ones; unlike
 * `encodeURIComponent` it takes lone surrogates too (as U+FFFD, what a UTF-8 client sends).
 */
function percentEncoded(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Keys a client may send, mostly from a small pool: one key reused for different requests,
 * one after the other or at once, is what idempotency has to get right.
 */
const idempotencyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('retry-1', 'retry-2', 'retry-3'),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
);

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'] as const;

/** Requests to route `name`, as its declaration says, with everything in them fuzzed. */
export function requestsTo(world: World, name: RouteName): fc.Arbitrary<HostileRequest> {
  const declaration: RouteDeclaration = API_ROUTES[name];
  const segments = declaration.path.split('/');
  const params = segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));
  const body = declaration.body ?? { kind: 'none' as const };
  const expectedType =
    body.kind === 'json'
      ? 'application/json'
      : body.kind === 'calendar'
        ? 'text/calendar'
        : undefined;
  const bodyArbitrary: fc.Arbitrary<HostileBody | undefined> =
    body.kind === 'json'
      ? mostly(
          jsonBody(world, declaration).map((text) => ({ kind: 'text' as const, text })),
          body.optional ? 3 : 20,
        )
      : body.kind === 'calendar'
        ? mostly(calendarBody, 20)
        : rarely(
            fc.constantFrom('{}', 'garbage').map((text) => ({ kind: 'text' as const, text })),
            20,
          );
  // Careful requests get everything around the content right (method, media type, an
  // acceptable idempotency key, a user's session, the query's names), so that what is wrong
  // in their body, path or query values reaches the services and the domain; the others are
  // hostile at the HTTP edge too.
  const careful = fc.record({
    method: fc.constant(declaration.method),
    params: fc.tuple(...params.map((p) => pathValue(world, p))),
    query: queryString(world, declaration, true),
    credentials:
      declaration.auth === 'user'
        ? fc.constantFrom(...world.users).map((user) => ({ kind: 'session' as const, user }))
        : fc.constant({ kind: 'none' as const }),
    body: bodyArbitrary,
    contentType: fc.constant(expectedType),
    idempotencyKey: rarely(idempotencyKey, 6),
  });
  const hostile = fc.record({
    method: fc.oneof(
      { weight: 4, arbitrary: fc.constant(declaration.method) },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    ),
    params: fc.tuple(...params.map((p) => pathValue(world, p))),
    query: queryString(world, declaration, false),
    credentials: credentials(world, declaration),
    body: bodyArbitrary,
    contentType: fc.oneof(
      { weight: 3, arbitrary: fc.constant(expectedType) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          undefined,
          'application/json',
          'text/calendar',
          'text/plain',
          'application/json; charset=utf-16',
          'APPLICATION/JSON;charset=UTF-8',
          'application/jsonx',
          'multipart/form-data; boundary=x',
          'text/calendar;;;',
          '',
        ),
      },
    ),
    idempotencyKey: rarely(
      fc.oneof(
        { weight: 2, arbitrary: idempotencyKey },
        {
          weight: 1,
          arbitrary: fc.constantFrom('', 'x'.repeat(65), 'a b', 'key/with/slash', 'ключ'),
        },
      ),
      3,
    ),
  });
  return fc
    .oneof({ weight: 3, arbitrary: careful }, { weight: 1, arbitrary: hostile })
    .map((drawn) => {
      let i = 0;
      const path = segments
        .map((segment) => {
          if (!segment.startsWith(':')) return segment;
          const value = drawn.params[i++];
          if (value === undefined) return segment;
          return 'raw' in value ? value.raw : percentEncoded(value.text);
        })
        .join('/');
      return {
        route: name,
        method: drawn.method,
        target: `${path}${drawn.query}`,
        credentials: drawn.credentials,
        ...(drawn.contentType === undefined || drawn.body === undefined
          ? {}
          : { contentType: drawn.contentType }),
        ...(drawn.idempotencyKey === undefined ? {} : { idempotencyKey: drawn.idempotencyKey }),
        ...(drawn.body === undefined ? {} : { body: drawn.body }),
      };
    });
}

/**
 * How often a route is drawn: those with the most input to get wrong (an event, a
 * calendar file) most, those with none least.
 */
function routeWeight(declaration: RouteDeclaration): number {
  const body = declaration.body?.kind ?? 'none';
  if (body === 'calendar') return 6;
  if (body === 'json' && schemaKeys(declaration).keys.includes('repeat')) return 6;
  if (body === 'json' || declaration.query !== undefined) return 2;
  return 1;
}

/** Requests to any declared route but the live stream (which answers without ending). */
export function hostileRequests(
  world: World,
  routes: readonly RouteName[] = Object.keys(API_ROUTES) as RouteName[],
): fc.Arbitrary<HostileRequest> {
  return fc.oneof(
    ...routes.map((name) => ({
      weight: routeWeight(API_ROUTES[name]),
      arbitrary: requestsTo(world, name),
    })),
  );
}
