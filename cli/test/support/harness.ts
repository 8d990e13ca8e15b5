/**
 * Running `agenda` commands in-process for tests: a recorded terminal instead of the
 * process's streams, the repository's oclif configuration, and the outcome (exit code,
 * stdout, stderr, result) in one value.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { CommandFailed } from '../../base-command.js';
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
  constructor(readonly isTTY = false) {}

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
    options: { stdin?: string; tty?: boolean; env?: Record<string, string | undefined> } = {},
  ) {
    this.stdout = new RecordedOutput(options.tty ?? false);
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

/** What running one command produced. */
export interface CommandRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the command resolved to (its JSON result), when it succeeded. */
  readonly result: unknown;
  /** The reported failure, when it failed. */
  readonly error: AgendaError | undefined;
}

/** Anything `runIn` can be called on: a concrete command class. */
export interface RunnableCommand {
  runIn(argv: string[], config: Config, terminal: Terminal): Promise<unknown>;
}

let config: Promise<Config> | undefined;

/** The oclif configuration of the repository, loaded once per test file. */
export function cliConfig(): Promise<Config> {
  config ??= Config.load(REPOSITORY_ROOT);
  return config;
}

/** Runs `command` with `argv` in-process against `terminal` (a fresh one by default). */
export async function runCommand(
  command: RunnableCommand,
  argv: readonly string[],
  terminal: RecordedTerminal = new RecordedTerminal(),
): Promise<CommandRun> {
  try {
    const result = await command.runIn([...argv], await cliConfig(), terminal);
    return {
      exitCode: 0,
      stdout: terminal.stdout.text,
      stderr: terminal.stderr.text,
      result,
      error: undefined,
    };
  } catch (error) {
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

/** Parses one line of JSON output. */
export function parseJsonLine(text: string): unknown {
  const lines = text.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got:\n${text}`);
  return JSON.parse(lines[0] ?? '');
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
