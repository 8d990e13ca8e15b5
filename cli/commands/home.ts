import type { EventView } from '../../contract/views.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { viewWidth } from '../calendar-views.js';
import { loginEndsAt } from '../profiles.js';
import { toApiInstant } from '../time.js';
import { renderDayList } from '../ui/calendar.js';

/** How many of the coming days' events `agenda` shows after today's. */
export const NEXT_SHOWN = 5;
/** How far ahead "next" looks. */
export const NEXT_DAYS = 7;

/** What `agenda` with no command prints with `--json`. */
export type HomeResult =
  | {
      readonly loggedIn: true;
      readonly user: string;
      readonly timeZone: string;
      /** Today's events, numbered #1… in this order. */
      readonly today: readonly EventView[];
      /** The next events of the coming days (at most {@link NEXT_SHOWN}), numbered after today's. */
      readonly next: readonly EventView[];
      /** Invitations to events waiting for an answer. */
      readonly invitations: number;
    }
  | {
      readonly loggedIn: false;
      readonly profile: string;
      /** What to run to start, one command a line. */
      readonly hint: readonly string[];
    };

/**
 * `agenda` with no command (bin/agenda.js runs this one then): today and what is next when
 * logged in; how to start when not.
 */
export default class Home extends AgendaCommand<typeof Home, HomeResult> {
  static override hidden = true;
  static override summary = 'Today and what is next (what `agenda` alone shows).';
  static override examples = ['<%= config.bin %>', '<%= config.bin %> --profile work'];

  protected async execute(): Promise<Outcome<HomeResult>> {
    const profile = await this.profiles.read(this.profileName);
    const login = profile.login;
    if (login === null || Date.parse(loginEndsAt(login)) <= Date.now()) {
      return this.howToStart(login?.username);
    }
    const { api } = await this.connect({ authenticated: true });
    const midnight = this.now.setZone(this.zone).startOf('day');
    const tomorrow = midnight.plus({ days: 1 });
    const [listed, invited] = await this.slow(
      'Fetching your agenda…',
      Promise.all([
        api.listEvents({
          from: toApiInstant(midnight),
          to: toApiInstant(tomorrow.plus({ days: NEXT_DAYS })),
        }),
        api.invitations(),
      ]),
    );
    const today = listed.events.filter((e) => Date.parse(e.start) < tomorrow.toMillis());
    const next = listed.events
      .filter((e) => Date.parse(e.start) >= tomorrow.toMillis())
      .slice(0, NEXT_SHOWN);
    await this.remember([...today, ...next], true);
    const result: HomeResult = {
      loggedIn: true,
      user: login.username,
      timeZone: this.zone,
      today,
      next,
      invitations: invited.invitations.length,
    };
    return {
      result,
      human: () => {
        const { palette } = this;
        const context = {
          zone: this.zone,
          now: this.now,
          palette,
          width: viewWidth(undefined, this.terminal),
          cut: this.terminal.stdout.isTTY === true,
        };
        const lines = [
          `${palette.bold(login.username)}  ${palette.dim(`${this.now.setZone(this.zone).setLocale('en-GB').toFormat('ccc d LLL yyyy, HH:mm')} ${this.zone}`)}`,
          '',
          palette.bold('Today'),
          today.length === 0
            ? `  ${palette.dim('Nothing today.')}`
            : renderDayList(today, context, { from: midnight, headings: false, indent: '  ' }),
          '',
          palette.bold('Next'),
          next.length === 0
            ? `  ${palette.dim(`Nothing in the next ${NEXT_DAYS} days.`)}`
            : renderDayList(next, context, { firstNumber: today.length + 1, indent: '    ' })
                .split('\n')
                .map((line) => (line.startsWith('    ') ? line : `  ${line}`))
                .join('\n'),
        ];
        if (result.invitations > 0) {
          const n = result.invitations;
          lines.push(
            '',
            palette.yellow(
              `${n} invitation${n === 1 ? '' : 's'} waiting for your answer: agenda invite list`,
            ),
          );
        }
        lines.push(
          '',
          palette.dim('agenda week · agenda month · agenda search <text> · agenda event show #1'),
        );
        return lines.join('\n');
      },
    };
  }

  private howToStart(username: string | undefined): Outcome<HomeResult> {
    const on = this.profileName === 'default' ? '' : ` --profile ${this.profileName}`;
    const hint =
      username === undefined
        ? [
            `agenda register <username> --server https://<gateway>:8443 --ca <ca.pem>${on}`,
            `agenda login <username> --server https://<gateway>:8443 --ca <ca.pem>${on}`,
          ]
        : [`agenda login ${username}${on}`];
    return {
      result: { loggedIn: false, profile: this.profileName, hint },
      human: () => {
        const { palette } = this;
        const lines =
          username === undefined
            ? [
                `${palette.bold('Agenda')} — your calendar, shared with the people and groups you meet.`,
                '',
                'You are not logged in. To start:',
                `  ${hint[0]}   ${palette.dim('a new account')}`,
                `  ${hint[1]}      ${palette.dim('an account you have')}`,
                palette.dim(
                  '  (with `npm start`, the gateway is https://127.0.0.1:8443 and the CA .agenda/pki/ca.pem)',
                ),
              ]
            : [`The login of ${palette.bold(username)} has ended. Log in again:`, `  ${hint[0]}`];
        lines.push('', palette.dim('Then: agenda (today and next) · agenda week · agenda --help'));
        return lines.join('\n');
      },
    };
  }
}
