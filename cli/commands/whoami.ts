import type { UserAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { relativeHint } from '../ui/views.js';

/**
 * What `whoami` prints with `--json`: the gateway's answer, with the profile and when its
 * stored login expires.
 */
export interface WhoamiResult extends UserAnswer {
  readonly profile: string;
  readonly expiresAt: string | null;
}

/** `agenda whoami`: who the gateway says the stored token belongs to. */
export default class Whoami extends AgendaCommand<typeof Whoami, WhoamiResult> {
  static override summary = 'Show who you are logged in as (asks the gateway).';

  protected async execute(): Promise<Outcome<WhoamiResult>> {
    const { api, login } = await this.connect({ authenticated: true });
    const { user } = await this.slow('Asking the gateway…', api.me());
    const expiresAt = login?.expiresAt ?? null;
    return {
      result: { user, profile: this.profileName, expiresAt },
      human: () => {
        const name = user.name === '' ? '' : ` (${user.name})`;
        const until =
          expiresAt === null
            ? ''
            : `, login valid ${relativeHint(expiresAt, this.now).replace(/^in /, 'for ')}`;
        return `${this.palette.bold(user.username)}${name}${until}`;
      },
    };
  }
}
