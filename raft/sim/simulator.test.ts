import test from 'ava';
import { loadSqlJs } from '../kv/sql.js';
import { Simulation, type SimResult } from './simulator.js';

// CI runs a slice of seeds on every push; `npm run sim -- --seeds 500` runs the full sweep.
const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 40);

test(`the simulator finds no invariant violation over ${SEEDS} seeds, and reaches every fault class`, async (t) => {
  t.timeout(240_000);
  const SQL = await loadSqlJs();
  const failures: string[] = [];
  const totals: Record<string, number> = {};
  let acked = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = new Simulation(seed, SQL).run();
    acked += r.stats.acked;
    for (const [k, v] of Object.entries(r.stats) as [keyof SimResult['stats'], number][])
      totals[k] = (totals[k] ?? 0) + v;
    if (!r.ok || r.historyVerdict !== 'linearizable')
      failures.push(
        `seed ${seed}: ${r.failure ?? r.historyVerdict}\n${r.trace.slice(-40).join('\n')}`,
      );
  }
  t.deepEqual(failures, []);
  t.true(acked > SEEDS * 20, 'runs make real progress, not just survive');
  // The faults of issue 12 happen, not only exist as knobs.
  for (const k of [
    'wipes',
    'wipesBeforeLeaderSnapshot',
    'singleVoterPhases',
    'quickRestarts',
    'bitFlips',
    'membershipChanges',
  ]) {
    t.true((totals[k] ?? 0) > 0, `${k} happened`);
  }
  // A flipped member may be wiped by another replacement before it restarts; none starts.
  t.true((totals.corruptionRefused ?? 0) > 0, 'members refused to start on bit rot');
});

test('a seed replays exactly', async (t) => {
  const SQL = await loadSqlJs();
  const a = new Simulation(12345, SQL);
  const ra = a.run();
  const b = new Simulation(12345, SQL);
  const rb = b.run();
  t.deepEqual(ra.stats, rb.stats);
  t.is(a.fingerprint(), b.fingerprint());
  const c = new Simulation(12346, SQL);
  c.run();
  t.not(c.fingerprint(), a.fingerprint(), 'another seed takes another path');
});

test('a linearizability check that runs out of its budget fails the run', async (t) => {
  const SQL = await loadSqlJs();
  const r = new Simulation(3, SQL, undefined, { checkBudgetMs: 0 }).run();
  t.false(r.ok);
  t.regex(r.failure ?? '', /ran out of its 0 ms budget/);
});
