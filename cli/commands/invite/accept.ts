import { Args } from '@oclif/core';
import type { EventAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { allowConflictFlag } from '../../flags.js';
import { formatSpan } from '../../ui/views.js';

/** `agenda invite accept <event-id>`. */
export default class InviteAccept extends AgendaCommand<typeof InviteAccept, EventAnswer> {
  static override summary = 'Accept an invitation.';
  static override description =
    'Refused (exit 4, with the events in the way) when it overlaps an event you accepted, unless --allow-conflict. An answer to a recurring event is your answer to every occurrence, those the organizer changed on their own included, except any you answered on their own: answering one of those (its id, or its #n) is for it alone and stays, whatever you answer the series later.';
  static override examples = [
    {
      description: 'The first invitation of the last listing (agenda invite list)',
      command: "<%= config.bin %> <%= command.id %> '#1'",
    },
    '<%= config.bin %> <%= command.id %> 3f2c --allow-conflict',
  ];
  static override args = {
    'event-id': Args.string({
      description:
        'The event you are invited to: its id, a unique prefix (6+ characters), or #n of the last listing.',
      required: true,
    }),
  };
  static override flags = { 'allow-conflict': allowConflictFlag };

  protected async execute(): Promise<Outcome<EventAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Accepting…',
      api.acceptInvitation(await this.eventRef(this.args['event-id'], api, 'event-id'), {
        ...(this.flags['allow-conflict'] ? { allowConflict: true } : {}),
      }),
    );
    const { event } = answer;
    return {
      result: answer,
      human: () =>
        `Accepted ${this.palette.bold(event.title)}, ${formatSpan(event.start, event.end, this.view)}` +
        `${event.status === 'pending' ? ' (still waiting for the others)' : ''}.`,
    };
  }
}
