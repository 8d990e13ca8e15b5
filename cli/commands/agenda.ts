import { Flags } from '@oclif/core';
import type { AgendasAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { intervalFlags, parseUsernames } from '../flags.js';
import type { WholeList } from '../http/agenda-api.js';
import { toApiInstant } from '../time.js';
import { renderAgendas } from '../ui/views.js';

/** `agenda agenda (--group g | --users a,b)`: other people's agendas, as privacy allows. */
export default class AgendaOfOthers extends AgendaCommand<
  typeof AgendaOfOthers,
  WholeList<AgendasAnswer>
> {
  static override summary = "Show the agendas of a group's members or of named users.";
  static override description =
    'You see the agenda of people you share a group with. Events show in full when you attend them, when they are public, or when they are "busy" and you rank above the person in a hierarchical group; otherwise only as busy blocks. The interval defaults to the next 7 days.';
  static override examples = [
    '<%= config.bin %> agenda --group team --from tomorrow --to +3d',
    '<%= config.bin %> agenda --users alice,bob --json',
  ];
  static override flags = {
    group: Flags.string({
      description: "Every member's agenda.",
      exactlyOne: ['group', 'users'],
    }),
    users: Flags.string({
      description: 'These people (comma-separated usernames).',
      helpValue: 'alice,bob',
      exactlyOne: ['group', 'users'],
    }),
    ...intervalFlags,
  };

  protected async execute(): Promise<Outcome<WholeList<AgendasAnswer>>> {
    const { from, to } = this.interval(this.flags.from, this.flags.to);
    const targets =
      this.flags.group === undefined
        ? { users: parseUsernames(this.flags.users ?? '', 'users') }
        : { group: this.flags.group };
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Fetching agendas…',
      api.agendas(targets, { from: toApiInstant(from), to: toApiInstant(to) }),
    );
    return { result: answer, human: () => renderAgendas(answer.agendas, this.view) };
  }
}
