/**
 * `agenda autocomplete fish`: a fish completion script made from the command list. fish is
 * not installed where the tests run, so the script is checked as fish would read it by a
 * small reader of the fish syntax the script uses (quotes, comments, blocks), and its
 * completions are checked against the commands oclif finds.
 */
import test from 'ava';
import AutocompleteFish from '../commands/autocomplete/fish.js';
import { fishQuote } from '../fish-completion.js';
import { cliConfig, parseJsonResult, runCommand } from './support/harness.js';

/**
 * The words of one line as fish reads them: single quotes (where only `\'` and `\\` are
 * escapes), double quotes, backslash escapes outside quotes, and a `#` comment from the start
 * of a word. Throws on a quote left open: the script keeps every string on one line.
 */
function fishWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const take = (text: string) => (word = (word ?? '') + text);
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === "'") {
      i += 1;
      take('');
      for (;;) {
        if (i >= line.length) throw new Error(`a single quote left open: ${line}`);
        const q = line[i] ?? '';
        if (q === '\\' && (line[i + 1] === "'" || line[i + 1] === '\\')) {
          take(line[i + 1] ?? '');
          i += 2;
        } else if (q === "'") {
          i += 1;
          break;
        } else {
          take(q);
          i += 1;
        }
      }
    } else if (c === '"') {
      i += 1;
      take('');
      for (;;) {
        if (i >= line.length) throw new Error(`a double quote left open: ${line}`);
        const q = line[i] ?? '';
        if (q === '\\' && /["\\$]/.test(line[i + 1] ?? '')) {
          take(line[i + 1] ?? '');
          i += 2;
        } else if (q === '"') {
          i += 1;
          break;
        } else {
          take(q);
          i += 1;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error(`a line continued: ${line}`);
      take(line[i + 1] ?? '');
      i += 2;
    } else {
      take(c);
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const BLOCK_OPENERS = new Set(['function', 'for', 'if', 'while', 'begin', 'switch']);
/** The options of fish's `complete` the script may use, and whether each takes a value. */
const COMPLETE_OPTIONS: Readonly<Record<string, boolean>> = {
  '-c': true,
  '-n': true,
  '-a': true,
  '-d': true,
  '-l': true,
  '-s': true,
  '-f': false,
  '-r': false,
  '-x': false,
};

/** Each `complete` line of `script` as its options; checks the script's syntax on the way. */
function completions(script: string): Map<string, string[]>[] {
  let depth = 0;
  const lines: Map<string, string[]>[] = [];
  for (const line of script.split('\n')) {
    const words = fishWords(line);
    const [command, ...rest] = words;
    if (command === undefined) continue;
    if (BLOCK_OPENERS.has(command)) depth += 1;
    if (command === 'end') depth -= 1;
    if (depth < 0) throw new Error(`an end without a block: ${line}`);
    if (command !== 'complete') continue;
    if (depth !== 0) throw new Error(`complete inside a block: ${line}`);
    const options = new Map<string, string[]>();
    for (let i = 0; i < rest.length; i++) {
      const option = rest[i] ?? '';
      const takesValue = COMPLETE_OPTIONS[option];
      if (takesValue === undefined) throw new Error(`complete does not take ${option}: ${line}`);
      const value = takesValue ? rest[++i] : '';
      if (value === undefined) throw new Error(`${option} without its value: ${line}`);
      options.set(option, [...(options.get(option) ?? []), value]);
    }
    lines.push(options);
  }
  if (depth !== 0) throw new Error(`${depth} block(s) left open`);
  return lines;
}

/** The path a `complete` line's condition (`__agenda_at 'event add'`) names. */
function pathOf(options: Map<string, string[]>): string {
  const [condition = ''] = options.get('-n') ?? [];
  const [fn, path, ...more] = fishWords(condition);
  if (fn !== '__agenda_at' || path === undefined || more.length > 0) {
    throw new Error(`not a condition on the command typed: ${condition}`);
  }
  return path;
}

test('the fish script offers every command under its topic, and each command its flags', async (t) => {
  const run = await runCommand(AutocompleteFish, []);
  t.is(run.exitCode, 0, run.stderr);
  const lines = completions(run.stdout);
  t.true(lines.length > 100, `${lines.length} completions`);
  for (const line of lines) t.deepEqual(line.get('-c'), ['agenda']);

  // The words offered at each point: at the start, in a topic, at a command.
  const offered = new Map<string, Set<string>>();
  const flagsAt = new Map<string, Set<string>>();
  for (const line of lines) {
    const path = pathOf(line);
    for (const words of line.get('-a') ?? []) {
      if (line.has('-l')) continue;
      for (const word of words.split(' '))
        offered.set(path, (offered.get(path) ?? new Set()).add(word));
    }
    for (const flag of line.get('-l') ?? []) {
      flagsAt.set(path, (flagsAt.get(path) ?? new Set()).add(flag));
    }
  }
  const config = await cliConfig();
  const visible = config.commands.filter((command) => command.hidden !== true);
  t.true(visible.length > 40);
  for (const command of visible) {
    const words = command.id.split(':');
    const parent = words.slice(0, -1).join(' ');
    const name = words.at(-1) ?? '';
    t.true(offered.get(parent)?.has(name) === true, `${name} is offered after "agenda ${parent}"`);
    const flags = Object.values(command.flags).filter((flag) => flag.hidden !== true);
    for (const flag of flags) {
      t.true(
        flagsAt.get(words.join(' '))?.has(flag.name) === true,
        `agenda ${words.join(' ')} --${flag.name}`,
      );
    }
  }
  // Topics are offered at the start, hidden commands nowhere.
  for (const topic of ['event', 'group', 'invite', 'cluster', 'autocomplete']) {
    t.true(offered.get('')?.has(topic), topic);
  }
  t.true(offered.get('cluster')?.has('member'));
  t.false(offered.get('')?.has('home'));
  t.false(offered.get('autocomplete')?.has('script'));

  // Values: a flag with a fixed set offers it (and nothing else); one without takes any.
  const layout = lines.find((line) => pathOf(line) === 'week' && line.get('-l')?.[0] === 'layout');
  t.deepEqual(layout?.get('-a'), ['grid list']);
  t.true(layout?.has('-x'));
  const start = lines.find(
    (line) => pathOf(line) === 'event add' && line.get('-l')?.[0] === 'start',
  );
  t.true(start?.has('-r'));
  t.false(start?.has('-a'));
  // A description is shown as written, quotes and all ($COLUMNS is not expanded).
  const width = lines.find((line) => pathOf(line) === 'week' && line.get('-l')?.[0] === 'width');
  t.regex(width?.get('-d')?.[0] ?? '', /\$COLUMNS, else the terminal's/);
});

test('the global flags, --help and the topics of help are offered where they are typed', async (t) => {
  const run = await runCommand(AutocompleteFish, []);
  t.is(run.exitCode, 0, run.stderr);
  const lines = completions(run.stdout);
  const flagLines = (path: string) =>
    lines.filter((line) => pathOf(line) === path && line.has('-l'));
  const flagsAt = (path: string) =>
    new Set(flagLines(path).flatMap((line) => line.get('-l') ?? []));
  // Accepted anywhere (bin/command-line.js moves them after the command): before any command,
  // and inside a topic, where a command is still to come.
  for (const path of ['', 'event', 'group', 'cluster member']) {
    for (const flag of ['json', 'server', 'ca', 'profile', 'tz', 'help']) {
      t.true(flagsAt(path).has(flag), `agenda ${path} --${flag}`);
    }
    t.false(flagsAt(path).has('config-dir'), 'hidden');
  }
  t.true(flagsAt('').has('version'));
  // A flag that takes a value asks for one; --json takes none.
  const profile = flagLines('').find((line) => line.get('-l')?.[0] === 'profile');
  t.true(profile?.has('-r'));
  t.regex(profile?.get('-d')?.[0] ?? '', /Stored login/);
  const json = flagLines('').find((line) => line.get('-l')?.[0] === 'json');
  t.false(json?.has('-r'));
  // --help and -h at every point: the start, topics and commands.
  const help = lines.filter((line) => line.get('-l')?.[0] === 'help');
  const helpPaths = new Set(help.map(pathOf));
  for (const path of ['', 'event', 'event add', 'today', 'cluster member replace', 'help']) {
    t.true(helpPaths.has(path), `agenda ${path} --help`);
  }
  t.true(help.every((line) => line.get('-s')?.[0] === 'h'));
  // `agenda help <TAB>` offers the commands and topics, and `agenda help event <TAB>` event's.
  const offeredAt = (path: string) =>
    new Set(
      lines
        .filter((line) => pathOf(line) === path && !line.has('-l'))
        .flatMap((line) => line.get('-a') ?? []),
    );
  for (const word of ['event', 'group', 'today', 'autocomplete']) {
    t.true(offeredAt('help').has(word), `agenda help ${word}`);
  }
  t.false(offeredAt('help').has('help'));
  t.deepEqual([...offeredAt('help event')].sort(), ['add', 'cancel', 'list', 'show', 'update']);
  t.true(offeredAt('help cluster member').has('replace'));
  // The path function reads the words after `help` as the command asked about.
  t.regex(run.stdout, /^ {8}if test "\$path\[1\]" = help\n {12}set -e rest\[1\]\n {8}end$/m);
  t.regex(run.stdout, /^ {8}set -l longer \(string join ' ' \$rest \$word\)$/m);
});

test('the path of the command typed is found by one function, and its list holds every command', async (t) => {
  const { stdout } = await runCommand(AutocompleteFish, []);
  // The list the function follows, with every command and topic.
  const list = stdout.split('\n').find((line) => line.startsWith('set -g __agenda_paths '));
  const paths = fishWords(list ?? '').slice(3);
  t.true(paths.includes('event add'));
  t.true(paths.includes('cluster member replace'));
  t.true(paths.includes('cluster member'));
  t.true(paths.includes('autocomplete fish'));
  t.false(paths.includes('home'));
  for (const fn of ['__agenda_path', '__agenda_at']) {
    t.regex(stdout, new RegExp(`^function ${fn}$`, 'm'));
  }
});

test('fish quoting keeps any text as one word, as written', (t) => {
  for (const text of ["it's", 'a\\b', "\\'", '$HOME (x) "y" ; z # not a comment', '']) {
    t.deepEqual(fishWords(`echo ${fishQuote(text)}`), ['echo', text]);
  }
});

test('with --json the script is the result', async (t) => {
  const run = await runCommand(AutocompleteFish, ['--json']);
  t.is(run.exitCode, 0, run.stderr);
  const result = parseJsonResult(AutocompleteFish, run.stdout);
  t.is(result.shell, 'fish');
  t.is(`${result.script.replace(/\n+$/, '')}\n`, (await runCommand(AutocompleteFish, [])).stdout);
});
