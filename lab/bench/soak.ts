/**
 * `npm run soak -- [--minutes 30] [--warmup-minutes 15] [--sample-seconds 5] [--users 12]
 * [--json]`: a long, moderate, mixed load on `npm start`'s system, watched for growth. Issue 17
 * asks that memory be bounded by configuration, not by history: after the warm-up a daemon's
 * resident memory may grow by at most 10 %, and latencies must not drift.
 *
 * The warm-up is half the run, at most 15 minutes (unless given): a DB member grows
 * for its first 15–25 minutes of this load, to its working size — its in-memory Raft log
 * fills to half the image's size (twice that on the leader) before the first snapshots,
 * SQLite's memory to what the queries need, the store worker's heap to its first major
 * collections — and then swings with each snapshot, without a trend. Measured from 10
 * minutes it grew 28 %; from 15, −0.8 % over 30.
 *
 * The load: `--users` users, each in a paced loop (one operation every ~250 ms, so about
 * 4 × users a second, far below saturation) doing a mix of creates (each user keeps at most 40
 * events and cancels its oldest beyond that), lists of its week, reads of a 10-member
 * hierarchical group's agenda, appointments with another user that the other accepts, and now
 * and then a new login and logout. A quarter of the users keep a live stream open the whole
 * time (re-opened whenever it ends).
 *
 * The data stays the same size, so that what grows is the daemons, not the calendars: the
 * store keeps a cancelled event (lists show it, its attendees were told; ~450 bytes of each
 * DB member's image), so a load of creates alone grows the data for ever. Every
 * {@link CHURN_OPERATIONS} operations a user therefore leaves: it deletes its account (its
 * events, attendance and group membership go with it) and a new user takes its place, who
 * registers, logs in, and, in the group's place of the one who left, is invited by the group's
 * owner and joins. The report's `store` gives the DB's image at the end of the warm-up and at
 * the end, and the requests it remembers, to show the data did stay level, and each DB
 * member's SQLite memory (WebAssembly memory only grows: it is the most SQLite needed).
 *
 * Every `--sample-seconds` it records each process's resident memory (from /proc, its tree),
 * its V8 heap in use and its longest event-loop stall since the previous sample (from its
 * `/metrics`), and the latencies of the operations finished meanwhile. The report gives, per
 * kind of process, the largest resident memory over the first and over the last third of the
 * counted minutes (each process's average over the third, so neither a collection nor where a
 * sawtooth happens to be decides), the growth between, the peaks of each third, the growth
 * between the first and last 15 s alone, the heap likewise, the worst stall; and the latency
 * trend: p50 and p99 of
 * the first and the last third of the counted minutes, logins apart (each is a deliberately
 * slow scrypt), and per kind of operation. `ok` says whether every kind grew by
 * at most 10 % and the last third's p99 is at most 1.5 × the first's (+ 20 ms for noise).
 * `errorReasons` counts the failed operations by kind and error code.
 * The last line is the JSON report.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import type { SessionTokens } from '../../cli/http/session-tokens.js';
import { EVENT_LOOP_DELAY_METRICS } from '../../server/metrics/daemon-metrics.js';
import { delayScraperOf, operatorAgentOf, startLocalSystem } from '../local/system.js';
import { benchClient, benchLogin, type BenchAnswer } from './bench-client.js';
import { LOAD_GENERATOR_LIMITS } from '../plan.js';
import { roleOf } from './cpu.js';
import { sampleRssMib } from './memory.js';
import type { DbStatus } from '../../server/db/service.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'warmup-minutes': { type: 'string' },
    'sample-seconds': { type: 'string', default: '5' },
    users: { type: 'string', default: '12' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const warmupMinutes = Number(values['warmup-minutes'] ?? Math.min(15, minutes / 2));
const sampleSeconds = Number(values['sample-seconds']);
const users = Number(values.users);
if (
  !(minutes > 0 && minutes <= 24 * 60) ||
  !(warmupMinutes >= 0 && warmupMinutes < minutes) ||
  !(sampleSeconds >= 1 && sampleSeconds <= 600) ||
  !(Number.isInteger(users) && users >= 10 && users <= 200)
) {
  process.stderr.write(
    '--minutes must be in (0, 1440], --warmup-minutes in [0, minutes), --sample-seconds in [1, 600], --users an integer in [10, 200]\n',
  );
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');

const PACE_MS = 250;
const KEPT_EVENTS = 40;
const GROUP_SIZE = 10;
/** A user's operations before it leaves and a new user takes its place (about 2 minutes). */
const CHURN_OPERATIONS = 400;
const HEAP_METRIC = 'nodejs_heap_size_used_bytes';

const dataDir = mkdtempSync(join(tmpdir(), 'agenda-soak-'));
say(`starting the whole system in ${dataDir}…`);
const system = await startLocalSystem({ dataDir, say, abuseLimits: LOAD_GENERATOR_LIMITS });
const base = system.gateways[0] ?? '';
const dispatcher = new Agent({
  connect: { ca: readFileSync(system.ca) },
  connections: users * 2,
  keepAliveTimeout: 30_000,
});

const call = benchClient(base, dispatcher);

function login(username: string): Promise<SessionTokens> {
  return benchLogin(call, username, `soak-pw-${username}`);
}

/** Latencies of one kind of operation within the current sample, and errors. */
type OpKind =
  | 'create'
  | 'cancel'
  | 'list'
  | 'agenda'
  | 'appointment'
  | 'accept'
  | 'login'
  | 'leave'
  | 'register'
  | 'join';
interface Window {
  readonly latencies: number[];
  errors: number;
}
let current = new Map<OpKind, Window>();
const warmupMs = warmupMinutes * 60_000;
/** The counted minutes, split in thirds for the trend. */
const thirdMs = (minutes * 60_000 - warmupMs) / 3;
/**
 * The latencies of the first and the last counted third, by kind: all the trend needs, kept
 * as plain numbers (the middle third and the warm-up are not kept, so a day-long soak holds
 * a few tens of MB, not an object per operation).
 */
const thirds = [new Map<OpKind, number[]>(), new Map<OpKind, number[]>()] as const;
let operations = 0;

/**
 * Why operations failed, by kind and error code (or message): a soak's errors are a finding
 * only when one can tell what they were. At most {@link MAX_ERROR_REASONS} reasons are told
 * apart; the rest are counted as `other`.
 */
const errorReasons = new Map<string, number>();
const MAX_ERROR_REASONS = 30;

function noteError(kind: OpKind, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const why =
    typeof code === 'string'
      ? code
      : error instanceof Error
        ? error.message.slice(0, 80)
        : 'refused or unexpected answer';
  const key = `${kind}: ${why}`;
  const counted = errorReasons.has(key) || errorReasons.size < MAX_ERROR_REASONS ? key : 'other';
  errorReasons.set(counted, (errorReasons.get(counted) ?? 0) + 1);
}

async function timed(kind: OpKind, op: () => Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  let failure: unknown = null;
  const ok = await op().catch((error: unknown) => {
    failure = error;
    return false;
  });
  const w = current.get(kind) ?? { latencies: [], errors: 0 };
  current.set(kind, w);
  if (ok) {
    const ms = performance.now() - t0;
    w.latencies.push(ms);
    operations++;
    const third = Math.floor((t0 - startedAt - warmupMs) / thirdMs);
    const kept = third === 0 ? thirds[0] : third === 2 ? thirds[1] : undefined;
    if (kept) {
      const list = kept.get(kind) ?? [];
      kept.set(kind, list);
      list.push(ms);
    }
  } else {
    w.errors++;
    noteError(kind, failure);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  const v = sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
  return Math.round(v * 10) / 10;
}

/** Each place's user now (`soak-<place>`, then `soak-<place>.<generation>` after each leave). */
const names = Array.from({ length: users }, (_, i) => `soak-${i}`);
const sessions: SessionTokens[] = [];
const password = (username: string) => `soak-pw-${username}`;
const OWNER = 'soak-owner';
/** The places whose users are in the group (besides its owner, who never leaves). */
const inGroup = (u: number) => u < GROUP_SIZE - 1;

/**
 * True when `answer` has one of `statuses`; else throws what it was (status and error code),
 * for `errorReasons`.
 */
function answered(answer: BenchAnswer, ...statuses: number[]): true {
  if (statuses.includes(answer.status)) return true;
  const code = (answer.json as { error?: { code?: unknown } } | null)?.error?.code;
  throw new Error(`HTTP ${answer.status}${typeof code === 'string' ? ` ${code}` : ''}`);
}

async function register(username: string): Promise<void> {
  const reg = await call('POST', '/v1/users', { username, password: password(username) });
  if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status}`);
}

/** The group's owner invites `u`'s user, who accepts. */
async function joinGroup(u: number): Promise<boolean> {
  const invited = await call(
    'POST',
    '/v1/groups/soak/members',
    { username: names[u], level: 1 },
    ownerSession,
  );
  answered(invited, 200);
  return answered(await call('POST', '/v1/groups/soak/join', {}, sessions[u]), 200);
}

say(`registering ${users} users and a ${GROUP_SIZE}-member hierarchical group…`);
await register(OWNER);
const ownerSession = await login(OWNER);
const created = await call(
  'POST',
  '/v1/groups',
  { name: 'soak', kind: 'hierarchical' },
  ownerSession,
);
if (created.status !== 201) throw new Error(`creating the group: ${created.status}`);
for (const [u, username] of names.entries()) {
  await register(username);
  sessions.push(await login(username));
  if (inGroup(u) && !(await joinGroup(u))) throw new Error(`${username} could not join the group`);
}

/**
 * The places whose user or session is being replaced now (the user leaves, or logs in anew and
 * out of its old session), and how many operations of other users (an appointment with it, a
 * read of the group's agenda as it) hold each place's user: a replacement waits until none
 * does, so that no operation is refused for the session it began with having ended.
 */
const leaving = new Set<number>();
const held = new Map<number, number>();

/** Runs `op` with `u`'s user kept from leaving meanwhile; undefined, not run, if it is leaving. */
async function holding<T>(u: number, op: () => Promise<T>): Promise<T | undefined> {
  if (leaving.has(u)) return undefined;
  held.set(u, (held.get(u) ?? 0) + 1);
  try {
    return await op();
  } finally {
    held.set(u, (held.get(u) ?? 1) - 1);
  }
}

/**
 * Runs `op`, which replaces `u`'s session or user, once no other user's operation holds it, and
 * lets none start meanwhile.
 */
async function replacing(u: number, op: () => Promise<void>): Promise<void> {
  leaving.add(u);
  try {
    while ((held.get(u) ?? 0) > 0) await sleep(20);
    await op();
  } finally {
    leaving.delete(u);
  }
}

/** `u`'s user deletes its account; a new user takes the place, and its group seat. */
async function churn(u: number, generation: number): Promise<void> {
  const leaver = names[u]!;
  await timed('leave', async () => {
    const r = await call('POST', '/v1/account/delete', { password: password(leaver) }, sessions[u]);
    return answered(r, 200);
  });
  const username = `soak-${u}.${generation}`;
  await timed('register', async () => {
    await register(username);
    sessions[u] = await login(username);
    names[u] = username;
    return true;
  });
  if (inGroup(u)) await timed('join', () => joinGroup(u));
}

// The run's minutes count from here: registering the users is not part of them.
const startedAt = performance.now();
const endAt = startedAt + minutes * 60_000;
let stopped = false;
const running = () => !stopped && performance.now() < endAt;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const weekStart = Date.UTC(2032, 0, 5);

/** One user's paced loop of mixed operations. */
async function user(u: number): Promise<void> {
  const own: string[] = [];
  let slot = 0;
  let generation = 0;
  // Spread the users' phases so their operations interleave.
  await sleep((u * PACE_MS) / users);
  for (let n = 0; running(); n++) {
    if (n > 0 && n % CHURN_OPERATIONS === 0) {
      await replacing(u, () => churn(u, ++generation));
      own.length = 0; // its events went with its account
      continue;
    }
    const session = sessions[u]!;
    const roll = (n * 7 + u * 3) % 20;
    if (roll < 6) {
      await timed('create', async () => {
        // Slots an hour apart per user, cycling over a year: never a conflict with itself.
        const start = new Date(weekStart + ((slot++ * 24 + u) % 8_760) * 3_600_000);
        const r = await call(
          'POST',
          '/v1/events',
          {
            title: `soak ${u}.${n}`,
            start: start.toISOString(),
            duration: '30m',
            allowConflict: true,
          },
          session,
        );
        const id = (r.json as { event?: { id?: string } } | null)?.event?.id;
        answered(r, 201);
        if (id === undefined) return false;
        own.push(id);
        return true;
      });
      while (own.length > KEPT_EVENTS) {
        const id = own.shift() ?? '';
        await timed('cancel', async () => {
          const r = await call('DELETE', `/v1/events/${id}`, undefined, session);
          return answered(r, 200, 404);
        });
      }
    } else if (roll < 11) {
      await timed('list', async () => {
        const from = new Date(weekStart).toISOString();
        const to = new Date(weekStart + 7 * 86_400_000).toISOString();
        return answered(
          await call('GET', `/v1/events?from=${from}&to=${to}`, undefined, session),
          200,
        );
      });
    } else if (roll < 16) {
      await timed('agenda', async () => {
        const from = new Date(weekStart).toISOString();
        const to = new Date(weekStart + 86_400_000).toISOString();
        const path = `/v1/agendas?group=soak&from=${from}&to=${to}`;
        // As a member (one of the places in the group), or its owner while that one leaves.
        const member = u % (GROUP_SIZE - 1);
        const asMember = await holding(member, async () =>
          answered(await call('GET', path, undefined, sessions[member]), 200),
        );
        return asMember ?? answered(await call('GET', path, undefined, ownerSession), 200);
      });
    } else if (roll < 19) {
      const other = (u + 1 + (n % (users - 1))) % users;
      await holding(other, async () => {
        let id: string | undefined;
        await timed('appointment', async () => {
          const start = new Date(
            weekStart + 400 * 86_400_000 + ((slot++ * 24 + u) % 8_760) * 3_600_000,
          );
          const r = await call(
            'POST',
            '/v1/events',
            {
              title: `meet ${u}.${n}`,
              start: start.toISOString(),
              duration: '15m',
              with: [names[other]],
              allowConflict: true,
            },
            session,
          );
          id = (r.json as { event?: { id?: string } } | null)?.event?.id;
          return answered(r, 201) && id !== undefined;
        });
        if (id === undefined) return;
        const accepted = id;
        await timed('accept', async () => {
          const r = await call(
            'POST',
            `/v1/invitations/${accepted}/accept`,
            { allowConflict: true },
            sessions[other],
          );
          return answered(r, 200);
        });
        own.push(accepted);
      });
    } else {
      // Logging out ends the session others' operations may be using as this user: not meanwhile.
      await replacing(u, () =>
        timed('login', async () => {
          const fresh = await login(names[u]!);
          const out = await call('DELETE', '/v1/sessions/current', undefined, session);
          sessions[u] = fresh;
          return answered(out, 200);
        }),
      );
    }
    await sleep(PACE_MS);
  }
}

/** Keeps a live stream open for user `u` until the end, counting what arrives. */
let streamed = 0;
let streamOpens = 0;
async function stream(u: number): Promise<void> {
  while (running()) {
    try {
      const token = await sessions[u]!.current();
      const controller = new AbortController();
      const timer = setInterval(() => {
        if (!running()) controller.abort();
      }, 1_000);
      streamOpens++;
      const res = await request(`${base}/v1/stream`, {
        dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      try {
        for await (const chunk of res.body) {
          streamed += String(chunk).split('\nevent:').length - 1;
        }
      } finally {
        clearInterval(timer);
      }
    } catch {
      // Ended, refused or aborted: open it again after a breath.
    }
    if (running()) await sleep(1_000);
  }
}

interface Sample {
  readonly atMs: number;
  readonly rssMib: Map<string, number>;
  readonly heapMib: Map<string, number>;
  readonly stallMs: Map<string, number>;
  /** The store as a DB member told it, null when none answered. */
  readonly store: {
    readonly dbBytes: number;
    readonly rememberedRequests: number;
    /** Each member's SQLite memory (WebAssembly, never given back), by name. */
    readonly sqlMemoryBytes: Readonly<Record<string, number>>;
    /** Each member's store worker's V8 heap, by name. */
    readonly workerHeapBytes: Readonly<Record<string, number>>;
  } | null;
  readonly ops: Record<string, { count: number; errors: number; p50: number; p99: number }>;
}
const samples: Sample[] = [];
const scraper = delayScraperOf(system);
const operator = operatorAgentOf(system);
/** Each DB member's `GET /v1/status` (served where its metrics are). */
const statusUrls = system.metrics
  .filter((t) => t.kind === 'db')
  .map((t) => ({ name: t.name, url: new URL('/v1/status', t.url).href }));

/**
 * The image and remembered requests of a DB member that answers (they are replicas), and
 * every answering member's SQLite memory (each has its own).
 */
async function storeNow(): Promise<Sample['store']> {
  const answers = await Promise.all(
    statusUrls.map(async ({ name, url }) => {
      try {
        const res = await request(url, {
          dispatcher: operator,
          signal: AbortSignal.timeout(3_000),
        });
        const body = (await res.body.json()) as Partial<DbStatus>;
        return res.statusCode === 200 && body.store ? { name, store: body.store } : null;
      } catch {
        return null; // down or busy
      }
    }),
  );
  const answered = answers.filter((a) => a !== null);
  const first = answered[0]?.store;
  if (first === undefined) return null;
  return {
    dbBytes: first.dbBytes,
    rememberedRequests: first.rememberedRequests,
    sqlMemoryBytes: Object.fromEntries(answered.map((a) => [a.name, a.store.sqlMemoryBytes])),
    workerHeapBytes: Object.fromEntries(answered.map((a) => [a.name, a.store.heapBytes])),
  };
}
/** The daemons' pids now: one restarted by its runner is measured as it is now. */
function daemonPids(): Map<string, number> {
  const pids = new Map<string, number>();
  for (const [name, p] of system.processes) if (p.pid !== undefined) pids.set(name, p.pid);
  return pids;
}

async function sampleNow(): Promise<void> {
  const metrics = await scraper.read([HEAP_METRIC, EVENT_LOOP_DELAY_METRICS.max]);
  const heapMib = new Map<string, number>();
  const stallMs = new Map<string, number>();
  for (const [name, m] of metrics) {
    if (m[HEAP_METRIC] !== undefined)
      heapMib.set(name, Math.round(m[HEAP_METRIC] / 104_857.6) / 10);
    const stall = m[EVENT_LOOP_DELAY_METRICS.max];
    if (stall !== undefined) stallMs.set(name, Math.round(stall * 1000));
  }
  const ops: Sample['ops'] = {};
  for (const [kind, w] of current) {
    const sorted = [...w.latencies].sort((a, b) => a - b);
    ops[kind] = {
      count: sorted.length,
      errors: w.errors,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    };
  }
  current = new Map();
  const atMs = Math.round(performance.now() - startedAt);
  const store = await storeNow();
  samples.push({ atMs, rssMib: sampleRssMib(daemonPids()), heapMib, stallMs, store, ops });
  if (!values.json) {
    const total = [...(samples.at(-1)?.rssMib.values() ?? [])].reduce((a, b) => a + b, 0);
    const count = Object.values(ops).reduce((a, o) => a + o.count, 0);
    say(`${(atMs / 60_000).toFixed(1)} min: ${count} operations, ${Math.round(total)} MiB in all`);
  }
}

const stopOnSignal = () => {
  stopped = true;
};
process.once('SIGINT', stopOnSignal);
say(
  `${users} users for ${minutes} min (warm-up ${warmupMinutes} min), a sample every ${sampleSeconds} s…`,
);
await scraper.read([EVENT_LOOP_DELAY_METRICS.max]); // starts every process's stall window
const sampler = (async () => {
  while (running()) {
    await sleep(sampleSeconds * 1_000);
    await sampleNow();
  }
})();
await Promise.all([
  ...names.map((_, u) => user(u)),
  ...names.slice(0, Math.max(1, Math.floor(users / 4))).map((_, u) => stream(u)),
  sampler,
]);
await scraper.close();
await operator.close();
await dispatcher.close();
await system.stop();
if (!values.keep) rmSync(dataDir, { recursive: true, force: true });

/** The largest process of each kind, averaged over `window` samples (one GC does not decide). */
function largestByKind(span: readonly Sample[], of: (s: Sample) => Map<string, number>) {
  const perProcess = new Map<string, number[]>();
  for (const s of span) {
    for (const [name, v] of of(s)) {
      const values = perProcess.get(name) ?? [];
      perProcess.set(name, values);
      values.push(v);
    }
  }
  const kinds: Record<string, number> = {};
  for (const [name, vs] of perProcess) {
    const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
    const kind = roleOf(name);
    kinds[kind] = Math.max(kinds[kind] ?? 0, Math.round(mean * 10) / 10);
  }
  return kinds;
}

/** The largest value any process of each kind reached over `span`. */
function peakByKind(span: readonly Sample[], of: (s: Sample) => Map<string, number>) {
  const kinds: Record<string, number> = {};
  for (const s of span) {
    for (const [name, v] of of(s)) kinds[roleOf(name)] = Math.max(kinds[roleOf(name)] ?? 0, v);
  }
  return kinds;
}

const pct = (from: number, to: number) =>
  from > 0 ? Math.round(((to - from) / from) * 1000) / 10 : 0;
const counted = samples.filter((s) => s.atMs >= warmupMs);
const atWarmup = counted.slice(0, 3);
const atEnd = counted.slice(-3);
// A process's memory is a sawtooth (a DB member's swings by a fifth between major collections
// and snapshots, with periods of minutes), so growth compares the first and the last third of
// the counted minutes, each as a whole, not two instants that may fall on a tooth's foot and
// its tip. The growth between the first and last 15 s is reported too, as `endpointGrowthPct`.
const firstThird = counted.filter((s) => s.atMs < warmupMs + thirdMs);
const lastThird = counted.filter((s) => s.atMs >= warmupMs + 2 * thirdMs);
const rssWarm = largestByKind(firstThird, (s) => s.rssMib);
const rssEnd = largestByKind(lastThird, (s) => s.rssMib);
const peakWarm = peakByKind(firstThird, (s) => s.rssMib);
const peakEnd = peakByKind(lastThird, (s) => s.rssMib);
const endpointWarm = largestByKind(atWarmup, (s) => s.rssMib);
const endpointEnd = largestByKind(atEnd, (s) => s.rssMib);
const heapWarm = largestByKind(firstThird, (s) => s.heapMib);
const heapEnd = largestByKind(lastThird, (s) => s.heapMib);
const growth: Record<
  string,
  {
    rssWarmMib: number;
    rssEndMib: number;
    rssGrowthPct: number;
    peakWarmMib: number;
    peakEndMib: number;
    peakGrowthPct: number;
    endpointGrowthPct: number;
    heapWarmMib: number | null;
    heapEndMib: number | null;
    worstStallMs: number | null;
  }
> = {};
for (const kind of Object.keys(rssEnd).sort()) {
  const w = rssWarm[kind] ?? 0;
  const e = rssEnd[kind] ?? 0;
  let worstStall: number | null = null;
  for (const s of counted) {
    for (const [name, ms] of s.stallMs) {
      if (roleOf(name) === kind) worstStall = Math.max(worstStall ?? 0, ms);
    }
  }
  growth[kind] = {
    rssWarmMib: w,
    rssEndMib: e,
    rssGrowthPct: pct(w, e),
    peakWarmMib: Math.round((peakWarm[kind] ?? 0) * 10) / 10,
    peakEndMib: Math.round((peakEnd[kind] ?? 0) * 10) / 10,
    peakGrowthPct: pct(peakWarm[kind] ?? 0, peakEnd[kind] ?? 0),
    endpointGrowthPct: pct(endpointWarm[kind] ?? 0, endpointEnd[kind] ?? 0),
    heapWarmMib: heapWarm[kind] ?? null,
    heapEndMib: heapEnd[kind] ?? null,
    worstStallMs: worstStall,
  };
}
// Logins are left out of the trend: each is a deliberately slow scrypt (N = 2^14, p = 5), and a few
// of them decide any p99 they are in. They are reported apart, in `byKind`.
/** The latencies of a kept third (0: first, 1: last) of the kinds asked for, sorted. */
const third = (k: 0 | 1, kinds: (kind: OpKind) => boolean) =>
  [...thirds[k]]
    .filter(([kind]) => kinds(kind))
    .flatMap(([, ms]) => ms)
    .sort((a, b) => a - b);
const summary = (sorted: readonly number[]) => ({
  count: sorted.length,
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
});
const notLogin = (kind: OpKind) => kind !== 'login';
const trend = {
  firstThird: summary(third(0, notLogin)),
  lastThird: summary(third(1, notLogin)),
  byKind: Object.fromEntries(
    [...new Set([...thirds[0].keys(), ...thirds[1].keys()])].sort().map((kind) => [
      kind,
      {
        firstThird: summary(third(0, (k) => k === kind)),
        lastThird: summary(third(1, (k) => k === kind)),
      },
    ]),
  ),
};
function mibOf(bytes: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(bytes).map(([name, b]) => [name, Math.round(b / 104_857.6) / 10]),
  );
}
/** The store over `span` (the last sample that has it): its image in MiB, its remembered requests. */
function storeOf(span: readonly Sample[]) {
  const last = span.findLast((s) => s.store !== null)?.store;
  return last
    ? {
        dbMib: Math.round(last.dbBytes / 104_857.6) / 10,
        rememberedRequests: last.rememberedRequests,
        sqlMemoryMib: mibOf(last.sqlMemoryBytes),
        workerHeapMib: mibOf(last.workerHeapBytes),
      }
    : null;
}
const errors = samples.reduce(
  (a, s) => a + Object.values(s.ops).reduce((b, o) => b + o.errors, 0),
  0,
);
const report = {
  minutes,
  warmupMinutes,
  users,
  operations,
  errors,
  errorReasons: Object.fromEntries([...errorReasons].sort((a, b) => b[1] - a[1])),
  streamedEvents: streamed,
  streamOpens,
  ok:
    counted.length >= 3 &&
    Object.values(growth).every((g) => g.rssGrowthPct <= 10) &&
    trend.lastThird.p99Ms <= 1.5 * trend.firstThird.p99Ms + 20,
  growth,
  store: { atWarmup: storeOf(atWarmup), atEnd: storeOf(atEnd) },
  trend,
  // Per sample, the largest process of each kind: enough to draw the curves.
  samples: samples.map((s) => ({
    atS: Math.round(s.atMs / 1000),
    rssMib: largestByKind([s], (x) => x.rssMib),
    heapMib: largestByKind([s], (x) => x.heapMib),
    stallMs: largestByKind([s], (x) => x.stallMs),
    totalRssMib: Math.round([...s.rssMib.values()].reduce((a, b) => a + b, 0)),
    // The largest DB member's SQLite memory and store-worker heap: what of its RSS they are.
    ...(s.store
      ? {
          sqlMemoryMib: Math.max(...Object.values(mibOf(s.store.sqlMemoryBytes))),
          workerHeapMib: Math.max(...Object.values(mibOf(s.store.workerHeapBytes))),
        }
      : {}),
    operations: Object.values(s.ops).reduce((a, o) => a + o.count, 0),
    errors: Object.values(s.ops).reduce((a, o) => a + o.errors, 0),
  })),
};
if (!values.json) {
  for (const [kind, g] of Object.entries(growth)) {
    say(
      `  ${kind.padEnd(11)} ${g.rssWarmMib} → ${g.rssEndMib} MiB (${g.rssGrowthPct} %; peaks ${g.peakWarmMib} → ${g.peakEndMib}), worst stall ${g.worstStallMs} ms`,
    );
  }
  const [warm, end] = [storeOf(atWarmup), storeOf(atEnd)];
  say(`  store image ${warm?.dbMib ?? '?'} → ${end?.dbMib ?? '?'} MiB`);
  say(
    `  p99 ${trend.firstThird.p99Ms} → ${trend.lastThird.p99Ms} ms; ${operations} operations, ${errors} errors`,
  );
}
process.stdout.write(JSON.stringify(report) + '\n');
