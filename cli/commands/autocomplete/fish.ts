import { AgendaCommand, LocalCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { fishCompletionScript } from '../../fish-completion.js';

/** What `agenda autocomplete fish --json` prints. */
export interface FishCompletionResult {
  readonly shell: 'fish';
  /** The script, as printed without `--json`. */
  readonly script: string;
}

/**
 * `agenda autocomplete fish`: the fish completion script, made from the commands this CLI
 * has (cli/fish-completion.ts). oclif's plugin-autocomplete, which gives `autocomplete
 * bash|zsh|powershell`, has no fish; this command, more precise than its argument, is what
 * `autocomplete fish` runs.
 */
export default class AutocompleteFish extends LocalCommand<
  typeof AutocompleteFish,
  FishCompletionResult
> {
  static override summary = 'Print the fish shell completion script (commands, topics, flags).';
  static override description =
    'Save it where fish looks for completions; make it again after an upgrade of agenda.';
  static override examples = [
    '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/agenda.fish',
  ];

  protected execute(): Promise<Outcome<FishCompletionResult>> {
    const script = fishCompletionScript({
      bin: this.config.bin,
      commands: this.config.commands,
      topics: this.config.topics,
      // A user's commands' global flags: what bin/command-line.js takes before a command.
      globalFlags: Object.entries(AgendaCommand.baseFlags).map(([name, flag]) => ({
        ...flag,
        name,
      })),
    });
    return Promise.resolve({
      result: { shell: 'fish', script },
      // The human form ends with a newline of its own when printed.
      human: () => script.replace(/\n+$/, ''),
    });
  }
}
