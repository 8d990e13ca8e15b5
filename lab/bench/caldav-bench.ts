/**
 * `npm run bench:caldav -- [--clients 32] [--seconds 10] [--warmup 5] [--json]`: CalDAV
 * against Radicale, the same load on both in one run (issue 15). Target: **`putRatio` ≥ 10**
 * (Agenda's PUTs per second at least ten times Radicale's); `queryRatio` is reported beside
 * it, with no target yet.
 *
 * Agenda first: it starts the `npm start` topology in a temporary directory (so stop
 * `npm start` first: they share ports), registers one user per client and makes each a
 * device app password (`POST /v1/devices`), which that client signs in with (HTTP Basic) on
 * the first gateway, over HTTPS. Then Radicale (Debian's, `apt-get install radicale`: see
 * radicale.ts for how it runs and why over plain HTTP, which favours it; its
 * `max_connections` raised from 8 to the clients', which favours it too) with one user and one
 * calendar per client too, so both servers hold the same calendars and see the same
 * requests (caldav-client.ts writes them for both). Never both at once: they share the CPUs.
 *
 * On each, every client's calendar first gets the same 21 events in the query week (three a
 * day, 2030-06-03 to 06-10; not timed), then two phases, each of `--warmup` seconds not
 * counted followed by `--seconds` counted, from `--clients` concurrent clients in closed
 * loops (each sends its next request when its last is answered):
 *
 * 1. **put**: PUT of a new event (one VEVENT, unique UID at `<UID>.ics`, `If-None-Match: *`;
 *    201 is success). A client's n-th event starts n hours after 2031-01-06 and lasts 30
 *    minutes: opaque, never overlapping another of its user's, so Agenda's conflict check runs
 *    on every PUT (and passes), as it does for a real client's meetings. Not one week: a week
 *    holds 168 such hours, fewer than a client writes in a run, so the events run on into the
 *    next weeks rather than pile into one as TRANSP:TRANSPARENT events, which block no time
 *    (`blocksTime`) and so would be checked against nothing — a cheaper write than most.
 * 2. **query**: REPORT calendar-query (Depth 1, `getetag` and `calendar-data`, a VEVENT
 *    time-range of the query week), as python-caldav's `date_search` sends it. Success is a 207
 *    holding exactly the 21 seeded events; the calendar also holds what phase 1 wrote (after
 *    the query week), more on the faster server.
 *
 * Every other answer is an error, counted (`errors`, `queryErrors`) and never timed; the first
 * few reasons of each server and phase go to stderr. Latencies are of successes only.
 * Agenda runs with production's per-user request limit (1,500 per 10 s): a client past it
 * would see 429s, counted as errors.
 *
 * The last stdout line is one JSON object: `agenda` and `radicale`, each `{putsPerSec,
 * putP50Ms, putP99Ms, puts, errors, queriesPerSec, queryP50Ms, queryP99Ms, queries,
 * queryErrors, warmup}`; `putRatio` and `queryRatio` (Agenda's per second over Radicale's);
 * `target` (`{putRatio: 10, met}`); `machine` (µs per event applied to an in-memory store by
 * one process, before and after, calibrate.ts: a reference for comparing runs, not the whole
 * story on a shared VM); Agenda's `eventLoopDelayWorstMs` by kind of process (the longest
 * stall during the counted seconds of `put` and of `query`, from the daemons' `/metrics`,
 * lab/event-loop-delay.ts; null for a kind with no process, as the VIP agents) and
 * `eventLoopDelaySinceStartMs` (start-up and warm-up included), and `cpuMsPerPut` (CPU each
 * kind of Agenda's processes spent per counted PUT, from /proc).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import type { DeviceAnswer } from '../../contract/api.js';
import type { EventLoopDelayScraper, WorstDelayByKind } from '../event-loop-delay.js';
import { delayScraperOf, startLocalSystem, type LocalSystem } from '../local/system.js';
import { LOAD_GENERATOR_LIMITS } from '../plan.js';
import { benchClient, benchLogin } from './bench-client.js';
import { davClient, type DavClient, type DavOutcome, type DavUser } from './caldav-client.js';
import { storeApplyMicros } from './calibrate.js';
import { startCpuCount } from './cpu.js';
import { freePort, radicaleInstalled, startRadicale } from './radicale.js';
import { closedLoops, latencySummary } from './closed-loops.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    /** Keep the temporary directory (both servers' data) for a look afterwards. */
    keep: { type: 'boolean', default: false },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
if (
  !Number.isInteger(clients) ||
  clients < 1 ||
  !Number.isInteger(seconds) ||
  seconds < 1 ||
  !Number.isInteger(warmup) ||
  warmup < 0
) {
  process.stderr.write(
    '--clients and --seconds must be positive integers, --warmup an integer ≥ 0\n',
  );
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');
if (!radicaleInstalled()) {
  say('bench:caldav compares with Radicale: apt-get install radicale');
  process.exit(1);
}

/** What the same number stands for on both servers: the target of issue 15. */
const TARGET_PUT_RATIO = 10;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The week the query phase reads, and what is in it: 09:00, 11:00 and 14:00 each day. */
const QUERY_FROM = new Date(Date.UTC(2030, 5, 3));
const QUERY_TO = new Date(QUERY_FROM.getTime() + 7 * DAY);
const SEED_HOURS = [9, 11, 14];
const SEEDED = 7 * SEED_HOURS.length;
/** Where phase 1's events start (a client's n-th at n hours past it), after the query week. */
const PUTS_FROM = Date.UTC(2031, 0, 6);
/** Reasons printed per server and phase; the rest are only counted. */
const REASONS_SHOWN = 5;

type Op = (client: number, n: number) => Promise<DavOutcome>;

interface Measured {
  perSec: number;
  p50: number;
  p99: number;
  count: number;
  errors: number;
}

function summarize(latencies: number[], elapsedMs: number, errors: number): Measured {
  return { ...latencySummary(latencies, elapsedMs), count: latencies.length, errors };
}

/**
 * `clients` closed loops of `op` for `durationS` seconds. `next[c]` numbers client c's
 * operations across calls, so a counted phase goes on where its warm-up stopped (new UIDs).
 * A failure or a throw is an error; the first few reasons under `label` go to stderr.
 */
async function run(op: Op, durationS: number, next: number[], label: string, shown: number[]) {
  const ok = async (c: number, n: number) => {
    const outcome = await op(c, n);
    return outcome.ok ? (true as const) : outcome.reason;
  };
  const { latencies, errors, elapsedMs } = await closedLoops(
    ok,
    clients,
    durationS,
    next,
    (c, n, reason) => {
      if ((shown[0] ?? 0) >= REASONS_SHOWN) return;
      shown[0] = (shown[0] ?? 0) + 1;
      say(`${label}: client ${c} #${n}: ${reason}`);
    },
  );
  return summarize(latencies, elapsedMs, errors);
}

/** Hooks around a phase's counted seconds (Agenda's event-loop delays and CPU). */
interface Around {
  before(): Promise<void>;
  after(count: number): Promise<void>;
}

/** `--warmup` seconds of `op`, not counted, then `--seconds` counted. */
async function phase(op: Op, label: string, around?: Around) {
  const next = Array.from({ length: clients }, () => 0);
  const shown = [0];
  const warm = warmup > 0 ? await run(op, warmup, next, `${label} (warm-up)`, shown) : null;
  await around?.before();
  const counted = await run(op, seconds, next, label, shown);
  await around?.after(counted.count);
  return { counted, warm };
}

/** Seeds every calendar, then runs both phases on `server`. */
async function benchServer(
  name: string,
  dav: DavClient,
  users: readonly DavUser[],
  hooks: {
    put?: Around;
    query?: Around;
  },
) {
  say(`${name}: ${SEEDED} events in each of ${clients} calendars' query week…`);
  await Promise.all(
    users.map(async (user, c) => {
      for (let day = 0; day < 7; day++) {
        for (const hour of SEED_HOURS) {
          const start = new Date(QUERY_FROM.getTime() + day * DAY + hour * HOUR);
          const r = await dav
            .put(user, `seed-${c}-${day}-${hour}`, start)
            .catch((err: unknown): DavOutcome => ({ ok: false, status: 0, reason: String(err) }));
          if (!r.ok) throw new Error(`${name}: seeding ${user.username}: ${r.reason}`);
        }
      }
    }),
  );
  say(`${name}: PUTs from ${clients} clients for ${warmup}s of warm-up, then ${seconds}s…`);
  const puts = await phase(
    (c, n) => dav.put(users[c]!, `bench-${c}-${n}`, new Date(PUTS_FROM + n * HOUR)),
    `${name} put`,
    hooks.put,
  );
  say(`${name}: calendar-queries of a week from ${clients} clients for ${warmup}s + ${seconds}s…`);
  const queries = await phase(
    (c) => dav.query(users[c]!, QUERY_FROM, QUERY_TO, SEEDED),
    `${name} query`,
    hooks.query,
  );
  say(
    `${name}: ${puts.counted.perSec} PUTs/s (p99 ${puts.counted.p99} ms, ${puts.counted.errors} errors), ` +
      `${queries.counted.perSec} queries/s (p99 ${queries.counted.p99} ms, ${queries.counted.errors} errors)`,
  );
  return {
    putsPerSec: puts.counted.perSec,
    putP50Ms: puts.counted.p50,
    putP99Ms: puts.counted.p99,
    puts: puts.counted.count,
    errors: puts.counted.errors,
    queriesPerSec: queries.counted.perSec,
    queryP50Ms: queries.counted.p50,
    queryP99Ms: queries.counted.p99,
    queries: queries.counted.count,
    queryErrors: queries.counted.errors,
    warmup: {
      putsPerSec: puts.warm?.perSec ?? 0,
      putP99Ms: puts.warm?.p99 ?? 0,
      errors: puts.warm?.errors ?? 0,
      queriesPerSec: queries.warm?.perSec ?? 0,
      queryP99Ms: queries.warm?.p99 ?? 0,
      queryErrors: queries.warm?.errors ?? 0,
    },
  };
}

/** Around a phase: the worst stall of each kind over its counted seconds (and the CPU per op). */
function agendaAround(
  system: LocalSystem,
  into: { worstMs?: WorstDelayByKind; cpu?: Record<string, number> },
): Around {
  let scraper: EventLoopDelayScraper | undefined;
  let cpu: (() => Map<string, number>) | undefined;
  return {
    before: async () => {
      scraper = delayScraperOf(system);
      // Starts every process's window (see lab/event-loop-delay.ts): what follows is the load's.
      await scraper.scrape(undefined, { since: 'previous-scrape' });
      const pids = new Map<string, number>();
      for (const [name, p] of system.processes) if (p.pid !== undefined) pids.set(name, p.pid);
      cpu = startCpuCount(pids);
    },
    after: async (count) => {
      const used = cpu?.() ?? new Map<string, number>();
      if (scraper === undefined) return;
      try {
        into.worstMs = (await scraper.scrape(undefined, { since: 'previous-scrape' })).worstMs;
      } finally {
        await scraper.close();
      }
      const perOp: Record<string, number> = {};
      let total = 0;
      for (const [role, ms] of [...used].sort((a, b) => b[1] - a[1])) {
        perOp[role] = Math.round((ms / Math.max(1, count)) * 1000) / 1000;
        total += ms;
      }
      perOp.total = Math.round((total / Math.max(1, count)) * 1000) / 1000;
      into.cpu = perOp;
    },
  };
}

async function benchAgenda(dataDir: string) {
  say(`starting the whole system in ${dataDir}…`);
  // One process registers everyone and signs every device in: the per-address limits are raised.
  const system = await startLocalSystem({ dataDir, say, abuseLimits: LOAD_GENERATOR_LIMITS });
  const dispatcher = new Agent({
    connect: { ca: readFileSync(system.ca) },
    connections: clients,
    keepAliveTimeout: 30_000,
  });
  try {
    const base = system.gateways[0] ?? '';
    const call = benchClient(base, dispatcher);
    say(`registering ${clients} users, each with a device app password…`);
    const users: DavUser[] = [];
    for (let i = 0; i < clients; i++) {
      const username = `bench-${i}`;
      const password = `password-${i}`;
      const reg = await call('POST', '/v1/users', { username, password });
      if (reg.status !== 201)
        throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.json)}`);
      const session = await benchLogin(call, username, password);
      const device = await call('POST', '/v1/devices', { label: 'bench' }, session);
      if (device.status !== 201)
        throw new Error(`device for ${username}: ${device.status} ${JSON.stringify(device.json)}`);
      const answer = device.json as DeviceAnswer;
      users.push({
        calendarUrl: `${base}/dav/calendars/${encodeURIComponent(username)}/agenda/`,
        username: answer.username,
        password: answer.password,
      });
    }
    const put: { worstMs?: WorstDelayByKind; cpu?: Record<string, number> } = {};
    const query: { worstMs?: WorstDelayByKind; cpu?: Record<string, number> } = {};
    const figures = await benchServer('agenda', davClient(dispatcher), users, {
      put: agendaAround(system, put),
      query: agendaAround(system, query),
    });
    say('reading the worst event-loop delay of every process since it started…');
    const scraper = delayScraperOf(system);
    const sinceStart = await scraper.scrape().finally(() => scraper.close());
    for (const { name, reason } of sinceStart.missing)
      say(`no event-loop delay from ${name}: ${reason}`);
    return {
      figures,
      eventLoopDelayWorstMs: { put: put.worstMs ?? null, query: query.worstMs ?? null },
      eventLoopDelaySinceStartMs: sinceStart.worstMs,
      cpuMsPerPut: put.cpu ?? {},
    };
  } finally {
    await dispatcher.close();
    await system.stop();
  }
}

async function benchRadicale(dataDir: string) {
  const port = await freePort();
  say(`starting Radicale on 127.0.0.1:${port}…`);
  // Every client's connection served at once: past Radicale's default 8, connections would
  // wait on TCP's retransmissions (see startRadicale), which would not be its calendar's cost.
  const radicale = await startRadicale(join(dataDir, 'radicale'), port, {
    maxConnections: clients,
  });
  const dispatcher = new Agent({ connections: clients, keepAliveTimeout: 30_000 });
  try {
    const users: DavUser[] = [];
    for (let i = 0; i < clients; i++) users.push(await radicale.calendar(`bench-${i}`));
    return await benchServer('radicale', davClient(dispatcher), users, {});
  } finally {
    await dispatcher.close();
    await radicale.stop();
  }
}

say('timing this machine on store work (see calibrate.ts)…');
const applyMicrosBefore = await storeApplyMicros();
const dataDir = mkdtempSync(join(tmpdir(), 'agenda-bench-caldav-'));
let report: Record<string, unknown>;
try {
  const agenda = await benchAgenda(dataDir);
  const radicale = await benchRadicale(dataDir);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);
  const putRatio = ratio(agenda.figures.putsPerSec, radicale.putsPerSec);
  report = {
    agenda: agenda.figures,
    radicale,
    putRatio,
    queryRatio: ratio(agenda.figures.queriesPerSec, radicale.queriesPerSec),
    target: { putRatio: TARGET_PUT_RATIO, met: putRatio !== null && putRatio >= TARGET_PUT_RATIO },
    clients,
    seconds,
    warmupSeconds: warmup,
    seededEventsPerQuery: SEEDED,
    machine: {
      storeApplyMicrosBefore: applyMicrosBefore,
      storeApplyMicrosAfter: await storeApplyMicros(),
    },
    eventLoopDelayWorstMs: agenda.eventLoopDelayWorstMs,
    eventLoopDelaySinceStartMs: agenda.eventLoopDelaySinceStartMs,
    cpuMsPerPut: agenda.cpuMsPerPut,
  };
} finally {
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
if (!values.json) say(JSON.stringify(report, null, 2));
process.stdout.write(JSON.stringify(report) + '\n');
