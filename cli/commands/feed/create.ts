import { Flags } from '@oclif/core';
import type { FeedAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda feed create [--label l]`: a subscription URL for calendar apps. */
export default class FeedCreate extends AgendaCommand<typeof FeedCreate, FeedAnswer> {
  static override summary = 'Make a calendar subscription URL (iCalendar) for your calendar apps.';
  static override description =
    'Anyone holding the URL reads your agenda, so it is shown only now: keep it as you would a password. It works until you revoke it (agenda feed revoke <id>), change your password, or it expires after a year.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --label phone',
    {
      description: 'Only the URL, for a script',
      command: '<%= config.bin %> <%= command.id %> --label "work laptop" --json | jq -r .url',
    },
  ];
  static override flags = {
    label: Flags.string({ description: 'What it is for, as `feed list` shows it (e.g. phone).' }),
  };

  protected async execute(): Promise<Outcome<FeedAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Making the feed…',
      api.createFeed(this.flags.label === undefined ? {} : { label: this.flags.label }),
    );
    return {
      result: answer,
      human: () =>
        `${answer.url}\n${this.palette.dim(`Feed ${answer.feed.id} (${answer.feed.label}), until ${answer.feed.expiresAt}. This URL is not shown again; agenda feed revoke ${answer.feed.id} ends it.`)}`,
    };
  }
}
