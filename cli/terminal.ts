/**
 * The terminal a command talks to: three streams, the environment that shapes output
 * (`NO_COLOR`) and Ctrl-C. Commands never touch `process` directly, so tests run them
 * in-process against a recorded terminal.
 */

/** Where a command writes. `isTTY` decides colours and the spinner. */
export interface OutputStream {
  write(text: string, written?: (error?: Error | null) => void): unknown;
  readonly isTTY?: boolean;
  /** A terminal's width in columns, which tables fit their free-text columns to. */
  readonly columns?: number;
}

/**
 * Resolves once everything written to `stream` so far has left the process. A pipe takes
 * 64 KiB at a time and Node queues the rest; a command that fails exits with its code at
 * once, and `agenda import --json | jq` got the first 64 KiB of a 470 KB answer. Writes
 * complete in order, so an empty one's callback says the queue is through.
 */
export function flushed(stream: OutputStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}

/** Where a command reads a password from. */
export interface InputStream extends AsyncIterable<string | Buffer> {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  /** The input ended (Ctrl-D on a terminal's empty line, the end of a pipe). */
  on(event: 'end', listener: () => void): unknown;
  removeListener(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  removeListener(event: 'end', listener: () => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface Terminal {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: InputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Calls `handler` when the user presses Ctrl-C; the returned function stops listening. */
  onInterrupt(handler: () => void): () => void;
}

/**
 * The columns output to `terminal`'s stdout is drawn in: `$COLUMNS` when it is set to a
 * whole number (a person's say — `COLUMNS=30 agenda event list` — as `ls` and Python's
 * tools take it), else the terminal's own width, else undefined: a pipe or a file, where
 * lists keep every character.
 */
export function outputColumns(terminal: Terminal): number | undefined {
  const columns = Number(terminal.env.COLUMNS);
  if (Number.isInteger(columns) && columns > 0) return columns;
  const { stdout } = terminal;
  return stdout.isTTY === true && stdout.columns !== undefined && stdout.columns > 0
    ? stdout.columns
    : undefined;
}

/** The process's own terminal. */
export function processTerminal(): Terminal {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
