import type { UserAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { loginEndsAt } from '../profiles.js';
import { relativeHint } from '../ui/views.js';

/**
 * What `whoami` prints with `--json`: the gateway's answer, with the profile, when its
 * session ends (`expiresAt`: log in again then) and when the access token it holds now runs
 * out (`accessExpiresAt`: renewed on the way, without asking).
 */
export interface WhoamiResult extends UserAnswer {
  readonly profile: string;
  readonly expiresAt: string | null;
  readonly accessExpiresAt: string | null;
}

/** `agenda whoami`: who the gateway says the stored token belongs to. */
export default class Whoami extends AgendaCommand<typeof Whoami, WhoamiResult> {
  static override summary = 'Show who you are logged in as (asks the gateway), and until when.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --profile work --json',
  ];

  protected async execute(): Promise<Outcome<WhoamiResult>> {
    const { api, login, tokens } = await this.connect({ authenticated: true });
    const { user } = await this.slow('Asking the gateway…', api.me());
    // After the call: it may have renewed the tokens.
    const current = login === null ? null : { ...login, ...tokens?.held };
    const expiresAt = current === null ? null : loginEndsAt(current);
    const accessExpiresAt = current?.expiresAt ?? null;
    return {
      result: { user, profile: this.profileName, expiresAt, accessExpiresAt },
      human: () => {
        const name = user.name === '' ? '' : ` (${user.name})`;
        const until =
          expiresAt === null
            ? ''
            : `, session valid ${relativeHint(expiresAt, this.now).replace(/^in /, 'for ')}`;
        return `${this.palette.bold(user.username)}${name}${until}`;
      },
    };
  }
}
