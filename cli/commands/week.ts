import { Flags } from '@oclif/core';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import {
  calendarResult,
  chooseLayout,
  viewCut,
  viewFlags,
  viewInterval,
  viewWidth,
} from '../calendar-views.js';
import type { CalendarViewResult } from '../calendar-views.js';
import {
  WEEK_GRID_MIN_WIDTH,
  fitText,
  renderDayList,
  renderWeekGrid,
  weekTitle,
} from '../ui/calendar.js';

/** `agenda week`: the week as seven day columns with your events in them. */
export default class Week extends AgendaCommand<typeof Week, CalendarViewResult> {
  static override summary = 'Show a week (Monday to Sunday) as seven day columns with your events.';
  static override description = `The grid fits the terminal (or --width; 80 columns when piped); under ${WEEK_GRID_MIN_WIDTH} columns the week's events are listed by day instead, numbered for \`agenda event show #n\` (--layout chooses). \`!\` marks a conflict, \`?\` an invitation to answer, \`✗\` a cancelled event. --json prints {view, from, to, timeZone, days: [{date, events}]}.`;
  static override examples = [
    '<%= config.bin %> week',
    '<%= config.bin %> week --date +7d',
    '<%= config.bin %> week --layout list',
    '<%= config.bin %> week --date 2026-03-02 --tz Asia/Tokyo --json',
  ];
  static override flags = {
    ...viewFlags,
    layout: Flags.option({
      description: `grid, or list (the events by day); default: grid from ${WEEK_GRID_MIN_WIDTH} columns.`,
      options: ['grid', 'list'] as const,
    })(),
  };

  protected async execute(): Promise<Outcome<CalendarViewResult>> {
    const day =
      this.flags.date === undefined
        ? this.now
        : this.when(this.flags.date, 'date', { dayWithoutYear: { nearest: this.now } });
    const first = day.setZone(this.zone).startOf('week');
    // Checked before connecting: a day out of range is refused without a login.
    const interval = viewInterval(first, first.plus({ days: 7 }), this.flags.date);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching the week…', api.listEvents(interval));
    const width = viewWidth(this.flags.width, this.terminal);
    const { layout, note } = chooseLayout(this.flags.layout, width, WEEK_GRID_MIN_WIDTH);
    // The layout is for a person: --json draws none, and has nothing to warn of.
    if (note !== undefined && !this.json) this.caution(note);
    // The list numbers the week's events for `#n`; the grid shows no numbers.
    await this.remember(answer.events, layout === 'list');
    const { days, result } = calendarResult('week', answer.events, first, 7, this.zone);
    const context = { zone: this.zone, now: this.now, palette: this.palette, width };
    return {
      result,
      human: () => {
        if (layout === 'grid') return renderWeekGrid(days, context);
        const title = weekTitle(days, context);
        const cut = viewCut(this.flags.width, this.terminal);
        if (answer.events.length === 0) {
          return `${title}\n${fitText('Nothing this week.', cut ? width : undefined, this.palette.dim)}`;
        }
        const list = renderDayList(answer.events, { ...context, cut }, { from: first });
        return `${title}\n${list}`;
      },
    };
  }
}
