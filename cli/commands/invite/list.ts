import type { InvitationsAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderEvents } from '../../ui/views.js';

/** `agenda invite list`: invitations waiting for your answer. */
export default class InviteList extends AgendaCommand<typeof InviteList, InvitationsAnswer> {
  static override summary = 'List the invitations waiting for your answer, next first.';

  protected async execute(): Promise<Outcome<InvitationsAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching invitations…', api.invitations());
    return {
      result: answer,
      human: () => renderEvents(answer.invitations, this.view, 'No invitations waiting.'),
    };
  }
}
