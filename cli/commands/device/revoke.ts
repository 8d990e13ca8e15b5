import { Args } from '@oclif/core';
import type { DeviceRevokedAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda device revoke <id>`: the device's app password opens nothing from now on. */
export default class DeviceRevoke extends AgendaCommand<typeof DeviceRevoke, DeviceRevokedAnswer> {
  static override summary = 'Revoke a device: its app password stops working at once.';
  static override examples = ['<%= config.bin %> <%= command.id %> Zb7pQ2xJr9WkT3nLm0aVcA'];
  static override args = {
    id: Args.string({
      description: 'The device, as `agenda device list` shows it.',
      required: true,
    }),
  };

  protected async execute(): Promise<Outcome<DeviceRevokedAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Revoking…', api.revokeDevice(this.args.id));
    return {
      result: answer,
      human: () => `Revoked device ${answer.device.id} (${answer.device.label}).`,
    };
  }
}
