import { Command, Flags } from '@oclif/core';

/** What `agenda version --json` prints. */
export interface VersionResult {
  /** `agenda/0.1.0`. */
  readonly cliVersion: string;
  /** `linux-x64`. */
  readonly architecture: string;
  /** `node-v20.20.2`. */
  readonly nodeVersion: string;
  /** The operating system and its release, as Node reports them. */
  readonly osVersion: string;
  /** The shell `$SHELL` names, or `unknown`. */
  readonly shell: string;
  /** Where the CLI is installed. */
  readonly rootPath: string;
  /** The oclif plugins it runs with (help, autocomplete), name → version. */
  readonly plugins: Readonly<Record<string, string>>;
}

/**
 * `agenda version`: the CLI's version, and with `--verbose` what it runs on. Ours rather than
 * @oclif/plugin-version's, whose `--verbose` asked the npm registry about the package named
 * "agenda" — another project — and printed that project's latest release as ours.
 *
 * A plain oclif command, not one of ours (base-command.ts): `agenda --version` is this
 * command, and what every command must start with is the bar it is measured by (issue 14:
 * ≤ 2.5 × `node -e 0`). Ours bring the views, the profiles and luxon, none of which a version
 * line needs. It cannot fail past oclif's parsing, whose refusals bin/agenda.js prints as
 * every command's (as JSON under --json).
 */
export default class Version extends Command {
  static override summary = 'Show the version of agenda (with --verbose, what it runs on).';
  static override description =
    'The first line is what `agenda --version` prints. Nothing is looked up on the network.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --verbose',
    '<%= config.bin %> <%= command.id %> --json',
  ];
  static override flags = {
    verbose: Flags.boolean({
      description: 'Also show the architecture, Node, the operating system, the shell and plugins.',
      default: false,
    }),
    // As every command's (base-command.ts).
    json: Flags.boolean({
      description: 'Print the result as JSON on stdout, and errors as JSON on stderr.',
      default: false,
      helpGroup: 'GLOBAL',
    }),
  };

  async run(): Promise<VersionResult> {
    const { flags } = await this.parse(Version);
    const details = this.config.versionDetails;
    const plugins = Object.fromEntries(
      [...this.config.plugins.values()]
        .filter((plugin) => plugin.name !== this.config.pjson.name)
        .map((plugin) => [plugin.name, plugin.version] as const)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
    const result: VersionResult = {
      cliVersion: details.cliVersion,
      architecture: details.architecture,
      nodeVersion: details.nodeVersion,
      osVersion: details.osVersion ?? 'unknown',
      shell: details.shell ?? 'unknown',
      rootPath: details.rootPath ?? this.config.root,
      plugins,
    };
    process.stdout.write(
      `${flags.json ? JSON.stringify(result) : human(result, flags.verbose, this.config.userAgent)}\n`,
    );
    return result;
  }
}

/** The version line, or with `verbose` a table of what the CLI runs on. */
function human(result: VersionResult, verbose: boolean, userAgent: string): string {
  if (!verbose) return userAgent;
  const rows: [string, string][] = [
    ['version', result.cliVersion],
    ['architecture', result.architecture],
    ['node', result.nodeVersion],
    ['system', result.osVersion],
    ['shell', result.shell],
    ['installed in', result.rootPath],
    ...Object.entries(result.plugins).map(([name, version]): [string, string] => [name, version]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
