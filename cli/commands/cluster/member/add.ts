import { Flags } from '@oclif/core';
import type { MembershipChangeResult } from '../../../../contract/membership.js';
import { OperatorCommand } from '../../../base-command.js';
import type { Outcome } from '../../../base-command.js';
import {
  memberArg,
  openMembership,
  parseMemberArg,
  topologyFlags,
} from '../../../cluster/membership-connection.js';

/**
 * `agenda cluster member add <id>`: adds a DB member as a learner (it receives the log and
 * votes on nothing until promoted). `--json`: `{changed, members}`; `changed` is false when
 * it already was a learner.
 */
export default class MemberAdd extends OperatorCommand<typeof MemberAdd, MembershipChangeResult> {
  static override summary = 'Add a DB member as a learner; promote it once it has caught up.';
  static override description =
    'The member must be running with "join": true in its config (and, if it ever was a member, an empty data directory). Without --address the cluster uses the address it knows for that id.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> 3 --lab',
    {
      description: 'A new member, at addresses the cluster does not know yet',
      command: '<%= config.bin %> <%= command.id %> db-6 --address 127.0.0.1:7106,127.0.0.1:7206',
    },
  ];
  static override args = { member: memberArg };
  static override flags = {
    ...topologyFlags,
    address: Flags.string({
      description: 'The new member\'s addresses, "raftHost:port,apiHost:port".',
    }),
  };

  protected async execute(): Promise<Outcome<MembershipChangeResult>> {
    const id = parseMemberArg(this.args.member);
    const connection = openMembership(this.flags);
    try {
      const result: MembershipChangeResult = await this.slow(
        `Adding ${connection.nameOf(id)} as a learner…`,
        connection.client.addLearner(id, this.flags.address),
      );
      const name = connection.nameOf(id);
      return {
        result,
        human: () =>
          result.changed
            ? `${name} added as a learner; it catches up from the leader (agenda cluster member list shows how far), then: agenda cluster member promote ${id}`
            : `${name} already is a learner; nothing changed`,
      };
    } finally {
      await connection.client.close();
    }
  }
}
