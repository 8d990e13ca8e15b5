/**
 * The write accounting (acked, lost, duplicated against the agendas read back) and what the
 * report shows: the JSON line the issue specifies and the human table with the reasons.
 */
import test from 'ava';
import { noDelays } from '../event-loop-delay.js';
import type { OpRecord } from './protocol.js';
import {
  failuresOf,
  humanReport,
  jsonReport,
  jsonRow,
  tallyWrites,
  type ScenarioResult,
} from './report.js';

function create(user: string, title: string, outcome: 'acked' | 'unknown' | 'refused'): OpRecord {
  const base = { kind: 'create', client: 0, user, title, call: 1 } as const;
  switch (outcome) {
    case 'acked':
      return { ...base, outcome, return: 2, attempts: 2 };
    case 'unknown':
      return { ...base, outcome, attempts: 1, error: 'timeout' };
    case 'refused':
      return { ...base, outcome, return: 2, attempts: 1, error: '400 invalid' };
  }
}

test('acked, lost, duplicated and the rest are counted against the agendas read back', (t) => {
  const records: OpRecord[] = [
    create('ann', 'a1', 'acked'),
    create('ann', 'a2', 'acked'), // lost
    create('ann', 'a3', 'acked'), // applied twice
    create('ann', 'a4', 'unknown'), // applied
    create('ann', 'a5', 'unknown'), // not applied: neither lost nor wrong
    create('bob', 'a1', 'acked'), // same title, other user: independent
    create('bob', 'b2', 'refused'),
    { kind: 'read', client: 1, user: 'ann', call: 0, outcome: 'ok', return: 1, titles: [] },
  ];
  const tally = tallyWrites(records, [
    { user: 'ann', call: 10, return: 11, titles: ['a1', 'a3', 'a4', 'a3', 'ghost'] },
    { user: 'bob', call: 10, return: 11, titles: ['a1'] },
  ]);
  t.deepEqual(tally, {
    acked: 4,
    lost: 1,
    duplicated: 1,
    unknown: 2,
    unknownApplied: 1,
    refused: 1,
    phantom: 1,
    examples: { lost: ['a2'], duplicated: ['a3'], phantom: ['ghost'] },
  });
});

test('a refused create that shows up anyway is counted as a phantom', (t) => {
  const tally = tallyWrites(
    [create('ann', 'x', 'refused')],
    [{ user: 'ann', call: 0, return: 1, titles: ['x'] }],
  );
  t.like(tally, { acked: 0, lost: 0, refused: 1, phantom: 1 });
});

test('a user whose agenda is missing from the read-back has lost every acked write', (t) => {
  t.like(tallyWrites([create('ann', 'a', 'acked')], []), { acked: 1, lost: 1 });
});

function result(overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name: 'db-leader-kill',
    fault: 'killed db-3 (DB leader)',
    targetMs: 1_500,
    unavailableMs: 812.4,
    writeUnavailableMs: 830.9,
    recovered: true,
    writes: tallyWrites(
      [create('ann', 'a', 'acked')],
      [{ user: 'ann', call: 0, return: 1, titles: ['a'] }],
    ),
    reads: 10,
    failedReads: 2,
    verdict: 'linearizable',
    seed: 7,
    ...overrides,
  };
}

test('the JSON line starts with the fields the issue names, rounded, then the extras', (t) => {
  const line = jsonReport([result()]);
  const parsed = JSON.parse(line) as { scenarios: Record<string, unknown>[] };
  t.deepEqual(Object.keys(parsed), ['scenarios']);
  const row = parsed.scenarios[0]!;
  t.deepEqual(Object.keys(row).slice(0, 6), [
    'name',
    'unavailableMs',
    'acked',
    'lost',
    'duplicated',
    'linearizable',
  ]);
  t.like(row, {
    name: 'db-leader-kill',
    unavailableMs: 812,
    acked: 1,
    lost: 0,
    duplicated: 0,
    linearizable: true,
    targetMs: 1_500,
    pass: true,
    writeUnavailableMs: 831,
  });
  t.false('failures' in row);
});

test('a scenario fails on each missed target, and says why', (t) => {
  t.deepEqual(failuresOf(result()), []);
  t.deepEqual(failuresOf(result({ unavailableMs: 1_600, recovered: false })), [
    'unavailable 1600 ms > 1500 ms, and still unavailable when the load stopped',
  ]);
  const lossy = result({
    verdict: 'not_linearizable',
    writes: tallyWrites(
      [create('ann', 'a', 'acked'), create('ann', 'b', 'acked')],
      [{ user: 'ann', call: 0, return: 1, titles: ['b', 'b'] }],
    ),
  });
  t.deepEqual(failuresOf(lossy), [
    '1 acknowledged writes lost (a)',
    '1 writes applied more than once (b)',
    'history not linearizable',
  ]);
  // A check that ran out of budget is not a pass.
  const row = jsonRow(result({ verdict: 'timeout' }));
  t.like(row, { linearizable: false, pass: false, verdict: 'timeout' });
});

test('a scenario that could not be carried out reports its error and no measurements', (t) => {
  const failed = result({
    fault: '',
    targetMs: null,
    unavailableMs: null,
    writeUnavailableMs: null,
    recovered: null,
    writes: null,
    verdict: null,
    error: 'the lab did not know the dbLeader within 15000 ms',
  });
  t.like(jsonRow(failed), {
    unavailableMs: null,
    acked: null,
    lost: null,
    duplicated: null,
    linearizable: false,
    pass: false,
    failures: ['error: the lab did not know the dbLeader within 15000 ms'],
  });
});

test('the human report is a table, then the reasons and explanation of each failure', (t) => {
  const lines = humanReport([
    result(),
    result({
      name: 'gateway-kill',
      targetMs: 2_000,
      unavailableMs: 2_500,
      verdict: 'not_linearizable',
      explanation: 'Key "ann" is not linearizable (2 operations).',
    }),
  ]);
  t.regex(
    lines[0]!,
    /^scenario\s+fault\s+unavailable\s+target\s+acked\s+lost\s+dup\s+linearizable\s+result$/,
  );
  t.regex(
    lines[1]!,
    /^db-leader-kill\s+killed db-3 \(DB leader\)\s+812 ms\s+1500 ms\s+1\s+0\s+0\s+yes\s+PASS$/,
  );
  t.regex(lines[2]!, /^gateway-kill .*2500 ms\s+2000 ms .*not_linearizable\s+FAIL$/);
  t.true(lines.includes('gateway-kill failed:'));
  t.true(lines.includes('  - unavailable 2500 ms > 2000 ms'));
  t.true(lines.includes('    Key "ann" is not linearizable (2 operations).'));
  t.is(lines.at(-1), '1 of 2 scenarios passed');
});

test('each reading of the event-loop delays is in its row; the run reports the worst of them', (t) => {
  const first = { ...noDelays(), gateway: 12, users: 40, groups: 7 };
  const second = { ...noDelays(), gateway: 31, users: 9, supervisor: 2 };
  const results = [
    result({ eventLoopDelayWorstMs: first }),
    result({ name: 'gateway-kill', eventLoopDelayWorstMs: second }),
  ];
  const parsed = JSON.parse(jsonReport(results)) as {
    scenarios: Record<string, unknown>[];
    eventLoopDelayWorstMs: unknown;
  };
  t.deepEqual(parsed.scenarios[0]!.eventLoopDelayWorstMs, first);
  t.deepEqual(parsed.scenarios[1]!.eventLoopDelayWorstMs, second);
  const worst = { gateway: 31, users: 40, groups: 7, supervisor: 2, 'vip-agent': null, db: null };
  t.deepEqual(parsed.eventLoopDelayWorstMs, worst);
  const lines = humanReport(results);
  t.true(
    lines.includes(
      'worst event-loop delay: gateway 31 ms, users 40 ms, groups 7 ms, supervisor 2 ms, vip-agent -, db -',
    ),
  );
  t.is(lines.at(-1), '2 of 2 scenarios passed');
});
