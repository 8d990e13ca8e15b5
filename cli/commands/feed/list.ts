import type { FeedsAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderTable } from '../../ui/table.js';

/** `agenda feed list`: the calendar feeds that read your agenda. */
export default class FeedList extends AgendaCommand<typeof FeedList, FeedsAnswer> {
  static override summary = 'List your calendar feeds (their URLs are shown only when made).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  protected async execute(): Promise<Outcome<FeedsAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching feeds…', api.feeds());
    return {
      result: answer,
      human: () =>
        answer.feeds.length === 0
          ? this.palette.dim('No calendar feeds.')
          : renderTable(
              answer.feeds,
              [
                { key: 'id', header: 'ID', text: (f) => f.id },
                { key: 'label', header: 'LABEL', text: (f) => f.label },
                { key: 'created', header: 'CREATED', text: (f) => f.createdAt },
                { key: 'expires', header: 'EXPIRES', text: (f) => f.expiresAt },
              ],
              { paintHeader: this.palette.dim },
            ),
    };
  }
}
