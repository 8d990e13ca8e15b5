import { Args, Flags } from '@oclif/core';
import type { EventAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { toApiInstant } from '../../time.js';

/** `agenda event cancel <id> [--occurrence <when>]`: cancels an event you organize. */
export default class EventCancel extends AgendaCommand<typeof EventCancel, EventAnswer> {
  static override summary =
    'Cancel an event you organize (all occurrences, or one with --occurrence); attendees are told.';
  static override args = {
    id: Args.string({
      description:
        'The event: its id, a unique prefix of it (4+ characters), or #n of the last listing.',
      required: true,
    }),
  };
  static override flags = {
    occurrence: Flags.string({
      description: 'Cancel only the occurrence of a recurring event that starts at this time.',
      helpValue: '<when>',
    }),
  };

  protected async execute(): Promise<Outcome<EventAnswer>> {
    const occurrence =
      this.flags.occurrence === undefined
        ? undefined
        : toApiInstant(this.when(this.flags.occurrence, 'occurrence'));
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Cancelling…',
      api.cancelEvent(await this.eventRef(this.args.id, api), occurrence),
    );
    return {
      result: answer,
      human: () =>
        occurrence === undefined
          ? `Cancelled ${this.palette.bold(answer.event.title)} (${answer.event.id}).`
          : `Cancelled the ${occurrence} occurrence of ${this.palette.bold(answer.event.title)}.`,
    };
  }
}
