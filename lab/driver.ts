/**
 * What a chaos scenario may do to the lab and learn from it. The lab controller
 * (`lab/controller.ts`, behind `npm run lab -- …`) implements it; scenarios (`lab/chaos/`)
 * only see this interface, so they can be tested against a fake.
 *
 * Names are the lab's: hosts `vm1`, `vm2`, `vm3`; processes `db-1`…`db-5`, `redis-1` (vm1),
 * `redis-2` (vm2), `users-1`, `users-2`, `groups-1`, `groups-2`, `gateway-1`, `gateway-2`,
 * `supervisor-1`, `supervisor-2`, `vip-1`, `vip-2` (the digit of the last seven is the host).
 */

export type LabHost = 'vm1' | 'vm2' | 'vm3';
export const LAB_HOSTS: readonly LabHost[] = ['vm1', 'vm2', 'vm3'];

/** Who holds which role right now, as the lab last observed it; null when nobody does. */
export interface LabFacts {
  /** The DB member that is Raft leader, e.g. `db-3`. */
  readonly dbLeader: string | null;
  /** The DB leader's term: a change between two readings means an election happened. */
  readonly dbTerm: number | null;
  /** The Redis instance recorded as primary and answering as one, e.g. `redis-1`. */
  readonly redisPrimary: string | null;
  /** The host whose agent holds the VIP, and that host's gateway process. */
  readonly vipOwner: LabHost | null;
  readonly activeGateway: string | null;
}

export interface LabDriver {
  /** The URL clients use: the VIP. */
  readonly vipUrl: string;
  /** The lab CA clients must trust (PEM file path). */
  readonly caPath: string;
  /** argv prefix that runs a command inside the client namespace (e.g. `ip netns exec …`). */
  readonly clientPrefix: readonly string[];

  /** SIGKILL one process. */
  kill(process: string): Promise<void>;
  /** Everything on the host dies at once and the host drops off the network. */
  crash(host: LabHost): Promise<void>;
  /** Traffic between the two hosts is dropped both ways. */
  partition(a: LabHost, b: LabHost): Promise<void>;
  /** The host can reach nobody and nobody can reach it. */
  isolate(host: LabHost): Promise<void>;
  /** Removes every network fault. */
  heal(): Promise<void>;
  /** SIGSTOP one process. */
  pause(process: string): Promise<void>;
  /** SIGCONT one process, or every paused one. */
  resume(process?: string): Promise<void>;
  /**
   * Heals the network, resumes paused processes, starts every stopped process and crashed
   * host again, and resolves once the whole system is healthy (a DB leader and all members
   * caught up, a Redis primary with its replica linked, the VIP held, both gateways ready).
   */
  restore(timeoutMs?: number): Promise<void>;
  facts(): Promise<LabFacts>;
  /**
   * Replaces DB member `process` (`db-3`) as an operator would after losing its disk, with
   * `agenda cluster member replace <id> --force`: removed, wiped and started again joining,
   * added as a learner, caught up, promoted. Resolves with what the command reported;
   * rejects when it failed. `progress` hears its progress lines.
   */
  replaceMember(process: string, progress: (line: string) => void): Promise<MemberReplacement>;
}

/** What `agenda cluster member replace --json` reported (`cli/cluster/replace-member.ts`). */
export interface MemberReplacement {
  readonly replaced: boolean;
  readonly durationMs: number;
  /** Leader terms seen during the replacement: more than one means an election. */
  readonly terms: readonly number[];
  readonly steps: readonly { readonly step: string; readonly atMs: number }[];
  /** The voters at the end. */
  readonly voters: readonly number[];
}
