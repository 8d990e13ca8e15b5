import type { DevicesAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderTable } from '../../ui/table.js';

/** `agenda device list`: the devices whose app passwords open your calendar over CalDAV. */
export default class DeviceList extends AgendaCommand<typeof DeviceList, DevicesAnswer> {
  static override summary = 'List your devices (their app passwords are shown only when made).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  protected async execute(): Promise<Outcome<DevicesAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching devices…', api.devices());
    return {
      result: answer,
      human: () =>
        answer.devices.length === 0
          ? this.palette.dim('No devices.')
          : renderTable(
              answer.devices,
              [
                { key: 'id', header: 'ID', text: (d) => d.id },
                { key: 'label', header: 'LABEL', text: (d) => d.label },
                { key: 'created', header: 'CREATED', text: (d) => d.createdAt },
              ],
              { paintHeader: this.palette.dim },
            ),
    };
  }
}
