import type { InvitationsAnswer } from '../../../contract/api.js';
import type { WholeList } from '../../http/agenda-api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { fitText } from '../../ui/calendar.js';
import { renderEvents, renderGroupInvitations } from '../../ui/views.js';

/** `agenda invite list`: invitations to events and to groups waiting for your answer. */
export default class InviteList extends AgendaCommand<
  typeof InviteList,
  WholeList<InvitationsAnswer>
> {
  static override summary =
    'List the invitations waiting for your answer: events (soonest first) and groups to join.';
  static override description =
    'Answer an event with `agenda invite accept|decline <id>`, a group with `agenda group join|decline <group>`.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  protected async execute(): Promise<Outcome<WholeList<InvitationsAnswer>>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching invitations…', api.invitations());
    await this.remember(answer.invitations, true);
    return {
      result: answer,
      human: () => {
        // Older gateways answer without `groupInvitations`.
        const groups = answer.groupInvitations ?? [];
        if (groups.length === 0) {
          return renderEvents(answer.invitations, this.view, 'No invitations waiting.');
        }
        const events =
          answer.invitations.length === 0
            ? ''
            : `${renderEvents(answer.invitations, this.view, '')}\n\n`;
        return `${events}${fitText('Groups inviting you to join', this.width, this.palette.bold)}\n${renderGroupInvitations(groups, this.view)}`;
      },
    };
  }
}
