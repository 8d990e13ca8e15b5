import type { GroupsAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroups } from '../../ui/views.js';

/** `agenda group list`: the groups you belong to. */
export default class GroupList extends AgendaCommand<typeof GroupList, GroupsAnswer> {
  static override summary = 'List the groups you belong to.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ];

  protected async execute(): Promise<Outcome<GroupsAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching groups…', api.groups());
    return { result: answer, human: () => renderGroups(answer.groups, this.palette, this.width) };
  }
}
