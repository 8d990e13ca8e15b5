/**
 * A completion script for the fish shell, made from the command list: what `agenda
 * autocomplete fish` prints. oclif's plugin-autocomplete (3.x) writes scripts for bash, zsh
 * and PowerShell only.
 *
 * fish completes through `complete` lines, each offering words under a condition. The
 * condition here is one function, `__agenda_at PATH`: whether the command or topic typed so
 * far is PATH (`''` before any, `event` after `agenda event`, `event add` after `agenda event
 * add`). It skips flags and every word that does not carry a known path further (a flag's
 * value, an argument), so `agenda --profile work event <TAB>` offers `event`'s commands. At a
 * topic, its commands and subtopics are offered (and no files); at a command, its flags, with
 * their values when they have a fixed set. The global flags (`--json`, `--profile`, …), which
 * bin/command-line.js takes before the command too, are offered before it and at topics;
 * `--help` (`-h`) everywhere; and after `help`, the commands and topics to ask about.
 */

/** What the script is made of: the commands and topics as oclif's configuration has them. */
export interface CompletionSource {
  /** The program's name (`agenda`). */
  readonly bin: string;
  readonly commands: readonly CompletionCommand[];
  readonly topics: readonly { readonly name: string; readonly description?: string | undefined }[];
  /**
   * The flags taken anywhere on the command line, before the command or between its words
   * too (bin/command-line.js moves them after it): offered before any command and at topics.
   */
  readonly globalFlags?: readonly CompletionFlag[];
}

export interface CompletionCommand {
  /** oclif's id, with `:` between words (`event:add`). */
  readonly id: string;
  readonly summary?: string | undefined;
  readonly description?: string | undefined;
  readonly hidden?: boolean | undefined;
  readonly flags: Readonly<Record<string, CompletionFlag>>;
  /** Its arguments; those with a fixed set of values are offered (`autocomplete <shell>`). */
  readonly args?: Readonly<Record<string, { readonly options?: readonly string[] | undefined }>>;
}

export interface CompletionFlag {
  readonly name: string;
  readonly char?: string | undefined;
  /** `boolean` flags take no value. */
  readonly type: 'boolean' | 'option';
  /** The values it accepts, when they are a fixed set (`--layout grid|list`). */
  readonly options?: readonly string[] | undefined;
  readonly summary?: string | undefined;
  readonly description?: string | undefined;
  readonly hidden?: boolean | undefined;
  /** A boolean flag that also has a `--no-` form. */
  readonly allowNo?: boolean | undefined;
}

/** The fish script completing `source.bin`'s commands, topics and flags. */
export function fishCompletionScript(source: CompletionSource): string {
  const bin = source.bin;
  const fn = `__${bin.replaceAll(/[^A-Za-z0-9_]/g, '_')}`;
  const commands = source.commands.filter((command) => command.hidden !== true);
  const commandPaths = new Set(commands.map((command) => spaced(command.id)));
  // Every path a word can lead to: the commands, and the topics above them (implied ones
  // too: `cluster member` exists only as the commands under it).
  const topicPaths = new Set<string>();
  for (const path of commandPaths) {
    const words = path.split(' ');
    for (let n = 1; n < words.length; n++) topicPaths.add(words.slice(0, n).join(' '));
  }
  const topicDescriptions = new Map(
    source.topics.map((topic) => [spaced(topic.name), topic.description]),
  );
  const paths = [...new Set([...topicPaths, ...commandPaths])].sort();

  const lines: string[] = [
    `# fish completion for ${bin}, made by \`${bin} autocomplete fish\` from its commands.`,
    `# Install: ${bin} autocomplete fish > ~/.config/fish/completions/${bin}.fish`,
    `# (made again after an upgrade of ${bin}, to learn its new commands and flags).`,
    '',
    `# Every command and topic, as words: what ${fn}_path follows.`,
    `set -g ${fn}_paths ${paths.map(fishQuote).join(' ')}`,
    '',
    `# The command or topic typed so far after ${bin}: flags, their values and arguments skipped`,
    `# (after \`help\`: \`help\` and the command or topic asked about, as \`help event add\`).`,
    `function ${fn}_path`,
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    set -l path',
    '    for word in $words',
    "        if string match -q -- '-*' $word",
    '            continue',
    '        end',
    `        # After \`${bin} help\`, the words name the command or topic it is about.`,
    '        set -l rest $path',
    '        if test "$path[1]" = help',
    '            set -e rest[1]',
    '        end',
    "        set -l longer (string join ' ' $rest $word)",
    `        if contains -- $longer $${fn}_paths`,
    '            set path $path $word',
    '        end',
    '    end',
    "    string join ' ' $path",
    'end',
    '',
    `# Whether the command or topic typed so far is $argv[1] ('' for none yet).`,
    `function ${fn}_at`,
    `    set -l path (${fn}_path)`,
    '    test "$path" = "$argv[1]"',
    'end',
    '',
  ];
  const at = (path: string) => fishQuote(`${fn}_at ${fishQuote(path)}`);

  // At a topic (or before any): the words that go further, and no files.
  const children = new Map<string, string[]>();
  for (const path of paths) {
    const words = path.split(' ');
    const parent = words.slice(0, -1).join(' ');
    children.set(parent, [...(children.get(parent) ?? []), path]);
  }
  const byId = new Map(commands.map((command) => [spaced(command.id), command]));
  const helping = commandPaths.has('help');
  const sortedChildren = [...children].sort(([a], [b]) => a.localeCompare(b));
  for (const [parent, below] of sortedChildren) {
    lines.push(parent === '' ? `# ${bin} <command>` : `# ${bin} ${parent} <command>`);
    for (const path of below) {
      const command = byId.get(path);
      const description =
        command === undefined
          ? topicDescriptions.get(path)
          : (command.summary ?? command.description ?? topicDescriptions.get(path));
      const word = path.split(' ').at(-1) ?? path;
      const offer = `-a ${fishQuote(word)}${describe(description, bin)}`;
      lines.push(`complete -c ${bin} -f -n ${at(parent)} ${offer}`);
    }
    lines.push('');
  }
  // `help <command>`: the same words, after `help` (which is itself no topic).
  if (helping) {
    for (const [parent, below] of sortedChildren) {
      lines.push(`# ${bin} help ${parent === '' ? '' : `${parent} `}<command>`);
      const helpPath = parent === '' ? 'help' : `help ${parent}`;
      for (const path of below.filter((path) => path !== 'help')) {
        const description = byId.get(path)?.summary ?? topicDescriptions.get(path);
        const word = path.split(' ').at(-1) ?? path;
        lines.push(
          `complete -c ${bin} -f -n ${at(helpPath)} -a ${fishQuote(word)}${describe(description, bin)}`,
        );
      }
      lines.push('');
    }
  }

  // Before any command and at a topic: the global flags (a command lists its own below),
  // --version at the start, and --help (-h) everywhere.
  const globals = (source.globalFlags ?? []).filter((flag) => flag.hidden !== true);
  lines.push(`# ${bin} --help, --version and the global flags, before a command or inside a topic`);
  for (const path of ['', ...[...topicPaths].filter((p) => !commandPaths.has(p)).sort()]) {
    for (const flag of globals) lines.push(flagLine(bin, at(path), flag));
    if (path === '') {
      lines.push(`complete -c ${bin} -n ${at(path)} -l version -s v -d 'Show the version'`);
    }
  }
  for (const path of ['', ...paths]) {
    lines.push(`complete -c ${bin} -n ${at(path)} -l help -s h -d 'Show help'`);
  }
  lines.push('');

  // At a command: its flags, and the values of arguments that have a fixed set.
  for (const command of [...commands].sort((a, b) => a.id.localeCompare(b.id))) {
    const path = spaced(command.id);
    const flags = Object.values(command.flags).filter((flag) => flag.hidden !== true);
    const values = Object.values(command.args ?? {}).flatMap((arg) => arg.options ?? []);
    if (flags.length === 0 && values.length === 0) continue;
    lines.push(`# ${bin} ${path}`);
    if (values.length > 0) {
      lines.push(`complete -c ${bin} -f -n ${at(path)} -a ${fishQuote(values.join(' '))}`);
    }
    for (const flag of [...flags].sort((a, b) => a.name.localeCompare(b.name))) {
      lines.push(flagLine(bin, at(path), flag));
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The `complete` line(s) of `flag` under `condition` (and of its `--no-` form). */
function flagLine(bin: string, condition: string, flag: CompletionFlag): string {
  const char = flag.char === undefined ? '' : ` -s ${flag.char}`;
  const value =
    flag.type === 'boolean'
      ? ''
      : flag.options !== undefined && flag.options.length > 0
        ? ` -x -a ${fishQuote(flag.options.join(' '))}`
        : ' -r';
  const description = describe(flag.summary ?? flag.description, bin);
  const line = `complete -c ${bin} -n ${condition} -l ${flag.name}${char}${value}${description}`;
  return flag.type === 'boolean' && flag.allowNo === true
    ? `${line}\ncomplete -c ${bin} -n ${condition} -l no-${flag.name}`
    : line;
}

/** `event:add` as typed: `event add`. */
function spaced(id: string): string {
  return id.replaceAll(':', ' ');
}

/** ` -d '…'`: the first line of `text`, its template for the program's name filled in. */
function describe(text: string | undefined, bin: string): string {
  const line = (text ?? '').replaceAll('<%= config.bin %>', bin).split('\n')[0]?.trim();
  return line === undefined || line === '' ? '' : ` -d ${fishQuote(line)}`;
}

/**
 * `text` as one fish word in single quotes, where only `\'` and `\\` are escapes: nothing in
 * it is expanded (no `$`, no `(…)`), so a description is shown as written.
 */
export function fishQuote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
