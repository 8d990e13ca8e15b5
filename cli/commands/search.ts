import { Args, Flags } from '@oclif/core';
import type { EventsAnswer } from '../../contract/api.js';
import { InvalidInput } from '../../contract/errors.js';
import { MAX_QUERY_SPAN_MS, SEARCH_TEXT_MAX_LENGTH } from '../../contract/limits.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { viewCut, viewWidth } from '../calendar-views.js';
import { whenFlag } from '../flags.js';
import type { WholeList } from '../http/agenda-api.js';
import { parseRangeBound, requireEndAfterStart, toApiInstant } from '../time.js';
import { fitText, renderDayList } from '../ui/calendar.js';
import { formatSpan } from '../ui/views.js';

/** How far back `search` looks by default; it looks as far ahead as the widest window allows. */
export const SEARCH_DAYS_EACH_WAY = 183;

/** `agenda search <text>`: your events whose title, description or location contain a text. */
export default class Search extends AgendaCommand<typeof Search, WholeList<EventsAnswer>> {
  static override summary =
    'Find your events whose title, description or location contains a text (any case).';
  static override description = `Looks in the year around today (${SEARCH_DAYS_EACH_WAY} days back and ahead) unless --from/--to say otherwise (at most 366 days apart). Occurrences are listed by day and numbered: \`agenda event show #1\`. --json prints {events}, as event list does.`;
  static override examples = [
    '<%= config.bin %> search standup',
    '<%= config.bin %> search "board meeting" --from 2025-01-01 --to 2025-12-31',
    '<%= config.bin %> search 会議 --json',
  ];
  static override args = {
    text: Args.string({ description: 'What to look for.', required: true }),
  };
  static override flags = {
    from: whenFlag(`Start of the interval (default: ${SEARCH_DAYS_EACH_WAY} days ago)`),
    to: whenFlag('End of the interval (default: 366 days after --from, the widest allowed)'),
    width: Flags.integer({
      description: "Columns to fit the list to (default: the terminal's; piped: nothing is cut).",
      min: 20,
      max: 1000,
    }),
  };

  protected async execute(): Promise<Outcome<WholeList<EventsAnswer>>> {
    const text = this.args.text.trim();
    if (text === '') throw new InvalidInput('give a text to search for', { field: 'text' });
    if ([...text].length > SEARCH_TEXT_MAX_LENGTH) {
      throw new InvalidInput(`search for at most ${SEARCH_TEXT_MAX_LENGTH} characters`, {
        field: 'text',
      });
    }
    const from =
      this.flags.from === undefined
        ? this.now.minus({ days: SEARCH_DAYS_EACH_WAY }).startOf('day')
        : parseRangeBound(this.flags.from, this.whenContext, 'from');
    // The widest window the server takes, exactly (a calendar year could be an hour more).
    const to =
      this.flags.to === undefined
        ? from.plus({ milliseconds: MAX_QUERY_SPAN_MS })
        : parseRangeBound(this.flags.to, this.whenContext, 'to');
    requireEndAfterStart(from, to, { start: 'from', end: 'to' });
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Searching…',
      api.searchEvents(text, { from: toApiInstant(from), to: toApiInstant(to) }),
    );
    await this.remember(answer.events, true);
    return {
      result: answer,
      human: () => {
        const span = formatSpan(toApiInstant(from), toApiInstant(to), this.view);
        const cut = viewCut(this.flags.width, this.terminal);
        const width = viewWidth(this.flags.width, this.terminal);
        const fitted = (text: string) => fitText(text, cut ? width : undefined, this.palette.dim);
        if (answer.events.length === 0) return fitted(`Nothing matches "${text}" ${span}.`);
        const n = answer.events.length;
        const heading = fitted(`${n} occurrence${n === 1 ? '' : 's'} matching "${text}", ${span}`);
        const list = renderDayList(answer.events, {
          zone: this.zone,
          now: this.now,
          palette: this.palette,
          width,
          cut,
        });
        return `${heading}\n${list}`;
      },
    };
  }
}
