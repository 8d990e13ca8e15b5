/**
 * The chaos scenarios: which fault each injects, on whom (chosen from the lab's facts at the
 * moment of injection, so "the leader" is the leader then), how it is lifted, and the
 * client-visible unavailability it may cause (MISSION §5).
 */
import { InvalidInput } from '../../contract/errors.js';
import type { LabDriver, LabFacts, LabHost, MemberReplacement } from '../driver.js';
import { hostileWorkload } from './hostile-scenario.js';

/** The unavailability bounds of MISSION §5, by what was lost. */
export const UNAVAILABILITY_TARGETS_MS = {
  dbLeader: 1_500,
  gateway: 2_000,
  redisPrimary: 3_000,
} as const;

/** A fault in place. */
export interface Injection {
  /** What was done, for the report: `killed db-3 (the DB leader)`. */
  readonly fault: string;
  /** The longest unavailability this fault may cause. */
  readonly targetMs: number;
  /**
   * Lifts the fault while the load still runs (network faults, pauses), so the report sees
   * the return too; null when only `driver.restore()` can undo it (a kill, a crash).
   */
  readonly lift: (() => Promise<void>) | null;
  /**
   * What the fault itself found wrong, asked once the load has stopped and before the lab is
   * restored (a workload scenario's own outcome, the elections it caused), with figures for
   * the report. Absent: the load's verdicts say everything.
   */
  readonly findings?: () => Promise<{
    readonly problems: readonly string[];
    readonly details: Readonly<Record<string, unknown>>;
  }>;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The fact the target is chosen from; the runner waits for the lab to know it. */
  readonly needs: ReadonlyArray<keyof LabFacts>;
  inject(driver: LabDriver, facts: LabFacts): Promise<Injection>;
}

/** The host a process runs on, for the processes whose name says it (`redis-1` → vm1). */
export function hostOf(process: string): LabHost | null {
  const match = /^(?:redis|users|groups|gateway|supervisor|vip)-([123])$/.exec(process);
  return match === null ? null : (`vm${match[1]}` as LabHost);
}

/**
 * The bound for losing a whole host: the largest bound among the roles it held. The DB
 * leader's bound is the floor, since any host may hold it (DB placement is the lab's).
 */
export function hostTargetMs(host: LabHost, facts: LabFacts): number {
  let target: number = UNAVAILABILITY_TARGETS_MS.dbLeader;
  if (facts.vipOwner === host) target = Math.max(target, UNAVAILABILITY_TARGETS_MS.gateway);
  if (facts.redisPrimary !== null && hostOf(facts.redisPrimary) === host) {
    target = Math.max(target, UNAVAILABILITY_TARGETS_MS.redisPrimary);
  }
  return target;
}

/** What a host held, for the report: `vm1 (VIP, Redis primary)`. */
function hostRoles(host: LabHost, facts: LabFacts): string {
  const roles: string[] = [];
  if (facts.vipOwner === host) roles.push('VIP');
  if (facts.redisPrimary !== null && hostOf(facts.redisPrimary) === host) {
    roles.push('Redis primary');
  }
  return roles.length === 0 ? host : `${host} (${roles.join(', ')})`;
}

/** The fact a scenario needs, which the runner made sure is known. */
function required(facts: LabFacts, fact: 'dbLeader' | 'redisPrimary' | 'activeGateway'): string {
  const value = facts[fact];
  if (value === null) throw new Error(`the lab does not know the ${fact}`);
  return value;
}

function hostCrash(host: LabHost): Scenario {
  return {
    name: `${host}-crash`,
    description: `crash ${host}: every process on it dies at once and it leaves the network`,
    needs: [],
    async inject(driver, facts) {
      await driver.crash(host);
      return {
        fault: `crashed ${hostRoles(host, facts)}`,
        targetMs: hostTargetMs(host, facts),
        lift: null,
      };
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'db-leader-kill',
    description: 'SIGKILL the DB leader',
    needs: ['dbLeader'],
    async inject(driver, facts) {
      const leader = required(facts, 'dbLeader');
      await driver.kill(leader);
      return {
        fault: `killed ${leader} (DB leader)`,
        targetMs: UNAVAILABILITY_TARGETS_MS.dbLeader,
        lift: null,
      };
    },
  },
  hostCrash('vm1'),
  hostCrash('vm2'),
  {
    name: 'redis-primary-kill',
    description: 'SIGKILL the Redis primary',
    needs: ['redisPrimary'],
    async inject(driver, facts) {
      const primary = required(facts, 'redisPrimary');
      await driver.kill(primary);
      return {
        fault: `killed ${primary} (Redis primary)`,
        targetMs: UNAVAILABILITY_TARGETS_MS.redisPrimary,
        lift: null,
      };
    },
  },
  {
    name: 'gateway-kill',
    description: 'SIGKILL the active gateway, the one the VIP points at',
    needs: ['activeGateway'],
    async inject(driver, facts) {
      const gateway = required(facts, 'activeGateway');
      await driver.kill(gateway);
      return {
        fault: `killed ${gateway} (active gateway)`,
        targetMs: UNAVAILABILITY_TARGETS_MS.gateway,
        lift: null,
      };
    },
  },
  {
    name: 'vm1-isolate',
    description: 'cut vm1 off the network (both ways), then heal',
    needs: [],
    async inject(driver, facts) {
      await driver.isolate('vm1');
      return {
        fault: `isolated ${hostRoles('vm1', facts)}`,
        targetMs: hostTargetMs('vm1', facts),
        lift: () => driver.heal(),
      };
    },
  },
  {
    name: 'db-leader-pause',
    description: 'SIGSTOP the DB leader, SIGCONT it later',
    needs: ['dbLeader'],
    async inject(driver, facts) {
      const leader = required(facts, 'dbLeader');
      await driver.pause(leader);
      return {
        fault: `paused ${leader} (DB leader)`,
        targetMs: UNAVAILABILITY_TARGETS_MS.dbLeader,
        lift: () => driver.resume(leader),
      };
    },
  },
  // Last: the 5,000 series it leaves behind would make the fault scenarios' snapshots and
  // restores bigger than the ones their targets were set for.
  hostileWorkload,
];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((scenario) => scenario.name);

/**
 * Replaces a DB follower as an operator would after losing its disk, under the load: the
 * `agenda cluster member replace` command removes it, has the lab wipe it and start it
 * joining, adds it as a learner, waits until it caught up and promotes it. The "fault" lasts
 * as long as the replacement; its lift waits for the end, and the load runs on after. The
 * DB must stay as available as when its leader is lost, at worst (one election), and end
 * with all five voters.
 */
export const replaceMemberScenario: Scenario = {
  name: 'replace-member',
  description:
    'replace a DB follower as after a lost disk: remove, wipe, rejoin as a learner, catch up, promote',
  needs: ['dbLeader', 'dbTerm'],
  inject(driver, facts) {
    const leader = required(facts, 'dbLeader');
    const leaderId = Number(leader.replace(/^db-/, ''));
    // The member after the leader (db-5 → db-1): a follower, on whichever host.
    const target = `db-${(leaderId % 5) + 1}`;
    const progress: string[] = [];
    const replacing = driver.replaceMember(target, (line) => progress.push(line));
    // Observed by `lift`; until then a failure must not be an unhandled rejection.
    replacing.catch(() => {});
    let outcome: MemberReplacement | null = null;
    return Promise.resolve({
      fault: `replaced ${target} (a follower; ${leader} leads)`,
      targetMs: UNAVAILABILITY_TARGETS_MS.dbLeader,
      lift: async () => {
        outcome = await replacing;
      },
      findings: () => {
        return Promise.resolve({
          problems: replacementProblems(outcome, Number(target.replace(/^db-/, ''))),
          details: { target, replacement: outcome, progress: progress.slice(-40) },
        });
      },
    });
  },
};

/** What a replacement left wrong: not done, the member not a voter, more than one election. */
export function replacementProblems(
  outcome: MemberReplacement | null,
  id: number,
): readonly string[] {
  if (outcome === null) return ['the replacement did not finish'];
  const problems: string[] = [];
  if (!outcome.replaced) problems.push(`member ${id} was not replaced`);
  if (!outcome.voters.includes(id)) problems.push(`member ${id} is not a voter at the end`);
  if (outcome.voters.length !== 5)
    problems.push(`${outcome.voters.length} voters at the end, not 5`);
  if (outcome.terms.length > 2) {
    problems.push(
      `${outcome.terms.length - 1} elections during the replacement (terms ${outcome.terms.join(', ')})`,
    );
  }
  return problems;
}

/**
 * Scenarios run only when named (`--scenario`), not in the default list CI runs: they take
 * longer or exercise an operator's procedure rather than a fault.
 */
export const NAMED_ONLY_SCENARIOS: readonly Scenario[] = [replaceMemberScenario];

/** `--scenario` named none of the scenarios: invalid input (exit 1), listing the names. */
export class UnknownScenarioError extends InvalidInput {
  readonly scenarios = SCENARIO_NAMES;

  constructor(name: string) {
    super(
      `unknown chaos scenario "${name}"; the scenarios are: ${SCENARIO_NAMES.join(', ')}` +
        `; named only: ${NAMED_ONLY_SCENARIOS.map((s) => s.name).join(', ')}`,
      { field: 'scenario' },
    );
  }
}

/** The scenarios to run: the default list, or the one named. @throws UnknownScenarioError */
export function selectScenarios(name: string | undefined): readonly Scenario[] {
  if (name === undefined) return SCENARIOS;
  const scenario = [...SCENARIOS, ...NAMED_ONLY_SCENARIOS].find(
    (candidate) => candidate.name === name,
  );
  if (scenario === undefined) throw new UnknownScenarioError(name);
  return [scenario];
}
