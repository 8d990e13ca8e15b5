/**
 * `npm run bench:import -- [--series 5000] [--readers 16] [--depth 2]
 * [--chunk-events 200] [--json]`: a big import while
 * others keep working. Starts the `npm start` topology in a temporary directory (stop
 * `npm start` first: they share ports), registers an importer and `readers` other users
 * with small calendars of their own, then imports a generated calendar of `series` yearly
 * series — birthdays and anniversaries (all-day) and yearly meetings (timed, in four zones
 * with their VTIMEZONEs), spread over the year, each with a UID, as Apple Calendar writes
 * them — through the CLI's own import code (split into requests, sent in order, retried
 * under the same key, `--depth` of them in flight: the CLI's two by default) while each
 * reader keeps listing its events and reading its agenda; then exports the importer's whole
 * agenda (`agenda export`'s call, streamed a page at a time) while they go on.
 *
 * The last line is one JSON object: `importSeconds`, `eventsCreated`, the readers'
 * `readsPerSec`, `readP50Ms`, `readP99Ms`, `readErrors`, `elections` (how many DB terms
 * began during the import, from the members' /v1/status before and after; `leaderBefore`,
 * `leaderAfter`), the worst event-loop delay of each kind of process during the import
 * (`worstEventLoopDelayMs`) and since it started (`eventLoopDelaySinceStartMs`: start-up
 * included); for the export, `exportSeconds`, `exportKB`, `exportEvents` and the same of the
 * readers and the DB under it (`exportReadP99Ms`, `exportElections`,
 * `exportWorstEventLoopDelayMs`, …); and `machine`, how fast the machine was before and
 * after (calibrate.ts). Targets: import ≤ 10 s, readers' p99 ≤ 500 ms during the import
 * and during the export, no election.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { AgendaApi } from '../../cli/http/agenda-api.js';
import { GatewayClient } from '../../cli/http/gateway-client.js';
import { SessionTokens } from '../../cli/http/session-tokens.js';
import { IMPORT_DEPTH, importInChunks } from '../../cli/import/chunked-import.js';
import { REQUEST_LIMITS, splitCalendar } from '../../cli/import/split-calendar.js';
import { yearlySeriesCalendar } from '../../server/store/yearly-calendar.js';
import { delayScraperOf, operatorAgentOf, startLocalSystem } from '../local/system.js';
import { LOAD_GENERATOR_LIMITS } from '../plan.js';
import { DB_MEMBERS } from '../local/topology.js';
import { storeApplyMicros } from './calibrate.js';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '5000' },
    readers: { type: 'string', default: '16' },
    depth: { type: 'string', default: String(IMPORT_DEPTH) },
    'chunk-events': { type: 'string', default: String(REQUEST_LIMITS.maxEvents) },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const series = Number(values.series);
const readers = Number(values.readers);
const depth = Number(values.depth);
const chunkEvents = Number(values['chunk-events']);
if (
  !Number.isInteger(series) ||
  series < 1 ||
  !Number.isInteger(readers) ||
  readers < 0 ||
  !Number.isInteger(depth) ||
  depth < 1 ||
  !Number.isInteger(chunkEvents) ||
  chunkEvents < 1 ||
  chunkEvents > REQUEST_LIMITS.maxEvents
) {
  process.stderr.write(
    `--series and --depth must be positive integers, --chunk-events one up to ${REQUEST_LIMITS.maxEvents}, --readers an integer ≥ 0\n`,
  );
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');

function percentile(sorted: readonly number[], p: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
  return Math.round(value * 10) / 10;
}

say('timing this machine on store work (see calibrate.ts)…');
const applyMicrosBefore = await storeApplyMicros();
const dataDir = mkdtempSync(join(tmpdir(), 'agenda-import-bench-'));
say(`starting the whole system in ${dataDir}…`);
// One process registers and logs in every user: the per-address abuse limits are raised.
const system = await startLocalSystem({ dataDir, say, abuseLimits: LOAD_GENERATOR_LIMITS });
const ca = readFileSync(system.ca, 'utf8');
const servers = system.gateways.map((g) => new URL(g));
const statusAgent = operatorAgentOf(system);
const clients: GatewayClient[] = [];

/** Each DB member's term and leader, as it says on /v1/status (null when it does not answer). */
async function dbTerms(): Promise<({ term: number; leader: number } | null)[]> {
  return Promise.all(
    DB_MEMBERS.map(async (m) => {
      try {
        const res = await request(`https://${m.api.host}:${m.api.port}/v1/status`, {
          dispatcher: statusAgent,
          headersTimeout: 2_000,
          bodyTimeout: 2_000,
        });
        const body = (await res.body.json()) as { member?: { term?: number; leader?: number } };
        const { term, leader } = body.member ?? {};
        return typeof term === 'number' && typeof leader === 'number' ? { term, leader } : null;
      } catch {
        return null;
      }
    }),
  );
}

/**
 * Registers and logs in `username`; an API client holding its session, which renews its
 * access token as it runs out (a long import outlasts one).
 */
async function signedIn(username: string): Promise<AgendaApi> {
  const anonymous = new GatewayClient({ servers, ca });
  clients.push(anonymous);
  const api = new AgendaApi(anonymous);
  const password = `password-of-${username}`;
  await api.register({ username, password });
  const token = new SessionTokens({
    tokens: await api.login({ username, password }),
    renew: (refreshToken, signal, _within, key) =>
      api.refreshSession(refreshToken, signal, undefined, key),
  });
  const gateway = new GatewayClient({
    servers,
    ca,
    token,
    timeoutMs: 30_000,
    readDeadlineMs: 30_000,
  });
  clients.push(gateway);
  return new AgendaApi(gateway);
}

let report: Record<string, unknown>;
try {
  const year = new Date().getUTCFullYear();
  say(`registering the importer and ${readers} readers with small calendars…`);
  const importer = await signedIn('importer');
  const readerApis: AgendaApi[] = [];
  for (let r = 0; r < readers; r++) {
    const api = await signedIn(`reader-${r}`);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    for (let e = 0; e < 5; e++) {
      const start = new Date(hour + (e + 1) * 86_400_000 + r * 60_000).toISOString();
      await api.createEvent({ title: `reader ${r} event ${e}`, start, duration: '1h' });
    }
    readerApis.push(api);
  }
  const calendar = yearlySeriesCalendar(series, year);
  const split = splitCalendar(calendar, { ...REQUEST_LIMITS, maxEvents: chunkEvents });
  say(
    `importing ${series} yearly series (${Math.round(Buffer.byteLength(calendar) / 1024)} KB, ${split.chunks.length} requests) while ${readers} readers read…`,
  );

  const scraper = delayScraperOf(system);
  // Starts every process's window: the next reading is the import's (lab/event-loop-delay.ts).
  await scraper.scrape(undefined, { since: 'previous-scrape' });
  const termsBefore = await dbTerms();
  // The readers' latencies while the import runs, then while the importer exports it all.
  const latencies = { import: [] as number[], export: [] as number[] };
  const readErrors = { import: 0, export: 0 };
  let phase: 'import' | 'export' | 'done' = 'import';
  // Whole seconds: the API refuses instants finer than that.
  const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const interval = {
    from: new Date(today).toISOString(),
    to: new Date(today + 7 * 86_400_000).toISOString(),
  };
  const readerLoops = readerApis.map(async (api, r) => {
    for (let n = 0; phase !== 'done'; n++) {
      const during = phase;
      const t0 = performance.now();
      try {
        if (n % 2 === 0) await api.listEvents(interval);
        else await api.agendas({ users: [`reader-${r}`] }, interval);
        latencies[during].push(performance.now() - t0);
      } catch {
        readErrors[during]++;
        // A failing reader must not spin: it would be load of its own.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  const started = performance.now();
  let lastSaid = 0;
  const imported = await importInChunks(importer, split, {
    allowConflict: true,
    timeZone: 'UTC',
    depth,
    onProgress: ({ done, total }) => {
      if (done - lastSaid >= 1000 || done === total) {
        lastSaid = done;
        say(
          `  ${done}/${total} events after ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      }
    },
  });
  const importSeconds = (performance.now() - started) / 1000;
  const during = await scraper.scrape(undefined, { since: 'previous-scrape' });
  const termsAfter = await dbTerms();

  // The whole agenda back out, a page at a time (server/store/export-pages.ts), while the
  // readers go on reading: one export must not hold up anyone else's reads.
  say(`exporting the importer's ${series} series while the readers read…`);
  phase = 'export';
  const exportStarted = performance.now();
  const exported = await importer.exportCalendar({});
  const exportSeconds = (performance.now() - exportStarted) / 1000;
  phase = 'done';
  await Promise.all(readerLoops);
  const duringExport = await scraper.scrape(undefined, { since: 'previous-scrape' });
  const termsAfterExport = await dbTerms();
  const maxTerm = (terms: typeof termsBefore) => Math.max(0, ...terms.map((t) => t?.term ?? 0));
  const leaderOf = (terms: typeof termsBefore) =>
    terms.find((t) => t !== null && t.leader !== 0)?.leader ?? null;

  const sinceStart = await scraper.scrape().finally(() => scraper.close());

  latencies.import.sort((a, b) => a - b);
  latencies.export.sort((a, b) => a - b);
  const count = (action: string) =>
    imported.answer.events.filter((e) => e.action === action).length;
  report = {
    importSeconds: Math.round(importSeconds * 100) / 100,
    series,
    requests: split.chunks.length,
    depth,
    chunkEvents,
    eventsCreated: count('created'),
    eventsUpdated: count('updated'),
    eventsUnchanged: count('unchanged'),
    eventsFailed: imported.answer.failed.length,
    stoppedBy:
      imported.stoppedBy === null
        ? null
        : imported.stoppedBy.kind === 'interrupt'
          ? 'interrupt'
          : imported.stoppedBy.error.message,
    readers,
    readsPerSec: Math.round((latencies.import.length / importSeconds) * 10) / 10,
    readP50Ms: percentile(latencies.import, 50),
    readP99Ms: percentile(latencies.import, 99),
    reads: latencies.import.length,
    readErrors: readErrors.import,
    elections: maxTerm(termsAfter) - maxTerm(termsBefore),
    leaderBefore: leaderOf(termsBefore),
    leaderAfter: leaderOf(termsAfter),
    worstEventLoopDelayMs: during.worstMs,
    exportSeconds: Math.round(exportSeconds * 100) / 100,
    exportKB: Math.round(Buffer.byteLength(exported) / 1024),
    exportEvents: exported.match(/^BEGIN:VEVENT\r$/gm)?.length ?? 0,
    exportReadP50Ms: percentile(latencies.export, 50),
    exportReadP99Ms: percentile(latencies.export, 99),
    exportReads: latencies.export.length,
    exportReadErrors: readErrors.export,
    exportElections: maxTerm(termsAfterExport) - maxTerm(termsAfter),
    exportWorstEventLoopDelayMs: duringExport.worstMs,
    eventLoopDelaySinceStartMs: sinceStart.worstMs,
    targets: { importSeconds: 10, readP99Ms: 500, elections: 0, exportReadP99Ms: 500 },
  };
} finally {
  await Promise.allSettled(clients.map((c) => c.close()));
  await statusAgent.close();
  await system.stop();
}
report = {
  ...report,
  machine: {
    storeApplyMicrosBefore: applyMicrosBefore,
    storeApplyMicrosAfter: await storeApplyMicros(),
  },
};
if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
if (!values.json) say(JSON.stringify(report, null, 2));
process.stdout.write(JSON.stringify(report) + '\n');
