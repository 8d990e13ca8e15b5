import { Flags } from '@oclif/core';
import { ControllerClient } from '../../../../lab/client.js';
import type { NodeId } from '../../../../raft/core/types.js';
import { NotFound } from '../../../../contract/errors.js';
import { OperatorCommand } from '../../../base-command.js';
import type { Outcome } from '../../../base-command.js';
import {
  memberArg,
  openMembership,
  parseMemberArg,
  topologyFlags,
  type MembershipConnection,
} from '../../../cluster/membership-connection.js';
import {
  replaceMember,
  type Rejoiner,
  type ReplaceResult,
} from '../../../cluster/replace-member.js';

/**
 * `agenda cluster member replace <id>`: replaces a DB member whose disk is lost — remove it,
 * have it wiped and started again joining, add it as a learner, wait until it has caught
 * up, promote it (`cli/cluster/replace-member.ts`). In the lab (`--lab`) the lab controller
 * wipes and restarts it; elsewhere the command says what to do and waits for the member to
 * come back empty. Progress goes to stderr; `--json` prints the {@link ReplaceResult}. Safe
 * to run again after an interruption: it carries on from where the cluster is.
 */
export default class MemberReplace extends OperatorCommand<typeof MemberReplace, ReplaceResult> {
  static override summary =
    'Replace a DB member with a lost disk: remove, wipe and restart joining, add as a learner, catch up, promote.';
  static override description =
    'A reachable, caught-up voter is left alone unless --force (a drill). The removal is refused when the voters left would not have a reachable quorum. Run it again after an interruption: it carries on.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> db-3 --lab',
    {
      description: 'A drill: replace a healthy member, giving up after 5 minutes',
      command: '<%= config.bin %> <%= command.id %> 3 --force --timeout 300',
    },
  ];
  static override args = { member: memberArg };
  static override flags = {
    ...topologyFlags,
    force: Flags.boolean({
      description: 'Replace the member even if it is a reachable, caught-up voter.',
      default: false,
    }),
    timeout: Flags.integer({
      description: 'Give up after this many seconds (run the command again to carry on).',
      default: 600,
      min: 1,
    }),
  };

  protected async execute(): Promise<Outcome<ReplaceResult>> {
    const id = parseMemberArg(this.args.member);
    const connection = openMembership(this.flags);
    const name = connection.nameOf(id);
    const api = connection.apis.get(id);
    const progress = (line: string) => void this.terminal.stderr.write(`${line}\n`);
    try {
      if (!api) {
        throw new NotFound(`${name} is not a DB member of this topology`);
      }
      const result = await replaceMember({
        id,
        name,
        api,
        membership: connection.client,
        rejoiner: rejoinerFor(connection, progress),
        force: this.flags.force,
        timeoutMs: this.flags.timeout * 1000,
        progress,
      });
      return { result, human: () => describe(result, name) };
    } finally {
      await connection.client.close();
    }
  }
}

/** The lab controller in the lab; the operator's hands elsewhere. */
function rejoinerFor(connection: MembershipConnection, say: (line: string) => void): Rejoiner {
  if (connection.choice.kind === 'lab') {
    const controller = new ControllerClient(connection.choice.dataDir);
    return {
      automatic: true,
      async rejoin(_id: NodeId, name: string) {
        say(`${name}: asking the lab to wipe ${name} and start it again, joining…`);
        await controller.call(
          { v: 1, op: 'rejoin', process: name },
          { onProgress: (line) => say(`lab: ${line}`), timeoutMs: 120_000 },
        );
      },
    };
  }
  return {
    automatic: false,
    rejoin(id: NodeId, name: string) {
      const api = connection.apis.get(id);
      say(
        [
          `${name} is out of the cluster. Now, on its host:`,
          `  1. stop ${name} if it still runs;`,
          `  2. delete its data directory (the "dataDir" of its config);`,
          `  3. set "join": true in its config and start it again.`,
          `Waiting for it to answer with an empty log at ${api ? `${api.host}:${api.port}` : 'its API address'}…`,
        ].join('\n'),
      );
      return Promise.resolve();
    },
  };
}

function describe(result: ReplaceResult, name: string): string {
  if (!result.replaced) return `${name}: ${result.reason ?? 'nothing to do'}`;
  const seconds = (result.durationMs / 1000).toFixed(1);
  const voters = result.members.members.filter((m) => m.role === 'voter').map((m) => m.id);
  const elections =
    result.terms.length > 1
      ? `; leadership changed meanwhile (terms ${result.terms.join(' → ')})`
      : '';
  return `${name} replaced in ${seconds} s: a voter again, voters ${voters.join(', ')}${elections}`;
}
