/**
 * The hostile workload of the `hostile-workload` chaos scenario: what one user can do to the
 * service with nothing but the API, each step among the most expensive it accepts —
 *
 * 1. import a calendar of 5,000 yearly series (birthdays and anniversaries, all-day and
 *    timed, as calendar apps export them) the way `agenda import` does: split into bounded
 *    requests, retried under their idempotency keys;
 * 2. list the widest window a query may span (366 days), where all 5,000 series occur;
 * 3. schedule the costliest rules: a daily series from 1970 read in 2199, rules whose
 *    occurrences are sparse or never come, COUNT rules that run to the end of time;
 * 4. export the whole agenda (`agenda export`: every series, a few MB of iCalendar).
 *
 * Everything it measures comes back as one {@link HostileReport}; the scenario judges it
 * (with the other users' load and the DB's elections).
 */
import { performance } from 'node:perf_hooks';
import { importInChunks } from '../../cli/import/chunked-import.js';
import { splitCalendar } from '../../cli/import/split-calendar.js';
import { AgendaApi } from '../../cli/http/agenda-api.js';
import { GatewayClient } from '../../cli/http/gateway-client.js';
import { SessionTokens } from '../../cli/http/session-tokens.js';
import { isAgendaError } from '../../contract/errors.js';

export interface HostileSpec {
  /** The gateways (the VIP in the lab). */
  readonly url: string;
  /** PEM of the lab CA. */
  readonly ca: string;
  /** The hostile user's name (fresh per run). */
  readonly username: string;
  /** Series in the imported calendar. */
  readonly series: number;
}

/** How one expensive request went. */
export interface RequestOutcome {
  readonly what: string;
  /** `ok`, or the error code the service answered with. */
  readonly answer: string;
  readonly ms: number;
}

export interface HostileReport {
  readonly username: string;
  readonly importSeconds: number;
  readonly imported: {
    readonly created: number;
    readonly updated: number;
    readonly unchanged: number;
  };
  readonly importFailed: number;
  /** Why the import stopped early, if it did. */
  readonly importStoppedBy: string | null;
  readonly requests: readonly RequestOutcome[];
  /** The export of the whole agenda: how it went, and how many events and KB it held. */
  readonly exported: RequestOutcome & { readonly events: number; readonly kb: number };
}

const PASSWORD = 'hostile-workload-password';

/** Two-digit padding for iCalendar dates. */
const pad = (n: number) => String(n).padStart(2, '0');

/**
 * A calendar of `count` yearly series in the shape calendar apps export: every third an
 * all-day birthday (VALUE=DATE), the others timed anniversaries in Europe/Madrid with a
 * VTIMEZONE, each with its UID; spread over the days of the year and the hours of the day.
 */
export function yearlySeriesCalendar(count: number, uidPrefix: string): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Agenda lab//hostile workload//EN',
    'CALSCALE:GREGORIAN',
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Madrid',
    'BEGIN:DAYLIGHT',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'TZNAME:CEST',
    'DTSTART:19700329T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
    'END:DAYLIGHT',
    'BEGIN:STANDARD',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'TZNAME:CET',
    'DTSTART:19701025T030000',
    'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
    'END:STANDARD',
    'END:VTIMEZONE',
  ];
  for (let i = 0; i < count; i++) {
    // Day of a non-leap year, and a year from 1971 (Agenda takes no instant before 1970) to 2030.
    const date = new Date(Date.UTC(2001, 0, 1 + ((i * 7) % 365)));
    const year = 1971 + (i % 60);
    const day = `${year}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
    lines.push(
      'BEGIN:VEVENT',
      `UID:${uidPrefix}-${i}@hostile.agenda.test`,
      'DTSTAMP:20260101T000000Z',
    );
    if (i % 3 === 0) {
      const next = new Date(Date.UTC(year, date.getUTCMonth(), date.getUTCDate() + 1));
      const nextDay = `${next.getUTCFullYear()}${pad(next.getUTCMonth() + 1)}${pad(next.getUTCDate())}`;
      lines.push(
        `SUMMARY:Birthday of person ${i}`,
        `DTSTART;VALUE=DATE:${day}`,
        `DTEND;VALUE=DATE:${nextDay}`,
        'TRANSP:TRANSPARENT',
      );
    } else {
      const hour = 8 + (i % 12);
      lines.push(
        `SUMMARY:Anniversary ${i}`,
        `DTSTART;TZID=Europe/Madrid:${day}T${pad(hour)}${pad((i * 5) % 60)}00`,
        'DURATION:PT30M',
      );
    }
    lines.push('RRULE:FREQ=YEARLY', 'END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return `${lines.join('\r\n')}\r\n`;
}

/** The costliest event rules the API takes (or should refuse at once). */
export const EXPENSIVE_EVENTS: readonly {
  readonly what: string;
  readonly start: string;
  readonly repeat: string;
}[] = [
  { what: 'daily since 1970', start: '1970-01-01T06:00:00Z', repeat: 'FREQ=DAILY' },
  {
    what: 'every 12 months on the 30th, from February (never occurs)',
    start: '2027-02-01T09:00:00Z',
    repeat: 'FREQ=MONTHLY;BYMONTHDAY=30;INTERVAL=12',
  },
  {
    what: 'Friday the 13th, 5,000 times',
    start: '1970-01-01T07:00:00Z',
    repeat: 'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5000',
  },
  {
    what: 'last Sunday of February every 999 months, 5,000 times',
    start: '1970-01-01T05:00:00Z',
    repeat: 'FREQ=MONTHLY;INTERVAL=999;BYDAY=-1SU;BYMONTHDAY=22,23,24,25,26,27,28;COUNT=5000',
  },
  {
    what: 'every weekday until 2199',
    start: '1970-01-01T04:00:00Z',
    repeat: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=21991231T000000Z',
  },
];

/** The widest windows a query may span: a year of all 5,000 series, and the year 2199. */
const WIDE_WINDOWS = [
  { from: '2030-01-01T00:00:00Z', to: '2031-01-01T00:00:00Z' },
  { from: '2199-01-01T00:00:00Z', to: '2200-01-01T00:00:00Z' },
] as const;

async function timed(what: string, call: () => Promise<unknown>): Promise<RequestOutcome> {
  const started = performance.now();
  let answer = 'ok';
  try {
    await call();
  } catch (error) {
    if (!isAgendaError(error)) throw error;
    answer = error.code;
  }
  return { what, answer, ms: Math.round(performance.now() - started) };
}

/** How long signing up may keep meeting an unavailable service before the workload fails. */
const SIGN_UP_DEADLINE_MS = 30_000;

/** `call`, again after 500 ms while the service answers `unavailable` (or not at all). */
async function untilAnswered<T>(call: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + SIGN_UP_DEADLINE_MS;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const retryable = isAgendaError(error) && error.code === 'unavailable';
      if (!retryable || performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Runs the workload (see the module comment) and reports what it saw. */
export async function runHostileWorkload(spec: HostileSpec): Promise<HostileReport> {
  const servers = spec.url.split(',').map((u) => new URL(u));
  const anonymous = new AgendaApi(new GatewayClient({ servers, ca: spec.ca }));
  // Signing up is not what is judged: a blip of the VIP then must not end the workload
  // before it starts. The name is fresh, so "taken" after a retry means the first try won.
  await untilAnswered(async () => {
    try {
      await anonymous.register({ username: spec.username, password: PASSWORD });
    } catch (error) {
      if (!isAgendaError(error) || error.code !== 'conflict') throw error;
    }
  });
  // The workload may outlast an access token: the session renews it as it runs out.
  const token = new SessionTokens({
    tokens: await untilAnswered(() =>
      anonymous.login({ username: spec.username, password: PASSWORD }),
    ),
    renew: (refreshToken, signal, _within, key) =>
      anonymous.refreshSession(refreshToken, signal, undefined, key),
  });
  const client = new GatewayClient({
    servers,
    ca: spec.ca,
    token,
    timeoutMs: 30_000,
    readDeadlineMs: 30_000,
  });
  const api = new AgendaApi(client);
  try {
    const calendar = yearlySeriesCalendar(spec.series, spec.username);
    const started = performance.now();
    const imported = await importInChunks(api, splitCalendar(calendar), {
      allowConflict: true,
      timeZone: 'UTC',
    });
    const importSeconds = (performance.now() - started) / 1000;
    const counts = { created: 0, updated: 0, unchanged: 0 };
    for (const e of imported.answer.events) counts[e.action] += 1;

    const requests: RequestOutcome[] = [];
    for (const window of WIDE_WINDOWS) {
      requests.push(await timed(`list ${window.from.slice(0, 4)}`, () => api.listEvents(window)));
    }
    for (const event of EXPENSIVE_EVENTS) {
      requests.push(
        await timed(`create: ${event.what}`, () =>
          api.createEvent({
            title: `Hostile: ${event.what}`,
            start: event.start,
            duration: '30m',
            repeat: event.repeat,
            allowConflict: true,
          }),
        ),
      );
    }
    // Every series now reaches the far future: read the last year a query may reach.
    requests.push(await timed('list 2199 again', () => api.listEvents(WIDE_WINDOWS[1])));
    let calendarText = '';
    const exportOutcome = await timed('export everything', async () => {
      calendarText = await api.exportCalendar({});
    });
    return {
      username: spec.username,
      importSeconds,
      imported: counts,
      importFailed: imported.answer.failed.length,
      importStoppedBy:
        imported.stoppedBy === null
          ? null
          : imported.stoppedBy.kind === 'interrupt'
            ? 'interrupted'
            : imported.stoppedBy.error.message,
      requests,
      exported: {
        ...exportOutcome,
        events: calendarText.match(/^BEGIN:VEVENT\r$/gm)?.length ?? 0,
        kb: Math.round(Buffer.byteLength(calendarText) / 1024),
      },
    };
  } finally {
    await client.close();
  }
}
