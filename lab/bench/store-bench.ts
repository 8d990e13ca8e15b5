/**
 * Store benchmark: `npm run bench:store [-- --json] [--users N] [--events M] [--samples S]
 * [--window-days D] [--hourly]`. A bench of the lab's, run in one process on the store
 * itself (`server/store/`): it imports the store, the domain and the CLI's own splitter,
 * which the server may not.
 *
 * Builds a calendar of N users (default 1,000) with M events each (default 1,000) in
 * hierarchical groups of 20, entirely through `apply` (batches of 2,000 commands, every
 * command through the domain: validation, conflict loads, notifications, request log),
 * then measures the agenda view of a whole 20-member group over D days (default 7), inside
 * the store, from random viewers in random windows.
 *
 * Each user's events, by default: mostly one-hour personal events spread over 2025 (public,
 * busy and private in turn), 1 % group events imposed on the members below the organizer,
 * 1 % appointments with two group mates, and 0.5 % weekly series, in groups whose members
 * are at levels 1 to 3.
 *
 * With `--hourly`, the shape of the full-system benchmark (`lab/bench/http-bench.ts`):
 * every member is at level 1 under the owner, and each user has one 30-minute personal
 * event (default visibility, created with allowConflict) every hour from 6 January 2025, so
 * M events cover M / 24 days and a one-day view holds 24 entries per member; windows are
 * drawn among those days.
 *
 * The last line on stdout is the JSON result:
 * `{"agendaP50Ms","agendaP99Ms","agendaCpuMs","agendaEntries","applyPerSec","snapshotMs",
 * "dbBytes"}` (`agendaCpuMs`: the process's CPU time per view, mean over the samples;
 * `agendaEntries`: entries per view, mean); with `--json` it is the only line on stdout and
 * progress goes to stderr.
 *
 * With `--import-series K`, it measures instead what the DB leader's store does with the
 * import of a calendar of K yearly series (`server/store/yearly-calendar.ts`, the shape of
 * `npm run bench:import`): split by the CLI's own code into requests, each parsed as the
 * users service parses it and sent as one `event.import` command with allowConflict from one
 * user, decided on the store and its effect then applied, as the leader does. The JSON line
 * is `{"commands","events","failed","created","decideCpuMs","applyCpuMs",
 * "decideCpuMsPerCommand","digest"}` (CPU time of the process; `digest`: a SHA-256 of every
 * decided effect and answer, which changes whenever what the store decides does).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { splitCalendar } from '../../cli/import/split-calendar.js';
import { importICalendar } from '../../server/domain/index.js';
import { CalendarStore } from '../../server/store/calendar-store.js';
import { encodeCommand } from '../../server/store/protocol.js';
import type { CommandBody, StoreCommand, StoreResult } from '../../server/store/protocol.js';
import { seededRandom } from '../../base/rng.js';
import { yearlySeriesCalendar } from '../../server/store/yearly-calendar.js';

const GROUP_SIZE = 20;
const BATCH = 2_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** Monday 6 January 2025, 00:00 UTC: the first day events are placed on. */
const YEAR_START = Date.UTC(2025, 0, 6);
const DAYS = 364;
const VISIBILITIES = ['busy', 'public', 'private'] as const;

interface Options {
  readonly json: boolean;
  readonly users: number;
  readonly eventsPerUser: number;
  readonly samples: number;
  readonly windowDays: number;
  readonly hourly: boolean;
  readonly importSeries: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      users: { type: 'string', default: '1000' },
      events: { type: 'string', default: '1000' },
      samples: { type: 'string', default: '500' },
      'window-days': { type: 'string', default: '7' },
      hourly: { type: 'boolean', default: false },
      'import-series': { type: 'string', default: '0' },
    },
  });
  const users = Number(values.users);
  const eventsPerUser = Number(values.events);
  const samples = Number(values.samples);
  const windowDays = Number(values['window-days']);
  if (![users, eventsPerUser, samples, windowDays].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--users, --events, --samples and --window-days take positive whole numbers');
  }
  if (users % GROUP_SIZE !== 0) throw new Error(`--users must be a multiple of ${GROUP_SIZE}`);
  if (windowDays > 366) throw new Error('--window-days is at most 366, the longest query');
  if (values.hourly && eventsPerUser < windowDays * 24) {
    throw new Error('--hourly needs --events of at least 24 per day of --window-days');
  }
  const importSeries = Number(values['import-series']);
  if (!Number.isInteger(importSeries) || importSeries < 0) {
    throw new Error('--import-series takes a whole number');
  }
  return {
    json: values.json,
    users,
    eventsPerUser,
    samples,
    windowDays,
    hourly: values.hourly,
    importSeries,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** Feeds commands to the store in batches, as the Raft host does, and counts refusals. */
class Loader {
  private pending: Uint8Array[] = [];
  private index = 0;
  private sequence = 0;
  private clock = Date.UTC(2025, 0, 1);
  applied = 0;
  refused = new Map<string, number>();

  constructor(private readonly store: CalendarStore) {}

  send(actor: string | null, body: CommandBody): void {
    this.sequence += 1;
    this.clock += 1;
    this.pending.push(
      encodeCommand({
        v: 1,
        requestId: `r${this.sequence}`,
        actor,
        at: this.clock,
        ids: [`e${this.sequence}`],
        body,
      }),
    );
    if (this.pending.length >= BATCH) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.map((data) => ({ index: ++this.index, term: 1, data }));
    this.pending = [];
    this.count(this.store.apply(batch));
  }

  private count(results: readonly StoreResult[]): void {
    for (const r of results) {
      this.applied += 1;
      if (!r.ok) this.refused.set(r.error.code, (this.refused.get(r.error.code) ?? 0) + 1);
    }
  }
}

const userName = (i: number) => `user${String(i).padStart(4, '0')}`;
const groupName = (g: number) => `group${String(g).padStart(3, '0')}`;

function personalEvent(user: number, k: number, eventsPerUser: number): CommandBody {
  // Three one-hour slots a day (09, 11, 13 UTC), days in turn: a user's events never overlap.
  const day = (k + user) % DAYS;
  const slot = Math.floor(k / DAYS) % 3;
  const start = YEAR_START + day * DAY + (9 + 2 * slot) * HOUR;
  return {
    type: 'event.create',
    draft: {
      title: `Event ${k} of ${userName(user)}`,
      start,
      end: start + HOUR,
      visibility: VISIBILITIES[k % 3],
      description: k % 10 === 0 ? 'Bring the quarterly figures.' : '',
      location: k % 7 === 0 ? 'Room 4' : '',
    },
    // Events past the third slot of the year would overlap; let them be flagged, not refused.
    allowConflict: k >= 3 * DAYS || eventsPerUser > 3 * DAYS,
  };
}

/** The `--hourly` event k of a user: 30 minutes at the hour, a minute later per group rank. */
function hourlyEvent(user: number, k: number): CommandBody {
  const start = YEAR_START + k * HOUR + (user % GROUP_SIZE) * 60_000;
  return {
    type: 'event.create',
    draft: { title: `bench ${user}.${k}`, start, end: start + HOUR / 2 },
    allowConflict: true,
  };
}

function build(store: CalendarStore, o: Options, log: (line: string) => void): number {
  const random = seededRandom(42);
  const loader = new Loader(store);
  const groups = o.users / GROUP_SIZE;
  for (let u = 0; u < o.users; u++) {
    loader.send(null, {
      type: 'user.register',
      username: userName(u),
      passwordHash: `scrypt$bench$${u}`,
    });
  }
  for (let g = 0; g < groups; g++) {
    const owner = userName(g * GROUP_SIZE);
    loader.send(owner, { type: 'group.create', name: groupName(g), kind: 'hierarchical' });
    for (let m = 1; m < GROUP_SIZE; m++) {
      loader.send(owner, {
        type: 'group.addMember',
        group: groupName(g),
        username: userName(g * GROUP_SIZE + m),
        level: o.hourly ? 1 : 1 + (m % 3),
      });
      loader.send(userName(g * GROUP_SIZE + m), { type: 'group.join', group: groupName(g) });
    }
  }
  loader.flush();
  log(`${o.users} users in ${groups} groups of ${GROUP_SIZE}`);

  const started = performance.now();
  const total = o.users * o.eventsPerUser;
  // Interleave users, as real traffic does, rather than loading one agenda at a time.
  for (let k = 0; k < o.eventsPerUser; k++) {
    for (let u = 0; u < o.users; u++) {
      const group = Math.floor(u / GROUP_SIZE);
      const actor = userName(u);
      if (o.hourly) {
        loader.send(actor, hourlyEvent(u, k));
      } else if (k % 100 === 99) {
        // A group meeting at 15:00, imposed on the members below the organizer.
        const start = YEAR_START + ((k * 7 + u) % DAYS) * DAY + 15 * HOUR;
        loader.send(actor, {
          type: 'event.create',
          draft: { title: `Team sync ${k}`, start, end: start + HOUR },
          group: groupName(group),
          allowConflict: true,
        });
      } else if (k % 100 === 49) {
        // An appointment with two group mates at 17:00.
        const start = YEAR_START + ((k * 3 + u) % DAYS) * DAY + 17 * HOUR;
        const mate = () => userName(group * GROUP_SIZE + Math.floor(random() * GROUP_SIZE));
        loader.send(actor, {
          type: 'event.create',
          draft: { title: `Coffee ${k}`, start, end: start + HOUR / 2, visibility: 'public' },
          with: [...new Set([mate(), mate()])].filter((m) => m !== actor),
          allowConflict: true,
        });
      } else if (k % 200 === 199) {
        // A weekly series at 19:00 for eight weeks.
        const start = YEAR_START + ((k + u) % (DAYS - 60)) * DAY + 19 * HOUR;
        loader.send(actor, {
          type: 'event.create',
          draft: {
            title: `Course ${k}`,
            start,
            end: start + HOUR,
            recurrence: 'FREQ=WEEKLY;COUNT=8',
          },
          allowConflict: true,
        });
      } else {
        loader.send(actor, personalEvent(u, k, o.eventsPerUser));
      }
    }
    if ((k + 1) % Math.max(1, Math.floor(o.eventsPerUser / 20)) === 0) {
      const seconds = (performance.now() - started) / 1000;
      const done = (k + 1) * o.users;
      log(
        `${done.toLocaleString('en')} / ${total.toLocaleString('en')} events, ${Math.round(done / seconds)} commands/s`,
      );
    }
  }
  loader.flush();
  const seconds = (performance.now() - started) / 1000;
  const refused = [...loader.refused].map(([code, n]) => `${code} ${n}`).join(', ');
  log(`built in ${seconds.toFixed(1)} s${refused === '' ? '' : `; refused: ${refused}`}`);
  return total / seconds;
}

interface AgendaTimings {
  /** Wall-clock milliseconds per view, ascending. */
  readonly sorted: number[];
  readonly cpuMsPerView: number;
  readonly entriesPerView: number;
}

function measureAgenda(
  store: CalendarStore,
  o: Options,
  log: (line: string) => void,
): AgendaTimings {
  const random = seededRandom(7);
  const groups = o.users / GROUP_SIZE;
  const span = o.windowDays * DAY;
  // Window starts: the first day of one of 50 weeks of 2025, or (hourly) a day with events.
  const firstDays = o.hourly ? Math.floor(o.eventsPerUser / 24) - o.windowDays + 1 : 50;
  const dayStep = o.hourly ? DAY : WEEK;
  const view = () => {
    const g = Math.floor(random() * groups);
    const viewer = userName(g * GROUP_SIZE + Math.floor(random() * GROUP_SIZE));
    const from = YEAR_START + Math.floor(random() * firstDays) * dayStep;
    const started = performance.now();
    const answer = store.query({
      v: 1,
      actor: viewer,
      at: Date.UTC(2025, 0, 1),
      body: { type: 'agenda.view', targets: { group: groupName(g) }, from, to: from + span },
    });
    const elapsed = performance.now() - started;
    if (!answer.ok) throw new Error(`agenda refused: ${answer.error.message}`);
    return { elapsed, answer };
  };
  for (let i = 0; i < 30; i++) view();
  const timings: number[] = [];
  let entries = 0;
  const cpu = process.cpuUsage();
  for (let i = 0; i < o.samples; i++) {
    const { elapsed, answer } = view();
    timings.push(elapsed);
    if (answer.ok && 'agendas' in answer.result) {
      entries += answer.result.agendas.reduce((n, a) => n + a.entries.length, 0);
    }
  }
  const { user, system } = process.cpuUsage(cpu);
  log(`${o.samples} agenda views, ${Math.round(entries / o.samples)} entries each on average`);
  return {
    sorted: timings.sort((a, b) => a - b),
    cpuMsPerView: (user + system) / 1000 / o.samples,
    entriesPerView: entries / o.samples,
  };
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

/** The `--import-series` figures (see the module comment). */
interface ImportTimings {
  readonly commands: number;
  readonly events: number;
  readonly failed: number;
  readonly created: number;
  readonly decideCpuMs: number;
  readonly applyCpuMs: number;
  readonly decideCpuMsPerCommand: number[];
  readonly digest: string;
}

function measureImport(store: CalendarStore, series: number, log: (line: string) => void) {
  // A fixed clock and year, so that every run decides the same effects (see the digest).
  const year = 2026;
  let clock = Date.UTC(year, 11, 5, 14);
  let index = 0;
  const digest = createHash('sha256');
  const timings = { decide: 0, apply: 0, perCommand: [] as number[] };
  const run = (command: StoreCommand): StoreResult => {
    const decideStarted = process.cpuUsage();
    const decided = store.decide(command);
    const decideMs = cpuMs(decideStarted);
    timings.decide += decideMs;
    timings.perCommand.push(round(decideMs, 1));
    if (decided.kind === 'answer') throw new Error('a fresh request was answered as a replay');
    digest.update(decided.entry);
    const applyStarted = process.cpuUsage();
    const [result] = store.apply([{ index: ++index, term: 1, data: decided.entry }]);
    timings.apply += cpuMs(applyStarted);
    if (result === undefined || !result.ok) {
      throw new Error(`the store refused a command: ${JSON.stringify(result)}`);
    }
    digest.update(JSON.stringify(result));
    return result;
  };
  const actor = 'importer';
  let sequence = 0;
  const command = (body: CommandBody, ids: number): StoreCommand => {
    sequence += 1;
    clock += 1_000;
    const fresh = Array.from({ length: ids }, (_, i) => `imp${sequence}-${i}`);
    return { v: 1, requestId: `r${sequence}`, actor, at: clock, ids: fresh, body };
  };
  run(command({ type: 'user.register', username: actor, passwordHash: 'scrypt$bench$0' }, 0));

  const { chunks } = splitCalendar(yearlySeriesCalendar(series, year));
  log(`importing ${series} yearly series in ${chunks.length} commands`);
  let events = 0;
  let failed = 0;
  let created = 0;
  timings.perCommand.length = 0;
  timings.decide = 0;
  timings.apply = 0;
  for (const chunk of chunks) {
    const parsed = importICalendar(chunk.text, { defaultTimeZone: 'UTC' });
    const result = run(
      command(
        { type: 'event.import', events: parsed.events, allowConflict: true },
        parsed.events.length,
      ),
    );
    if (result.ok && 'events' in result.result && 'failed' in result.result) {
      events += result.result.events.length;
      failed += result.result.failed.length;
      created += result.result.events.filter((e) => e.action === 'created').length;
    }
  }
  return {
    commands: chunks.length,
    events,
    failed,
    created,
    decideCpuMs: Math.round(timings.decide),
    applyCpuMs: Math.round(timings.apply),
    decideCpuMsPerCommand: timings.perCommand,
    digest: digest.digest('hex'),
  } satisfies ImportTimings;
}

async function main(): Promise<void> {
  const o = options();
  const log = (line: string) => {
    if (o.json) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
  const store = new CalendarStore(await loadSqlJs());
  if (o.importSeries > 0) {
    try {
      process.stdout.write(`${JSON.stringify(measureImport(store, o.importSeries, log))}\n`);
    } finally {
      store.close();
    }
    return;
  }
  try {
    const applyPerSec = build(store, o, log);
    const agenda = measureAgenda(store, o, log);
    const started = performance.now();
    const image = store.snapshot();
    const snapshotMs = performance.now() - started;
    process.stdout.write(
      `${JSON.stringify({
        agendaP50Ms: round(percentile(agenda.sorted, 50)),
        agendaP99Ms: round(percentile(agenda.sorted, 99)),
        agendaCpuMs: round(agenda.cpuMsPerView),
        agendaEntries: round(agenda.entriesPerView, 1),
        applyPerSec: Math.round(applyPerSec),
        snapshotMs: Math.round(snapshotMs),
        dbBytes: image.length,
      })}\n`,
    );
  } finally {
    store.close();
  }
}

await main();
