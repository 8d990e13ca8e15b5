import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import { LocalCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** The shells `agenda` completes: fish by its own script, the others by oclif's plugin. */
export const COMPLETED_SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
type Shell = (typeof COMPLETED_SHELLS)[number];

/** What `agenda autocomplete <shell> --json` prints. */
export interface AutocompleteResult {
  readonly shell: Shell;
  /** What to run once, in that shell, to set completion up. */
  readonly setup: string;
}

/**
 * `agenda autocomplete [shell]`: how to set completion up in a shell. It takes the place of
 * the plugin-autocomplete command of that name, which knows no fish (its refusal of `tcsh`
 * named bash, zsh and powershell) and prints its instructions as text even with `--json`.
 * The plugin still makes the bash, zsh and PowerShell completions (`autocomplete:create`,
 * into oclif's cache) and the line their setup sources (`autocomplete script <shell>`);
 * fish's script is ours (`autocomplete fish`).
 */
export default class Autocomplete extends LocalCommand<typeof Autocomplete, AutocompleteResult> {
  static override summary = 'Set up completion of agenda in bash, zsh or fish (or PowerShell).';
  static override description =
    'Prints what to run once in the shell (the shell of $SHELL when none is given). `agenda autocomplete fish` prints the fish script itself.';
  static override examples = [
    '<%= config.bin %> autocomplete bash',
    '<%= config.bin %> autocomplete zsh',
    '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/agenda.fish',
  ];
  static override args = {
    shell: Args.string({
      description: 'bash, zsh, fish or powershell (default: that of $SHELL).',
      options: [...COMPLETED_SHELLS],
      required: false,
    }),
  };
  static override flags = {
    'refresh-cache': Flags.boolean({
      char: 'r',
      description: 'Only make the completions again (after an upgrade of agenda).',
    }),
  };

  protected async execute(): Promise<Outcome<AutocompleteResult>> {
    const shell = this.shell();
    const { bin } = this.config;
    if (shell !== 'fish') {
      // The plugin's completions for bash, zsh and PowerShell, which its setup line sources.
      await this.config.runCommand('autocomplete:create');
    }
    const script = `${bin} autocomplete script ${shell}`;
    const setup = {
      bash: `printf "$(${script})" >> ~/.bashrc; source ~/.bashrc`,
      zsh: `printf "$(${script})" >> ~/.zshrc; source ~/.zshrc`,
      fish: `${bin} autocomplete fish > ~/.config/fish/completions/${bin}.fish`,
      powershell: `Add-Content -Path $PROFILE -Value (Invoke-Expression -Command "${script}"); .$PROFILE`,
    }[shell];
    const human = () =>
      this.flags['refresh-cache']
        ? ''
        : [
            `To complete ${bin} in ${shell}, run once:`,
            '',
            `  ${setup}`,
            '',
            `Then ${bin} <TAB> completes commands, and ${bin} <command> --<TAB> their flags.` +
              (shell === 'fish' ? ` Run it again after an upgrade of ${bin}.` : ''),
          ].join('\n');
    return { result: { shell, setup }, human };
  }

  /** The shell asked for, else that of `$SHELL`; refused when agenda does not complete it. */
  private shell(): Shell {
    const asked = this.args.shell ?? path.basename(this.terminal.env.SHELL ?? '');
    const shell = asked.endsWith('\\bash.exe') ? 'bash' : asked;
    if ((COMPLETED_SHELLS as readonly string[]).includes(shell)) return shell as Shell;
    throw new InvalidInput(
      asked === ''
        ? 'say which shell to complete in: bash, zsh, fish or powershell'
        : `"${asked}" (from $SHELL) is not one of bash, zsh, fish or powershell: give the shell`,
      { field: 'shell' },
    );
  }
}
