import { Flags } from '@oclif/core';
import { chooseTopology, openClusterObserver } from '../../../ops/open.js';
import type { ClusterSnapshot, DbMember } from '../../../ops/model.js';
import { dbLeader, redisPrimary, sortGossipMembers } from '../../../ops/model.js';
import { OperatorCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** How long one look waits for each process to answer (the dashboard's rounds wait 400 ms). */
const ONE_LOOK_TIMEOUT_MS = 2_000;

/** What `cluster status` prints with `--json`: one observation of the cluster. */
export interface ClusterStatusResult {
  readonly cluster: ClusterSnapshot;
}

/**
 * `agenda cluster status`: one observation of the cluster, for people or scripts. With
 * `--json` the result is `{ cluster }`, a `ClusterSnapshot` (`ops/model.ts`); a section the
 * topology does not have or that could not be read is absent.
 */
export default class ClusterStatus extends OperatorCommand<
  typeof ClusterStatus,
  ClusterStatusResult
> {
  static override summary =
    'Show the cluster once: DB members and the leader, Redis roles, the VIP, the supervisor lease, gossip.';
  static override description =
    'Watches what npm start runs, unless --lab (the three-namespace lab) or --topology (a description file, such as the observer.json lab/multipass/up.sh writes) says otherwise.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --lab',
    '<%= config.bin %> <%= command.id %> --topology .agenda-multipass/agenda/observer.json --json',
  ];
  static override flags = {
    lab: Flags.boolean({
      description: 'Look at the three-namespace lab (data in AGENDA_LAB_DIR or ./.agenda-lab).',
      default: false,
    }),
    topology: Flags.string({
      description:
        'Look at the system this description file names (e.g. .agenda-multipass/agenda/observer.json).',
    }),
    'data-dir': Flags.string({
      description:
        'Where the system keeps its data (default: AGENDA_DATA_DIR or ./.agenda; with --lab, AGENDA_LAB_DIR or ./.agenda-lab).',
    }),
  };

  protected async execute(): Promise<Outcome<ClusterStatusResult>> {
    // One look, not the dashboard's twice a second: a member slow to answer on a busy
    // machine (a TLS handshake, a status behind the store's work) is slow, not down.
    const observer = openClusterObserver(
      chooseTopology({
        lab: this.flags.lab,
        topology: this.flags.topology,
        dataDir: this.flags['data-dir'],
      }),
      { timeoutMs: ONE_LOOK_TIMEOUT_MS },
    );
    let snapshot: ClusterSnapshot;
    try {
      snapshot = await this.slow('Looking at the cluster…', observer.snapshot());
    } finally {
      await observer.close();
    }
    return { result: { cluster: snapshot }, human: () => describe(snapshot) };
  }
}

function describe(s: ClusterSnapshot): string {
  const lines: string[] = [];
  const members = s.dbMembers ?? [];
  const leader = dbLeader(members);
  lines.push(
    `DB: ${members.filter((m) => m.up).length}/${members.length} members up, leader ${leader ? `${leader.id} (term ${leader.term})` : 'none'}`,
  );
  for (const m of members) {
    lines.push(
      m.up
        ? `  ${m.id}  ${m.role.padEnd(12)} term ${m.term}  commit ${m.commit}  applied ${m.applied}${membershipNote(m)}`
        : `  ${m.id}  DOWN${membershipNote(m)}`,
    );
  }
  const redis = s.redis ?? [];
  const primary = redisPrimary(redis);
  lines.push(
    `Redis: ${redis
      .map((r) => {
        if (!r.up) return `${r.name} DOWN`;
        const epoch = r === primary && r.epoch !== undefined ? ` (epoch ${r.epoch})` : '';
        return `${r.name} ${r.role}${epoch}`;
      })
      .join(', ')}`,
  );
  const sup = s.supervisor;
  lines.push(
    `Supervisor lease: ${
      sup === undefined
        ? 'not read (no DB member answered)'
        : sup.holder
          ? `${sup.holder} (epoch ${sup.epoch})`
          : 'nobody'
    }`,
  );
  lines.push(...describeVip(s));
  lines.push(...describeGossip(s));
  for (const problem of s.problems ?? []) lines.push(`Note: ${problem}`);
  return lines.join('\n');
}

/** Nothing for a voter (the normal case); a learner's progress; a member out of the cluster. */
function membershipNote(m: DbMember): string {
  if (m.membership === 'learner') {
    const progress = m.up && m.catchUpPercent != null ? `, ${m.catchUpPercent}% caught up` : '';
    return `  (learner${progress})`;
  }
  return m.membership === 'removed' ? '  (not in the cluster)' : '';
}

function describeVip({ vip }: ClusterSnapshot): string[] {
  if (vip === undefined) return ['VIP: not observed (this topology has none)'];
  const lease = vip.lease?.holder ? `, lease ${vip.lease.holder} epoch ${vip.lease.epoch}` : '';
  const how = vip.ownerFromLease ? ' (by the lease; its agent does not answer)' : '';
  const split =
    vip.claimants.length > 1 ? `; SPLIT: configured on ${vip.claimants.join(' and ')}` : '';
  return [
    `VIP ${vip.address}: owner ${vip.owner ?? 'none'}${how}${lease}${split}`,
    ...vip.agents.map((a) =>
      a.state === 'down'
        ? `  ${a.id}  ${a.host}  DOWN     ${a.error ?? ''}`.trimEnd()
        : `  ${a.id}  ${a.host}  ${a.state.padEnd(7)}  ${a.vipConfigured ? 'VIP here' : 'no VIP'}`,
    ),
  ];
}

function describeGossip({ gossip }: ClusterSnapshot): string[] {
  if (gossip === undefined) return ['Gossip: not observed'];
  if (gossip.length === 0) return ['Gossip: no other member seen'];
  const alive = gossip.filter((m) => m.state === 'alive').length;
  return [
    `Gossip: ${alive}/${gossip.length} alive`,
    ...sortGossipMembers(gossip).map(
      (m) => `  ${m.id.padEnd(14)} ${m.role.padEnd(10)} ${m.address.padEnd(21)} ${m.state}`,
    ),
  ];
}
