import type { EventView } from '../../contract/views.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { viewCut, viewWidth } from '../calendar-views.js';
import { loginEndsAt } from '../profiles.js';
import { toApiInstant } from '../time.js';
import { displayWidth } from '../../base/table.js';
import { fitText, renderDayList } from '../ui/calendar.js';
import type { Paint } from '../ui/palette.js';

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

/** The hints `agenda` ends with, to go further. */
const HOME_HINTS = ['agenda week', 'agenda month', 'agenda search <text>', 'agenda event show #1'];

/** What `agenda` says of itself to someone not logged in; it starts with the name, in bold. */
const INTRODUCTION = 'Agenda — your calendar, shared with the people and groups you meet.';

/**
 * Hints joined by ` · `, as many on a line as `width` holds (one wider than a line is
 * broken at its spaces); on one line without a width.
 */
function fitHints(hints: readonly string[], width: number | undefined, paint: Paint): string {
  const lines: string[] = [];
  let line = '';
  for (const hint of hints) {
    const joined = line === '' ? hint : `${line} · ${hint}`;
    if (width === undefined || displayWidth(joined) <= width) {
      line = joined;
      continue;
    }
    if (line !== '') lines.push(line);
    line = hint;
  }
  if (line !== '') lines.push(line);
  return lines.map((text) => fitText(text, width, paint)).join('\n');
}

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
        const cut = viewCut(undefined, this.terminal);
        const width = viewWidth(undefined, this.terminal);
        const fitted = (text: string, paint?: Paint, indent = ''): string =>
          fitText(text, cut ? width : undefined, paint, indent);
        const context = { zone: this.zone, now: this.now, palette, width, cut };
        const when = `${this.now.setZone(this.zone).setLocale('en-GB').toFormat('ccc d LLL yyyy, HH:mm')} ${this.zone}`;
        const lines = [
          cut && displayWidth(`${login.username}  ${when}`) > width
            ? `${fitted(login.username, palette.bold)}\n${fitted(when, palette.dim)}`
            : `${palette.bold(login.username)}  ${palette.dim(when)}`,
          '',
          palette.bold('Today'),
          today.length === 0
            ? fitted('Nothing today.', palette.dim, '  ')
            : renderDayList(today, context, { from: midnight, headings: false, indent: '  ' }),
          '',
          palette.bold('Next'),
          next.length === 0
            ? fitted(`Nothing in the next ${NEXT_DAYS} days.`, palette.dim, '  ')
            : renderDayList(next, context, {
                firstNumber: today.length + 1,
                indent: '    ',
                headingIndent: '  ',
              }),
        ];
        if (result.invitations > 0) {
          const n = result.invitations;
          lines.push(
            '',
            fitted(
              `${n} invitation${n === 1 ? '' : 's'} waiting for your answer: agenda invite list`,
              palette.yellow,
            ),
          );
        }
        lines.push('', fitHints(HOME_HINTS, cut ? width : undefined, palette.dim));
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
        const width = this.width;
        const fitted = (text: string, paint?: Paint, indent = ''): string =>
          fitText(text, width, paint, indent);
        const lines: string[] = [];
        if (username === undefined) {
          const [register = '', login = ''] = hint;
          const labs =
            '(with `npm start`, the gateway is https://127.0.0.1:8443 and the CA .agenda/pki/ca.pem)';
          lines.push(
            width === undefined || displayWidth(INTRODUCTION) <= width
              ? `${palette.bold('Agenda')}${INTRODUCTION.slice('Agenda'.length)}`
              : fitted(INTRODUCTION),
            '',
            fitted('You are not logged in. To start:'),
          );
          const wide = `  ${register}   a new account`;
          if (width === undefined || displayWidth(wide) <= width) {
            lines.push(
              `  ${register}   ${palette.dim('a new account')}`,
              `  ${login}      ${palette.dim('an account you have')}`,
            );
          } else {
            // One below the other, each command under what it is for.
            lines.push(
              fitted('a new account:', palette.dim, '  '),
              fitted(register, undefined, '    '),
              fitted('an account you have:', palette.dim, '  '),
              fitted(login, undefined, '    '),
            );
          }
          lines.push(fitted(labs, palette.dim, '  '));
        } else {
          lines.push(
            width === undefined ||
              displayWidth(`The login of ${username} has ended. Log in again:`) <= width
              ? `The login of ${palette.bold(username)} has ended. Log in again:`
              : fitted(`The login of ${username} has ended. Log in again:`),
            fitted(hint[0] ?? '', undefined, '  '),
          );
        }
        lines.push(
          '',
          fitHints(
            ['Then: agenda (today and next)', 'agenda week', 'agenda --help'],
            width,
            palette.dim,
          ),
        );
        return lines.join('\n');
      },
    };
  }
}
