import { Flags } from '@oclif/core';
import { InvalidInput } from '../../contract/errors.js';
import { chooseTopology } from '../../ops/open.js';
import { watchInTerminal } from '../../tui/watch.js';
import { OperatorCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';

/** The dashboard draws on the terminal until `q`: it has no result, with `--json` or without. */
export type DashboardResult = Record<string, never>;

/** `agenda dashboard`: the live operator view of `npm start`'s cluster, the lab's, or any described one. */
export default class Dashboard extends OperatorCommand<typeof Dashboard, DashboardResult> {
  static override summary =
    'Watch the cluster live: DB members, Redis, the VIP, the supervisor, gossip and failovers (q quits).';
  static override description =
    'Talks to the processes directly with the lab operator certificate found in the data directory, so it keeps working while gateways are down. Watches what npm start runs, unless --lab (the three-namespace lab) or --topology (a description file, such as the observer.json lab/multipass/up.sh writes) says otherwise.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --lab',
    '<%= config.bin %> <%= command.id %> --topology .agenda-multipass/agenda/observer.json',
  ];
  static override flags = {
    lab: Flags.boolean({
      description: 'Watch the three-namespace lab (data in AGENDA_LAB_DIR or ./.agenda-lab).',
      default: false,
    }),
    topology: Flags.string({
      description:
        'Watch the system this description file names (e.g. .agenda-multipass/agenda/observer.json).',
    }),
    'data-dir': Flags.string({
      description:
        'Where the system keeps its data (default: AGENDA_DATA_DIR or ./.agenda; with --lab, AGENDA_LAB_DIR or ./.agenda-lab).',
    }),
  };

  protected async execute(): Promise<Outcome<DashboardResult>> {
    // It draws on the terminal, with escape sequences: no program can read that as JSON.
    if (this.json) {
      throw new InvalidInput(
        'the dashboard draws on a terminal and has no JSON form: agenda cluster status --json prints the state once',
        { field: 'json' },
      );
    }
    await watchInTerminal(
      chooseTopology({
        lab: this.flags.lab,
        topology: this.flags.topology,
        dataDir: this.flags['data-dir'],
      }),
    );
    return { result: {}, human: () => '', streamed: true };
  }
}
