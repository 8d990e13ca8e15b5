import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { calendarResult, viewFlags, viewWidth } from '../calendar-views.js';
import type { CalendarViewResult } from '../calendar-views.js';
import { toApiInstant } from '../time.js';
import { renderWeekGrid } from '../ui/calendar.js';

/** `agenda week`: the week as seven day columns with your events in them. */
export default class Week extends AgendaCommand<typeof Week, CalendarViewResult> {
  static override summary = 'Show a week (Monday to Sunday) as seven day columns with your events.';
  static override description =
    'The grid fits the terminal (or --width; 80 columns when piped). `!` marks a conflict, `?` an invitation to answer, `✗` a cancelled event. --json prints {view, from, to, timeZone, days: [{date, events}]}.';
  static override examples = [
    '<%= config.bin %> week',
    '<%= config.bin %> week --date +7d',
    '<%= config.bin %> week --date 2026-03-02 --tz Asia/Tokyo --json',
  ];
  static override flags = { ...viewFlags };

  protected async execute(): Promise<Outcome<CalendarViewResult>> {
    const day = this.flags.date === undefined ? this.now : this.when(this.flags.date, 'date');
    const first = day.setZone(this.zone).startOf('week');
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Fetching the week…',
      api.listEvents({
        from: toApiInstant(first),
        to: toApiInstant(first.plus({ days: 7 })),
      }),
    );
    await this.remember(answer.events, false);
    const { days, result } = calendarResult('week', answer.events, first, 7, this.zone);
    return {
      result,
      human: () =>
        renderWeekGrid(days, {
          zone: this.zone,
          now: this.now,
          palette: this.palette,
          width: viewWidth(this.flags.width, this.terminal),
        }),
    };
  }
}
