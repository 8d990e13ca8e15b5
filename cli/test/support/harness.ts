/**
 * Running `agenda` commands in-process for tests: a recorded terminal instead of the
 * process's streams, the repository's oclif configuration, and the outcome (exit code,
 * stdout, stderr, result) in one value. Results are typed by the command run (its
 * `ResultOf`), and {@link parseJsonResult} reads `--json` output as that type, so a test
 * names only fields the command's result has.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { CommandFailed, CommandIncomplete, EXIT_INCOMPLETE } from '../../base-command.js';
import type { ResultOf } from '../../base-command.js';
import type { InputStream, OutputStream, Terminal } from '../../terminal.js';
import type { AgendaError } from '../../../contract/errors.js';
import { temporaryDirectory } from '../../../test/support/temp-dirs.js';

/** The repository root, whose package.json configures oclif. */
export const REPOSITORY_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../..',
);

/** An output stream that keeps what was written. */
export class RecordedOutput implements OutputStream {
  text = '';
  constructor(
    readonly isTTY = false,
    /** A terminal's width, when the test gives one. */
    readonly columns?: number,
  ) {}

  write(text: string, written?: (error?: Error | null) => void): boolean {
    this.text += text;
    if (written) queueMicrotask(() => written(null));
    return true;
  }
}

/** A terminal whose output is recorded, whose input is given, and whose Ctrl-C a test presses. */
export class RecordedTerminal implements Terminal {
  readonly stdout: RecordedOutput;
  readonly stderr: RecordedOutput;
  readonly stdin: InputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  private readonly interruptHandlers = new Set<() => void>();

  constructor(
    options: {
      stdin?: string;
      tty?: boolean;
      /** The terminal's width in columns (stdout's), on a `tty`. */
      columns?: number;
      env?: Record<string, string | undefined>;
    } = {},
  ) {
    this.stdout = new RecordedOutput(options.tty ?? false, options.columns);
    this.stderr = new RecordedOutput(options.tty ?? false);
    this.stdin = Readable.from([options.stdin ?? ''], { objectMode: false });
    this.env = options.env ?? {};
  }

  onInterrupt(handler: () => void): () => void {
    this.interruptHandlers.add(handler);
    return () => this.interruptHandlers.delete(handler);
  }

  /** Whether a command is listening for Ctrl-C right now. */
  get interruptible(): boolean {
    return this.interruptHandlers.size > 0;
  }

  /** Presses Ctrl-C. */
  interrupt(): void {
    for (const handler of [...this.interruptHandlers]) handler();
  }
}

/** What running one command, whose result is a `Result`, produced. */
export interface CommandRun<Result extends object = object> {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the command resolved to (its JSON result), when it succeeded, if only in part. */
  readonly result: Result | undefined;
  /** The reported failure, when it failed. */
  readonly error: AgendaError | undefined;
}

/**
 * Anything `runIn` can be called on: a concrete command class, whose `run` says the type of
 * its result (what `ResultOf` reads).
 */
export interface RunnableCommand {
  readonly prototype: { run(): Promise<object> };
  runIn(argv: string[], config: Config, terminal: Terminal): Promise<unknown>;
}

let config: Promise<Config> | undefined;

/** The oclif configuration of the repository, loaded once per test file. */
export function cliConfig(): Promise<Config> {
  config ??= Config.load(REPOSITORY_ROOT);
  return config;
}

/** Runs `command` with `argv` in-process against `terminal` (a fresh one by default). */
export async function runCommand<C extends RunnableCommand>(
  command: C,
  argv: readonly string[],
  terminal: RecordedTerminal = new RecordedTerminal(),
): Promise<CommandRun<ResultOf<C>>> {
  try {
    // `runIn` resolves to what the command's `run` does: its result.
    const result = (await command.runIn([...argv], await cliConfig(), terminal)) as ResultOf<C>;
    return {
      exitCode: 0,
      stdout: terminal.stdout.text,
      stderr: terminal.stderr.text,
      result,
      error: undefined,
    };
  } catch (error) {
    if (error instanceof CommandIncomplete) {
      return {
        exitCode: EXIT_INCOMPLETE,
        stdout: terminal.stdout.text,
        stderr: terminal.stderr.text,
        result: error.result as ResultOf<C>,
        error: undefined,
      };
    }
    if (!(error instanceof CommandFailed)) throw error;
    return {
      exitCode: error.error.exitCode,
      stdout: terminal.stdout.text,
      stderr: terminal.stderr.text,
      result: undefined,
      error: error.error,
    };
  }
}

/** A fresh, empty config directory (what `AGENDA_CONFIG_DIR` would name). */
export function temporaryConfigDir(): Promise<string> {
  return temporaryDirectory('agenda-cli-config-');
}

/**
 * Parses one line of JSON output. On stderr, the `{"warning":…}` and `{"note":…}` lines a
 * command writes as it goes under `--json` (see `remark` in cli/base-command.ts) are passed
 * over: what is parsed is the one line left, the error. Tests of warnings read them whole.
 */
export function parseJsonLine(text: string): unknown {
  const lines = text
    .trim()
    .split('\n')
    .filter((line) => !/^\{"(?:warning|note)":/.test(line));
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got:\n${text}`);
  return JSON.parse(lines[0] ?? '');
}

/**
 * Parses the one line `command` printed on stdout with `--json` (in-process or as
 * `bin/agenda.js`) as that command's result type. Only the type is the command's: what the
 * line holds is for the test's assertions to check.
 */
export function parseJsonResult<C extends RunnableCommand>(
  _command: C,
  stdout: string,
): ResultOf<C> {
  return parseJsonLine(stdout) as ResultOf<C>;
}

/** Resolves once `condition()` holds, checking every few milliseconds; fails after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
