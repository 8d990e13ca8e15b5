import { Flags } from '@oclif/core';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import {
  calendarResult,
  chooseLayout,
  parseMonth,
  viewCut,
  viewFlags,
  viewInterval,
  viewWidth,
} from '../calendar-views.js';
import type { CalendarViewResult } from '../calendar-views.js';
import { fitText, renderDayList, renderMonthCalendar, renderMonthGrid } from '../ui/calendar.js';

/** From this width on, `month` draws the grid by default; below, the calendar and a list. */
export const MONTH_GRID_MIN_WIDTH = 100;

/** `agenda month`: a month as a grid, or a small calendar with the events listed under it. */
export default class Month extends AgendaCommand<typeof Month, CalendarViewResult> {
  static override summary = 'Show a month: a grid with your events, or a calendar and a list.';
  static override description = `At ${MONTH_GRID_MIN_WIDTH} columns and more, a grid of weeks with up to three events a day; narrower, a small calendar with the days that have events marked, and the events listed by day under it, numbered for \`agenda event show #n\` (--layout chooses). --json prints {view, from, to, timeZone, days: [{date, events}]} for the month's days.`;
  static override examples = [
    '<%= config.bin %> month',
    '<%= config.bin %> month --date 2026-04',
    '<%= config.bin %> month --date +31d --layout list',
  ];
  static override flags = {
    ...viewFlags,
    layout: Flags.option({
      description: `grid, or list (a calendar and the events by day); default: grid from ${MONTH_GRID_MIN_WIDTH} columns.`,
      options: ['grid', 'list'] as const,
    })(),
  };

  protected async execute(): Promise<Outcome<CalendarViewResult>> {
    const text = this.flags.date;
    const day =
      text === undefined
        ? this.now
        : (parseMonth(text, this.zone, this.now) ??
          this.when(text, 'date', { dayWithoutYear: { nearest: this.now } }));
    const month = day.setZone(this.zone).startOf('month');
    const gridStart = month.startOf('week');
    const gridEnd = month.endOf('month').startOf('day').endOf('week').plus({ millisecond: 1 });
    const count = Math.round(gridEnd.diff(gridStart, 'days').days);
    // Checked before connecting: a day out of range is refused without a login.
    const interval = viewInterval(gridStart, gridEnd, text);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching the month…', api.listEvents(interval));
    const width = viewWidth(this.flags.width, this.terminal);
    const { layout, note } = chooseLayout(this.flags.layout, width, MONTH_GRID_MIN_WIDTH);
    // The layout is for a person: --json draws none, and has nothing to warn of.
    if (note !== undefined && !this.json) this.caution(note);
    const inMonth = answer.events.filter(
      (event) =>
        Date.parse(event.end) > month.toMillis() &&
        Date.parse(event.start) < month.plus({ months: 1 }).toMillis(),
    );
    // The list numbers the month's events for `#n`; the grid shows no numbers.
    await this.remember(layout === 'list' ? inMonth : answer.events, layout === 'list');
    const { days } = calendarResult('month', answer.events, gridStart, count, this.zone);
    const { result } = calendarResult('month', inMonth, month, month.daysInMonth ?? 31, this.zone);
    const context = { zone: this.zone, now: this.now, palette: this.palette, width };
    return {
      result,
      human: () => {
        if (layout === 'grid') return renderMonthGrid(month, days, context);
        const calendar = renderMonthCalendar(month, days, context);
        const cut = viewCut(this.flags.width, this.terminal);
        if (inMonth.length === 0) {
          const nothing = `Nothing in ${month.toFormat('LLLL yyyy')}.`;
          return `${calendar}\n\n${fitText(nothing, cut ? width : undefined, this.palette.dim)}`;
        }
        const list = renderDayList(inMonth, { ...context, cut }, { from: month });
        return `${calendar}\n\n${list}`;
      },
    };
  }
}
