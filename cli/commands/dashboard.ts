import { Flags } from '@oclif/core';
import { localDataDir, observeLocalCluster } from '../../lab/local/operator.js';
import { runDashboard } from '../../tui/run.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';

/** `agenda dashboard`: the live operator view of the cluster `npm start` runs. */
export default class Dashboard extends AgendaCommand<typeof Dashboard> {
  static override summary =
    'Watch the cluster live: DB members, Redis, the supervisor and failovers (q quits).';
  static override description =
    'Talks to the processes directly with the lab operator certificate found in the data directory, so it keeps working while gateways are down.';
  static override flags = {
    'data-dir': Flags.string({
      description: 'Where npm start keeps its data (default: AGENDA_DATA_DIR or ./.agenda).',
    }),
  };

  protected async execute(): Promise<Outcome> {
    const observer = observeLocalCluster(localDataDir(this.flags['data-dir']));
    const controller = new AbortController();
    try {
      await runDashboard(observer, { signal: controller.signal });
    } finally {
      await observer.close();
    }
    return { result: {}, human: () => '', streamed: true };
  }
}
