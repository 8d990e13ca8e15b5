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
 * `agenda cluster member promote <id>`: makes a caught-up learner a voter. Refused (exit 4)
 * while it is more than 100 entries behind the leader. `--json`: `{changed, members}`.
 */
export default class MemberPromote extends OperatorCommand<
  typeof MemberPromote,
  MembershipChangeResult
> {
  static override summary = 'Make a caught-up learner a voter.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> 3',
    '<%= config.bin %> <%= command.id %> db-6 --lab',
  ];
  static override args = { member: memberArg };
  static override flags = topologyFlags;

  protected async execute(): Promise<Outcome<MembershipChangeResult>> {
    const id = parseMemberArg(this.args.member);
    const connection = openMembership(this.flags);
    try {
      const result: MembershipChangeResult = await this.slow(
        `Promoting ${connection.nameOf(id)}…`,
        connection.client.promote(id),
      );
      const voters = result.members.members.filter((m) => m.role === 'voter').length;
      const name = connection.nameOf(id);
      return {
        result,
        human: () =>
          result.changed
            ? `${name} is a voter (${voters} voters)`
            : `${name} already is a voter; nothing changed`,
      };
    } finally {
      await connection.client.close();
    }
  }
}
