import { Args } from '@oclif/core';
import type { EventAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda invite decline <event-id>`. */
export default class InviteDecline extends AgendaCommand<typeof InviteDecline, EventAnswer> {
  static override summary =
    'Decline an invitation (in a flat group this cancels the event for everyone).';
  static override description =
    'An answer to a recurring event is your answer to every occurrence, those the organizer changed on their own included, except any you answered on their own: answering one of those (its id, or its #n) is for it alone and stays, whatever you answer the series later.';
  static override examples = [
    "<%= config.bin %> <%= command.id %> '#1'",
    '<%= config.bin %> <%= command.id %> 3f2c',
  ];
  static override args = {
    'event-id': Args.string({
      description:
        'The event you are invited to: its id, a unique prefix (6+ characters), or #n of the last listing.',
      required: true,
    }),
  };

  protected async execute(): Promise<Outcome<EventAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Declining…',
      api.declineInvitation(await this.eventRef(this.args['event-id'], api, 'event-id')),
    );
    const { event } = answer;
    return {
      result: answer,
      human: () =>
        `Declined ${this.palette.bold(event.title)}` +
        `${event.status === 'cancelled' ? '; the event is now cancelled' : ''}.`,
    };
  }
}
