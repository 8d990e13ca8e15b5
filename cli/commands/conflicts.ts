import type { ConflictsAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { intervalFlags } from '../flags.js';
import type { WholeList } from '../http/agenda-api.js';
import { toApiInstant } from '../time.js';
import { renderConflicts } from '../ui/views.js';

/** `agenda conflicts`: overlapping events in your agenda. */
export default class Conflicts extends AgendaCommand<typeof Conflicts, WholeList<ConflictsAnswer>> {
  static override summary = 'List overlapping events you accepted (default: the next 7 days).';
  static override description =
    'Conflicts appear when a superior imposes an event, or when you allowed one with --allow-conflict.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --from today --to +30d --json',
  ];
  static override flags = { ...intervalFlags };

  protected async execute(): Promise<Outcome<WholeList<ConflictsAnswer>>> {
    const { from, to } = this.interval(this.flags.from, this.flags.to);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Looking for conflicts…',
      api.conflicts({ from: toApiInstant(from), to: toApiInstant(to) }),
    );
    return { result: answer, human: () => renderConflicts(answer.conflicts, this.view) };
  }
}
