import type { NodeId } from '../../../../raft/core/types.js';
import type { MembershipView, MemberView } from '../../../../contract/membership.js';
import { OperatorCommand } from '../../../base-command.js';
import type { Outcome } from '../../../base-command.js';
import { openMembership, topologyFlags } from '../../../cluster/membership-connection.js';
import { renderTable } from '../../../ui/table.js';
import type { Column } from '../../../ui/table.js';

/** How long each member may take to say its own applied index. */
const OWN_STATUS_TIMEOUT_MS = 1_500;

/** A member as listed: the leader's view of it plus what it says itself. */
export interface ListedMember extends MemberView {
  readonly name: string;
  /** Its own applied index; null when it did not answer. */
  readonly applied: number | null;
  /**
   * It holds fewer entries than it once acknowledged (its own last index is below the
   * leader's match for it): it lost its disk and came back. The leader's view alone shows
   * such a member as healthy; `agenda cluster member replace` is the remedy.
   */
  readonly lostLog: boolean;
}

/** The leader's view of the configuration, each member as {@link ListedMember}. */
export type ListedMembership = Omit<MembershipView, 'members'> & {
  readonly members: readonly ListedMember[];
};

/** What `cluster member list` prints with `--json`. */
export interface MemberListResult {
  readonly members: ListedMembership;
}

/**
 * `agenda cluster member list`: the DB's configuration as its leader sees it — each
 * member's role, address, match index and lag — with each member's own applied index.
 * `--json`: `{members: {leader, term, commit, lastIndex, applied, members: ListedMember[]}}`.
 */
export default class MemberList extends OperatorCommand<typeof MemberList, MemberListResult> {
  static override summary =
    'List the DB members: voter or learner, address, how far each has caught up, the leader.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --topology .agenda-multipass/agenda/observer.json --json',
  ];
  static override flags = topologyFlags;

  protected async execute(): Promise<Outcome<MemberListResult>> {
    const connection = openMembership(this.flags);
    try {
      const view = await this.slow('Asking the DB members…', connection.client.list());
      const own = await Promise.all(
        view.members.map(async (m) => {
          const api = connection.apis.get(m.id);
          return api ? await connection.client.memberStatus(api, OWN_STATUS_TIMEOUT_MS) : null;
        }),
      );
      const members: ListedMember[] = view.members.map((m, i) => {
        const self = own[i] ?? null;
        return {
          ...m,
          name: connection.nameOf(m.id),
          applied: self?.applied ?? null,
          lostLog: !m.leader && self !== null && self.lastIndex < m.match,
        };
      });
      const listed: ListedMembership = { ...view, members };
      return { result: { members: listed }, human: () => describeMembers(listed, connection) };
    } finally {
      await connection.client.close();
    }
  }
}

function describeMembers(
  view: ListedMembership,
  connection: { apis: ReadonlyMap<NodeId, unknown>; nameOf(id: NodeId): string },
): string {
  const voters = view.members.filter((m) => m.role === 'voter').length;
  const learners = view.members.length - voters;
  const columns: Column<ListedMember>[] = [
    { key: 'member', header: 'MEMBER', text: (m) => m.name },
    { key: 'role', header: 'ROLE', text: (m) => m.role + (m.leader ? ' (leader)' : '') },
    { key: 'address', header: 'ADDRESS (RAFT,API)', text: (m) => m.address ?? '?' },
    { key: 'match', header: 'MATCH', text: (m) => String(m.match) },
    {
      key: 'lag',
      header: 'LAG',
      text: (m) =>
        m.lostLog
          ? 'lost its log'
          : m.role === 'learner'
            ? `${m.lag}${m.caughtUp ? ' (caught up)' : ''}`
            : String(m.lag),
    },
    {
      key: 'applied',
      header: 'APPLIED',
      text: (m) => (m.applied === null ? 'no answer' : String(m.applied)),
    },
    {
      key: 'contact',
      header: 'CONTACT',
      text: (m) => (m.leader ? '-' : m.lastContactMs === null ? 'never' : `${m.lastContactMs} ms`),
    },
    {
      key: 'replication',
      header: 'REPLICATION',
      text: (m) => (m.leader ? '' : m.replication),
    },
  ];
  const absent = [...connection.apis.keys()]
    .filter((id) => !view.members.some((m) => m.id === id))
    .map((id) => connection.nameOf(id));
  const lost = view.members.filter((m) => m.lostLog).map((m) => m.name);
  return [
    `leader ${connection.nameOf(view.leader)}, term ${view.term}, commit ${view.commit}, last index ${view.lastIndex}; ${voters} voter${voters === 1 ? '' : 's'}${learners > 0 ? `, ${learners} learner${learners > 1 ? 's' : ''}` : ''}`,
    renderTable(view.members, columns),
    ...(absent.length > 0 ? [`not in the cluster: ${absent.join(', ')}`] : []),
    ...lost.map(
      (name) =>
        `${name} holds fewer entries than it acknowledged (its disk was lost or wiped): ` +
        `replace it with "agenda cluster member replace ${name}"`,
    ),
  ].join('\n');
}
