import { Args } from '@oclif/core';
import type { FeedRevokedAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda feed revoke <id>`: the feed's URL stops working at once. */
export default class FeedRevoke extends AgendaCommand<typeof FeedRevoke, FeedRevokedAnswer> {
  static override summary = 'Revoke a calendar feed: its URL stops working at once.';
  static override examples = ['<%= config.bin %> <%= command.id %> Zb7pQ2xJr9WkT3nLm0aVcA'];
  static override args = {
    id: Args.string({ description: 'The feed, as `agenda feed list` shows it.', required: true }),
  };

  protected async execute(): Promise<Outcome<FeedRevokedAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Revoking…', api.revokeFeed(this.args.id));
    return {
      result: answer,
      human: () => `Revoked feed ${answer.feed.id} (${answer.feed.label}).`,
    };
  }
}
