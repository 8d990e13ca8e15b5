import { Args } from '@oclif/core';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda event cancel <id>`: cancels a whole event (every occurrence) you organize. */
export default class EventCancel extends AgendaCommand<typeof EventCancel> {
  static override summary = 'Cancel an event you organize (all occurrences); attendees are told.';
  static override args = {
    id: Args.string({ description: 'The event (series) id.', required: true }),
  };

  protected async execute(): Promise<Outcome> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Cancelling…', api.cancelEvent(this.args.id));
    return {
      result: answer,
      human: () => `Cancelled ${this.palette.bold(answer.event.title)} (${answer.event.id}).`,
    };
  }
}
