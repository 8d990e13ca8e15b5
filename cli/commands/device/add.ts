import { Args } from '@oclif/core';
import type { DeviceAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda device add <label>`: an app password for one CalDAV client. */
export default class DeviceAdd extends AgendaCommand<typeof DeviceAdd, DeviceAnswer> {
  static override summary = 'Add a device: an app password for a CalDAV calendar app.';
  static override description =
    'CalDAV apps (phones, Thunderbird, khal through vdirsyncer) sign in with your username and this app password, never your account password. It is shown only now: type it into the app. It works until you revoke it (agenda device revoke <id>), change your password, or delete the account.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> phone',
    {
      description: 'Only the password, for a script',
      command: '<%= config.bin %> <%= command.id %> "work laptop" --json | jq -r .password',
    },
  ];
  static override args = {
    label: Args.string({
      description: 'What the device is, as `agenda device list` shows it (e.g. phone).',
      required: true,
    }),
  };

  protected async execute(): Promise<Outcome<DeviceAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Adding the device…',
      api.createDevice({ label: this.args.label }),
    );
    return {
      result: answer,
      human: () =>
        [
          `App password: ${answer.password}`,
          `Username:     ${answer.username}`,
          `Server:       ${answer.url}`,
          this.palette.dim(
            `Device ${answer.device.id} (${answer.device.label}). The password is not shown again; agenda device revoke ${answer.device.id} ends it.`,
          ),
        ].join('\n'),
    };
  }
}
