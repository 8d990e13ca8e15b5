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
 * `agenda cluster member remove <id>`: takes a member out of the configuration. Refused
 * (exit 4) when the voters left would not have a reachable quorum; removing the leader
 * hands its leadership over first (the command retries until the successor removed it).
 * `--json`: `{changed, members}`.
 */
export default class MemberRemove extends OperatorCommand<
  typeof MemberRemove,
  MembershipChangeResult
> {
  static override summary =
    'Remove a DB member (refused if the rest would lose their quorum); its process is not stopped.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> db-5',
    '<%= config.bin %> <%= command.id %> 5 --lab --json',
  ];
  static override args = { member: memberArg };
  static override flags = topologyFlags;

  protected async execute(): Promise<Outcome<MembershipChangeResult>> {
    const id = parseMemberArg(this.args.member);
    const connection = openMembership(this.flags);
    try {
      const result: MembershipChangeResult = await this.slow(
        `Removing ${connection.nameOf(id)}…`,
        removeRetryingHandOver(connection.client, id),
      );
      const voters = result.members.members.filter((m) => m.role === 'voter').map((m) => m.id);
      const name = connection.nameOf(id);
      return {
        result,
        human: () =>
          `${name} removed; voters now ${voters.join(', ')}. Stop its process; to bring it back, wipe its data and start it with "join": true, then agenda cluster member add ${id}`,
      };
    } finally {
      await connection.client.close();
    }
  }
}

/**
 * Removes `id`; while the member being removed is the leader, the service hands leadership
 * over and answers "unavailable" (retry): the successor then removes it. Ten seconds at most.
 */
async function removeRetryingHandOver(
  client: { remove(id: number): Promise<MembershipChangeResult> },
  id: number,
): Promise<MembershipChangeResult> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await client.remove(id);
    } catch (err) {
      if ((err as { code?: string }).code !== 'unavailable' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
