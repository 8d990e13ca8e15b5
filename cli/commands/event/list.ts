import type { EventsAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { intervalFlags } from '../../flags.js';
import type { WholeList } from '../../http/agenda-api.js';
import { toApiInstant } from '../../time.js';
import { formatSpan, renderEvents } from '../../ui/views.js';

/** `agenda event list`: your occurrences in an interval, recurring events expanded. */
export default class EventList extends AgendaCommand<typeof EventList, WholeList<EventsAnswer>> {
  static override summary = 'List your events in an interval (default: the next 7 days).';
  static override description =
    'Recurring events appear once per occurrence, each with the series id. Invitations you have not answered show as "you: pending", cancelled events as cancelled, overlaps as conflicts. Rows are numbered: `agenda event show #2` shows the second.';
  static override examples = [
    '<%= config.bin %> event list',
    '<%= config.bin %> event list --from today --to +30d --json',
  ];
  static override flags = { ...intervalFlags };

  protected async execute(): Promise<Outcome<WholeList<EventsAnswer>>> {
    const { from, to } = this.interval(this.flags.from, this.flags.to);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Fetching events…',
      api.listEvents({ from: toApiInstant(from), to: toApiInstant(to) }),
    );
    await this.remember(answer.events, true);
    return {
      result: answer,
      human: () =>
        renderEvents(
          answer.events,
          this.view,
          `No events ${formatSpan(toApiInstant(from), toApiInstant(to), this.view)}.`,
        ),
    };
  }
}
