import { Args } from '@oclif/core';
import type { EventAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderEventDetails } from '../../ui/views.js';

/** `agenda event show <id>`: every detail of one event you can see. */
export default class EventShow extends AgendaCommand<typeof EventShow, EventAnswer> {
  static override summary = 'Show an event: times, recurrence, attendees and their answers.';
  static override examples = [
    {
      description: 'The second event of the last listing (quoted: # starts a comment in a shell)',
      command: "<%= config.bin %> <%= command.id %> '#2'",
    },
    '<%= config.bin %> <%= command.id %> 3f2c --json',
  ];
  static override args = {
    id: Args.string({
      description:
        'The event: its id, a unique prefix of it (6+ characters), or #n of the last listing.',
      required: true,
    }),
  };

  protected async execute(): Promise<Outcome<EventAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Fetching the event…',
      api.showEvent(await this.eventRef(this.args.id, api)),
    );
    return { result: answer, human: () => renderEventDetails(answer.event, this.view) };
  }
}
