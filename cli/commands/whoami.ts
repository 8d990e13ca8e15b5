import { Flags } from '@oclif/core';
import type { UserAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { loginEndsAt } from '../profiles.js';
import type { StoredLogin } from '../profiles.js';
import { formatInstant, relativeHint } from '../ui/views.js';

/**
 * What `whoami` prints with `--json`: who the profile's session is (`user`, as stored at
 * login; as the gateway says with `--check`), the profile, the gateways it talks to, when its
 * session ends (`expiresAt`: log in again then) and when the access token it holds runs out
 * (`accessExpiresAt`: renewed on the way, without asking), and whether a gateway was asked.
 */
export interface WhoamiResult extends UserAnswer {
  readonly profile: string;
  readonly servers: readonly string[];
  readonly expiresAt: string | null;
  readonly accessExpiresAt: string | null;
  /** Whether a gateway confirmed the session (`--check`); else the profile alone said it. */
  readonly checked: boolean;
}

/**
 * `agenda whoami`: who the profile is logged in as, from the profile alone — a question about
 * this machine's saved session, which needs no gateway up and answers at once. A session that
 * ended is said so (exit 2), as every command would. `--check` asks the gateway too: the
 * session may have been ended elsewhere (a logout, a password change), which only it knows.
 */
export default class Whoami extends AgendaCommand<typeof Whoami, WhoamiResult> {
  static override summary =
    'Show who you are logged in as, on which gateways, and until when (--check asks the gateway).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --check',
    '<%= config.bin %> <%= command.id %> --profile work --json',
  ];
  static override flags = {
    check: Flags.boolean({
      description:
        'Also ask the gateway whether it still takes the session (renewing the access token if it ran out), and who it says you are.',
      default: false,
    }),
  };

  protected async execute(): Promise<Outcome<WhoamiResult>> {
    const servers = (flagServers: string | undefined, saved: readonly string[]) =>
      flagServers === undefined ? [...saved] : flagServers.split(',').map((s) => s.trim());
    if (this.flags.check) {
      const { api, login, tokens, servers: asked } = await this.connect({ authenticated: true });
      const { user } = await this.slow('Asking the gateway…', api.me());
      // After the call: it may have renewed the tokens.
      const current = login === null ? null : { ...login, ...tokens?.held };
      return this.outcome(
        user,
        current,
        asked.map((url) => url.href.replace(/\/$/, '')),
        true,
      );
    }
    const profile = await this.profiles.read(this.profileName);
    const login = this.liveLogin(profile);
    const user = { username: login.username, name: login.name };
    return this.outcome(user, login, servers(this.flags.server, profile.servers), false);
  }

  private outcome(
    user: UserAnswer['user'],
    login: StoredLogin | null,
    servers: readonly string[],
    checked: boolean,
  ): Outcome<WhoamiResult> {
    const expiresAt = login === null ? null : loginEndsAt(login);
    const accessExpiresAt = login?.expiresAt ?? null;
    const profile = this.profileName;
    return {
      result: { user, profile, servers, expiresAt, accessExpiresAt, checked },
      human: () => {
        const name = user.name === '' ? '' : ` (${user.name})`;
        const until =
          expiresAt === null
            ? ''
            : `, session valid ${relativeHint(expiresAt, this.now).replace(/^in /, 'for ')} (until ${formatInstant(expiresAt, this.view)})`;
        const where = servers.length === 0 ? 'no gateway saved' : `gateway ${servers.join(', ')}`;
        const how = checked
          ? 'the gateway confirmed it'
          : 'from the profile; --check asks the gateway';
        return [
          `${this.palette.bold(user.username)}${name}${until}`,
          this.palette.dim(`profile ${profile}, ${where} (${how})`),
        ].join('\n');
      },
    };
  }
}
