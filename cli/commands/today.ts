import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { calendarResult, viewCut, viewFlags, viewInterval, viewWidth } from '../calendar-views.js';
import type { CalendarViewResult } from '../calendar-views.js';
import { fitText, fittedHeading, renderDayList } from '../ui/calendar.js';

/** `agenda today`: the day's events, numbered. */
export default class Today extends AgendaCommand<typeof Today, CalendarViewResult> {
  static override summary = "Show today's events (or another day's with --date), numbered.";
  static override description =
    'Numbered for the commands that take an event: `agenda event show #2`. --json prints {view, from, to, timeZone, days: [{date, events}]}.';
  static override examples = ['<%= config.bin %> today', '<%= config.bin %> today --date tomorrow'];
  static override flags = { ...viewFlags };

  protected async execute(): Promise<Outcome<CalendarViewResult>> {
    const day =
      this.flags.date === undefined
        ? this.now
        : this.when(this.flags.date, 'date', { dayWithoutYear: { nearest: this.now } });
    const first = day.setZone(this.zone).startOf('day');
    // Checked before connecting: a day out of range is refused without a login.
    const interval = viewInterval(first, first.plus({ days: 1 }), this.flags.date);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow("Fetching the day's events…", api.listEvents(interval));
    const { days, result } = calendarResult('today', answer.events, first, 1, this.zone);
    // The day's events, as the numbers will name them.
    const events = days[0]?.events ?? [];
    await this.remember(events, true);
    return {
      result,
      human: () => {
        const width = viewWidth(this.flags.width, this.terminal);
        const cut = viewCut(this.flags.width, this.terminal);
        const heading = this.palette.bold(
          fittedHeading(first, this.now.setZone(this.zone), cut ? width : undefined),
        );
        if (events.length === 0) {
          const nothing = 'Nothing on this day.';
          return `${heading}\n${fitText(nothing, cut ? width : undefined, this.palette.dim, '  ')}`;
        }
        const context = { zone: this.zone, now: this.now, palette: this.palette, width, cut };
        return `${heading}\n${renderDayList(events, context, { from: first, headings: false, indent: '  ' })}`;
      },
    };
  }
}
