import test from 'ava';
import { loadSqlJs } from '../kv/sql.js';
import { Simulation } from './simulator.js';

// CI runs a slice of seeds on every push; `npm run sim -- --seeds 500` runs the full sweep.
const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 40);

test(`the simulator finds no invariant violation over ${SEEDS} seeds`, async (t) => {
  t.timeout(240_000);
  const SQL = await loadSqlJs();
  const failures: string[] = [];
  let acked = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = new Simulation(seed, SQL).run();
    acked += r.stats.acked;
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? ''}\n${r.trace.slice(-40).join('\n')}`);
  }
  t.deepEqual(failures, []);
  t.true(acked > SEEDS * 20, 'runs make real progress, not just survive');
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
