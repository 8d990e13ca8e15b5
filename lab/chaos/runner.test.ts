/**
 * Whole scenarios against the real request path in one process (gateway, services, store;
 * `test-support.ts`) with a fake lab that plays each fault as an outage of known length:
 * the report must measure that outage, find no loss or duplicate when the system behaves,
 * and catch them when it does not. One test runs the load as a child process, as the lab
 * does. Serial: the measurements are about time, so the tests must not share the CPU.
 */
import test from 'ava';
import { noDelays } from '../event-loop-delay.js';
import { runChaos, type ChaosOptions, type ChaosReport } from './index.js';
import { childProcessLoad, inProcessLoad } from './load-session.js';
import { FakeLab, InProcessSystem, type FakeLabBehaviour } from './test-support.js';

/** Test ports 30400–30419. */
let nextPort = 30400;

const FAULT_MS = 1_200;
/** Generous: CI machines are slow and shared, and ops are retried every 50 ms. */
const SLACK_MS = 1_000;
/**
 * How much shorter than the fake outage a measured one may be: operations in flight at the
 * fault can still succeed a moment after it, and the outage is measured from the last success.
 */
const IN_FLIGHT_MS = 200;

async function scenario(
  name: string,
  behaviour: FakeLabBehaviour,
  options: Partial<ChaosOptions> = {},
): Promise<{ report: ChaosReport; lab: FakeLab; lines: string[]; row: Record<string, unknown> }> {
  const system = await InProcessSystem.start(nextPort++);
  try {
    const lab = new FakeLab(system, behaviour);
    const lines: string[] = [];
    const report = await runChaos(lab, {
      scenario: name,
      json: true,
      out: (line) => lines.push(line),
      progress: () => undefined,
      load: inProcessLoad,
      timing: { warmupMs: 400, firstWarmupMs: 0, faultMs: FAULT_MS, afterLiftMs: 400 },
      shape: { clients: 6, users: 3, attemptTimeoutMs: 400 },
      seed: 42,
      ...options,
    });
    const parsed = JSON.parse(lines.at(-1)!) as { scenarios: Record<string, unknown>[] };
    return { report, lab, lines, row: parsed.scenarios[0]! };
  } finally {
    await system.close();
  }
}

test.serial('a DB leader failover is measured, and loses and duplicates nothing', async (t) => {
  const { report, lab, row } = await scenario('db-leader-kill', { failoverMs: 600 });
  t.deepEqual(lab.calls, ['restore', 'kill db-3', 'restore']);
  t.true(report.pass);
  t.like(row, { name: 'db-leader-kill', lost: 0, duplicated: 0, linearizable: true, pass: true });
  t.true((row.acked as number) > 20, `acked ${String(row.acked)}`);
  const unavailable = row.unavailableMs as number;
  t.true(
    unavailable >= 600 - IN_FLIGHT_MS && unavailable < 600 + SLACK_MS,
    `unavailable ${unavailable}`,
  );
  t.true(report.scenarios[0]!.recovered === true);
});

test.serial(
  'killing the active gateway moves the address; retries with the same key apply once',
  async (t) => {
    const { lab, row } = await scenario('gateway-kill', { failoverMs: 700 });
    t.deepEqual(lab.calls, ['restore', 'kill gateway-1', 'restore']);
    t.like(row, { lost: 0, duplicated: 0, linearizable: true, targetMs: 2_000, pass: true });
    const unavailable = row.unavailableMs as number;
    t.true(
      unavailable >= 700 - IN_FLIGHT_MS && unavailable < 700 + SLACK_MS,
      `unavailable ${unavailable}`,
    );
  },
);

test.serial(
  'a paused leader is resumed while the load runs, and the whole pause is visible',
  async (t) => {
    const { lab, row } = await scenario('db-leader-pause', { failoverMs: 0 });
    t.deepEqual(lab.calls, ['restore', 'pause db-3', 'resume db-3', 'restore']);
    t.like(row, { lost: 0, duplicated: 0, linearizable: true });
    // This fake never fails over: nothing succeeds until the resume, FAULT_MS after the pause.
    const unavailable = row.unavailableMs as number;
    t.true(
      unavailable >= FAULT_MS - IN_FLIGHT_MS && unavailable < FAULT_MS + SLACK_MS,
      `${unavailable}`,
    );
  },
);

test.serial('a system that acknowledges writes it never applies is caught', async (t) => {
  const progress: string[] = [];
  const windows: [number, number][] = [];
  const before = Date.now();
  const { report, row } = await scenario(
    'vm1-crash',
    { failoverMs: 500, failoverMode: 'forget-writes' },
    {
      progress: (line) => progress.push(line),
      explain: (fromMs, toMs) => {
        windows.push([fromMs, toMs]);
        return ['12:00:00.000 db-1 a warning'];
      },
    },
  );
  t.false(report.pass);
  // The failed scenario is followed by what the processes logged while it ran.
  t.is(windows.length, 1);
  t.true(windows[0]![0] >= before && windows[0]![1] >= windows[0]![0]);
  t.deepEqual(progress.slice(-2), [
    'chaos: vm1-crash: what the processes warned about meanwhile:',
    '  12:00:00.000 db-1 a warning',
  ]);
  t.like(row, { duplicated: 0, linearizable: false, verdict: 'not_linearizable', pass: false });
  t.true((row.lost as number) > 0);
  t.regex(report.scenarios[0]!.explanation ?? '', /is not linearizable/);
});

test.serial('a system that applies a retried write twice is caught', async (t) => {
  const { report, row } = await scenario('vm2-crash', {
    failoverMs: 500,
    failoverMode: 'apply-twice',
  });
  t.false(report.pass);
  t.like(row, { lost: 0, linearizable: false, pass: false });
  t.true((row.duplicated as number) > 0);
});

test.serial('writes cut short by the end of the run are unknown, not lost', async (t) => {
  // The backend hangs past the end of the load: it never recovers while observed.
  const { report, row } = await scenario(
    'db-leader-kill',
    { failoverMs: 60_000, failoverMode: 'hang' },
    { timing: { warmupMs: 400, firstWarmupMs: 0, faultMs: 2_000 } },
  );
  const result = report.scenarios[0]!;
  t.like(row, { lost: 0, duplicated: 0, linearizable: true, recovered: false, pass: false });
  t.true((row.unknown as number) > 0, `unknown ${String(row.unknown)}`);
  // From the last success to the stop: operations in flight when the backend hung may still
  // have succeeded just after the fault, so a little less than the 2 s the load ran on.
  t.true((row.unavailableMs as number) >= 1_500, `unavailable ${String(row.unavailableMs)} ms`);
  t.is(result.error, undefined);
  t.regex(String(row.failures), /still unavailable when the load stopped/);
});

test.serial('the load also runs as a child process speaking the line protocol', async (t) => {
  const { lab, row } = await scenario(
    'vm1-isolate',
    { failoverMs: 0 },
    { load: childProcessLoad([]) },
  );
  t.deepEqual(lab.calls, ['restore', 'isolate vm1', 'heal', 'restore']);
  t.like(row, {
    lost: 0,
    duplicated: 0,
    linearizable: true,
    fault: 'isolated vm1 (VIP, Redis primary)',
  });
  t.true((row.acked as number) > 20, `acked ${String(row.acked)}`);
  t.true((row.unavailableMs as number) >= FAULT_MS - IN_FLIGHT_MS);
});

test.serial(
  'the event-loop delays read after a scenario (its window opened before it) are in its row',
  async (t) => {
    // The reading before the scenario (the lab's start-up, say) is not the scenario's.
    const before = { ...noDelays(), db: 8_900 };
    const reading = { ...noDelays(), gateway: 12.5, users: 40, supervisor: 3 };
    let readings = 0;
    const { report, lines, row } = await scenario(
      'gateway-kill',
      { failoverMs: 300 },
      {
        eventLoopDelays: () => {
          readings += 1;
          return Promise.resolve(readings === 1 ? before : reading);
        },
      },
    );
    t.is(readings, 2);
    t.deepEqual(row.eventLoopDelayWorstMs, reading);
    const parsed = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    t.deepEqual(parsed.eventLoopDelayWorstMs, reading);
    t.deepEqual(report.scenarios[0]!.eventLoopDelayWorstMs, reading);
  },
);

test.serial('a failed reading of the event-loop delays costs the figure only', async (t) => {
  const progress: string[] = [];
  const { report, lines, row } = await scenario(
    'gateway-kill',
    { failoverMs: 300 },
    {
      progress: (line) => progress.push(line),
      eventLoopDelays: () => Promise.reject(new Error('nobody answered')),
    },
  );
  // Not the scenario's error: its verdicts stand as measured.
  t.is(report.scenarios[0]!.error, undefined);
  t.false('eventLoopDelayWorstMs' in row);
  t.false('eventLoopDelayWorstMs' in (JSON.parse(lines.at(-1)!) as object));
  t.true(progress.some((line) => /no event-loop delays: Error: nobody answered/.test(line)));
});
