import { Flags } from '@oclif/core';
import { localDataDir, observeLocalCluster } from '../../../lab/local/operator.js';
import type { ClusterSnapshot } from '../../../tui/model.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda cluster status`: one observation of the cluster, for people or scripts. */
export default class ClusterStatus extends AgendaCommand<typeof ClusterStatus> {
  static override summary =
    'Show the cluster once: DB members and the leader, Redis roles, the supervisor lease.';
  static override flags = {
    'data-dir': Flags.string({
      description: 'Where npm start keeps its data (default: AGENDA_DATA_DIR or ./.agenda).',
    }),
  };

  protected async execute(): Promise<Outcome> {
    const observer = observeLocalCluster(localDataDir(this.flags['data-dir']));
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
  const leader = members.find((m) => m.up && m.role === 'leader');
  lines.push(
    `DB: ${members.filter((m) => m.up).length}/${members.length} members up, leader ${leader ? `${leader.id} (term ${leader.up ? leader.term : '?'})` : 'none'}`,
  );
  for (const m of members) {
    lines.push(
      m.up
        ? `  ${m.id}  ${m.role.padEnd(12)} term ${m.term}  commit ${m.commit}  applied ${m.applied}`
        : `  ${m.id}  DOWN`,
    );
  }
  const redis = s.redis ?? [];
  lines.push(`Redis: ${redis.map((r) => `${r.name} ${r.up ? r.role : 'DOWN'}`).join(', ')}`);
  const sup = s.supervisor;
  lines.push(`Supervisor lease: ${sup?.holder ? `${sup.holder} (epoch ${sup.epoch})` : 'nobody'}`);
  return lines.join('\n');
}
