/**
 * Which fault each scenario injects on whom, the bound it is held to, and how the runner
 * refuses an unknown scenario and reports one it could not carry out.
 */
import test from 'ava';
import type { LabDriver, LabFacts, LabHost, MemberReplacement } from '../driver.js';
import { runChaos } from './index.js';
import type { LoadLauncher } from './load-session.js';
import {
  hostOf,
  hostTargetMs,
  SCENARIO_NAMES,
  SCENARIOS,
  selectScenarios,
  UnknownScenarioError,
} from './scenarios.js';
import { hostileProblems } from './hostile-scenario.js';

const FACTS: LabFacts = {
  dbLeader: 'db-4',
  dbTerm: 3,
  redisPrimary: 'redis-2',
  vipOwner: 'vm1',
  activeGateway: 'gateway-1',
};

/** A lab that only records what it is asked to do. */
class RecordingLab implements LabDriver {
  readonly vipUrl = 'https://10.0.0.1:8443';
  readonly caPath = '/nonexistent/ca.pem';
  readonly clientPrefix = ['ip', 'netns', 'exec', 'client'];
  readonly calls: string[] = [];

  constructor(private readonly known: LabFacts = FACTS) {}

  private record(call: string): Promise<void> {
    this.calls.push(call);
    return Promise.resolve();
  }

  kill = (process: string) => this.record(`kill ${process}`);
  crash = (host: LabHost) => this.record(`crash ${host}`);
  partition = (a: LabHost, b: LabHost) => this.record(`partition ${a} ${b}`);
  isolate = (host: LabHost) => this.record(`isolate ${host}`);
  heal = () => this.record('heal');
  pause = (process: string) => this.record(`pause ${process}`);
  resume = (process?: string) => this.record(`resume ${process ?? 'all'}`);
  restore = () => this.record('restore');
  facts = () => Promise.resolve(this.known);
  replaced: MemberReplacement = {
    replaced: true,
    durationMs: 9_000,
    terms: [3],
    steps: [],
    voters: [1, 2, 3, 4, 5],
  };
  replaceMember = async (process: string) => {
    await this.record(`replace ${process}`);
    return this.replaced;
  };
}

async function injected(name: string, facts: LabFacts = FACTS) {
  const lab = new RecordingLab(facts);
  const [scenario] = selectScenarios(name);
  const injection = await scenario!.inject(lab, facts);
  const injectedCalls = [...lab.calls];
  await injection.lift?.();
  return { injection, injectedCalls, liftCalls: lab.calls.slice(injectedCalls.length) };
}

test('the seven fault scenarios and the hostile workload run by default, in their order', (t) => {
  t.deepEqual(SCENARIO_NAMES, [
    'db-leader-kill',
    'vm1-crash',
    'vm2-crash',
    'redis-primary-kill',
    'gateway-kill',
    'vm1-isolate',
    'db-leader-pause',
    'hostile-workload',
  ]);
  t.is(SCENARIOS.length, 8);
  t.deepEqual(
    selectScenarios('hostile-workload').map((s) => s.name),
    ['hostile-workload'],
  );
});

test('replace-member runs only when named, replaces the follower after the leader, and finds what is left wrong', async (t) => {
  t.false(SCENARIO_NAMES.includes('replace-member'));
  const lab = new RecordingLab();
  const [scenario] = selectScenarios('replace-member');
  const facts = await lab.facts();
  const injection = await scenario!.inject(lab, facts);
  t.deepEqual(lab.calls, ['replace db-5']);
  t.is(injection.fault, 'replaced db-5 (a follower; db-4 leads)');
  t.is(injection.targetMs, 1_500);
  await injection.lift?.();
  t.deepEqual((await injection.findings?.())?.problems, []);

  const bad = new RecordingLab({ ...FACTS, dbLeader: 'db-5' });
  bad.replaced = { ...bad.replaced, terms: [3, 4, 5], voters: [2, 3, 4, 5] };
  const second = await scenario!.inject(bad, await bad.facts());
  t.deepEqual(bad.calls, ['replace db-1']);
  await second.lift?.();
  t.deepEqual((await second.findings?.())?.problems, [
    'member 1 is not a voter at the end',
    '4 voters at the end, not 5',
    '2 elections during the replacement (terms 3, 4, 5)',
  ]);
});

test('each scenario hits the role holder the lab names at injection time', async (t) => {
  t.like(await injected('db-leader-kill'), {
    injectedCalls: ['kill db-4'],
    injection: { fault: 'killed db-4 (DB leader)', targetMs: 1_500, lift: null },
  });
  t.like(await injected('redis-primary-kill'), {
    injectedCalls: ['kill redis-2'],
    injection: { fault: 'killed redis-2 (Redis primary)', targetMs: 3_000 },
  });
  t.like(await injected('gateway-kill', { ...FACTS, activeGateway: 'gateway-2' }), {
    injectedCalls: ['kill gateway-2'],
    injection: { fault: 'killed gateway-2 (active gateway)', targetMs: 2_000 },
  });
  t.like(await injected('vm1-crash'), {
    injectedCalls: ['crash vm1'],
    injection: { fault: 'crashed vm1 (VIP)', targetMs: 2_000, lift: null },
  });
  t.like(await injected('vm2-crash'), {
    injectedCalls: ['crash vm2'],
    injection: { fault: 'crashed vm2 (Redis primary)', targetMs: 3_000 },
  });
});

test('network faults and pauses are lifted while the load still runs', async (t) => {
  t.like(await injected('vm1-isolate'), {
    injectedCalls: ['isolate vm1'],
    liftCalls: ['heal'],
    injection: { fault: 'isolated vm1 (VIP)', targetMs: 2_000 },
  });
  t.like(await injected('db-leader-pause'), {
    injectedCalls: ['pause db-4'],
    liftCalls: ['resume db-4'],
    injection: { fault: 'paused db-4 (DB leader)', targetMs: 1_500 },
  });
});

test('losing a host is held to the largest bound among the roles it held', (t) => {
  const none: LabFacts = {
    dbLeader: null,
    dbTerm: null,
    redisPrimary: null,
    vipOwner: null,
    activeGateway: null,
  };
  t.is(hostTargetMs('vm3', FACTS), 1_500);
  t.is(hostTargetMs('vm1', none), 1_500);
  t.is(hostTargetMs('vm1', FACTS), 2_000);
  t.is(hostTargetMs('vm1', { ...FACTS, redisPrimary: 'redis-1' }), 3_000);
  t.is(hostOf('gateway-2'), 'vm2');
  t.is(hostOf('vip-1'), 'vm1');
  t.is(hostOf('db-2'), null);
});

test('an unknown scenario is refused before the lab is touched, with the list of names', async (t) => {
  t.throws(() => selectScenarios('db-leader-explode'), { instanceOf: UnknownScenarioError });
  const lab = new RecordingLab();
  const error = await t.throwsAsync(runChaos(lab, { scenario: 'nope', json: true }), {
    instanceOf: UnknownScenarioError,
  });
  t.is(error?.code, 'invalid');
  t.is(
    error?.message,
    'unknown chaos scenario "nope"; the scenarios are: db-leader-kill, vm1-crash, vm2-crash, ' +
      'redis-primary-kill, gateway-kill, vm1-isolate, db-leader-pause, hostile-workload; ' +
      'named only: replace-member',
  );
  t.deepEqual(lab.calls, []);
});

test('a scenario that cannot find its target is reported failed, and the lab restored', async (t) => {
  const lab = new RecordingLab({ ...FACTS, dbLeader: null });
  let closed = 0;
  const idleLoad: LoadLauncher = () => ({
    ready: () => Promise.resolve(0),
    stop: () => Promise.resolve(0),
    readBack: () => Promise.resolve([]),
    close: () => {
      closed += 1;
      return Promise.resolve();
    },
  });
  const lines: string[] = [];
  const report = await runChaos(lab, {
    scenario: 'db-leader-pause',
    json: true,
    out: (line) => lines.push(line),
    progress: () => undefined,
    load: idleLoad,
    timing: { warmupMs: 0, firstWarmupMs: 0, factsTimeoutMs: 300 },
  });
  t.false(report.pass);
  t.is(closed, 1);
  t.deepEqual(lab.calls, ['restore', 'restore']);
  const row = (JSON.parse(lines.at(-1)!) as { scenarios: Record<string, unknown>[] }).scenarios[0];
  t.like(row, {
    name: 'db-leader-pause',
    unavailableMs: null,
    linearizable: false,
    pass: false,
    failures: ['error: the lab did not know the dbLeader within 300 ms'],
  });
});

test('the hostile workload fails on an election, an unfinished import or export, a 5xx or a slow answer', (t) => {
  const report = {
    username: 'hostile-1',
    importSeconds: 4.2,
    imported: { created: 4_990, updated: 0, unchanged: 10 },
    importFailed: 0,
    importStoppedBy: null,
    requests: [
      { what: 'list 2030', answer: 'ok', ms: 300 },
      { what: 'create: never occurs', answer: 'invalid', ms: 20 },
    ],
    exported: { what: 'export everything', answer: 'ok', ms: 6_000, events: 5_012, kb: 3_100 },
  };
  const leader = { dbLeader: 'db-2', dbTerm: 4 };
  t.deepEqual(hostileProblems(report, leader, leader), []);
  t.deepEqual(hostileProblems(report, leader, { dbLeader: 'db-2', dbTerm: 5 }), [
    'a DB election happened: db-2 in term 4 before, db-2 in term 5 after',
  ]);
  t.deepEqual(
    hostileProblems(
      {
        ...report,
        imported: { created: 10, updated: 0, unchanged: 0 },
        importStoppedBy: 'the login expired',
        requests: [{ what: 'list 2199', answer: 'unavailable', ms: 9_000 }],
        exported: { ...report.exported, events: 10, ms: 31_000 },
      },
      leader,
      leader,
    ),
    [
      'the import stopped early: the login expired',
      'the import placed 10 of 5000 series (0 failed)',
      'list 2199: answered unavailable',
      'list 2199: took 9000 ms (at most 5000)',
      'the export held 10 events, fewer than the 5000 imported',
      'the export took 31000 ms (at most 30000)',
    ],
  );
  t.deepEqual(
    hostileProblems(
      { ...report, exported: { ...report.exported, answer: 'unavailable' } },
      leader,
      leader,
    ),
    ['the export answered unavailable'],
  );
});
