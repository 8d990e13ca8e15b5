/**
 * What `agenda` answers to a command it does not have: the closest one it has ("did you
 * mean"), whether or not it runs on a terminal, as JSON under `--json` like every other
 * error (`{"error":{"code":"unknown_command",…}}` on stderr), and exit 1: a usage error, by
 * the CLI's exit codes (cli/README.md), not a shell's 127.
 *
 * oclif's plugin-not-found offers the suggestion only as a yes/no prompt on a terminal, says
 * nothing of it to a script, and ignores `--json`; it also brought 44 packages with it.
 */
import type { Hook } from '@oclif/core';
import { printable } from '../../base/table.js';

/** The most of an unknown command that is quoted back. */
const MAX_ECHOED = 80;

const hook: Hook<'command_not_found'> = function (opts) {
  const commands = opts.config.commands.filter((c) => !c.hidden);
  // A topic is something to type too: `agenda event` (or `agenda help event`) lists its commands.
  const topics = opts.config.topics.filter((topic) => !topic.hidden).map((topic) => topic.name);
  const known = [...new Set([...commands.flatMap((c) => [c.id, ...c.aliases]), ...topics])].map(
    spaced,
  );
  const typed = spaced(opts.id);
  const suggestion = closest(typed, known);
  // What was typed goes back to the terminal: shown, not obeyed, and not all of a long one.
  const echoed = printable(typed.length > MAX_ECHOED ? `${typed.slice(0, MAX_ECHOED)}…` : typed);
  const message =
    `"${echoed}" is not an agenda command` +
    (suggestion === null ? '' : `; did you mean "${suggestion}"?`) +
    ' (agenda --help lists them)';
  if ((opts.argv ?? []).includes('--json')) {
    // `details` as every other JSON error has it (contract/errors.ts); `suggestion` also at
    // the top, where scripts written before read it.
    const nearest = suggestion ? { suggestion } : {};
    const error = {
      code: 'unknown_command',
      message,
      details: { command: echoed, ...nearest },
      ...nearest,
    };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else {
    process.stderr.write(`error: ${message}\n`);
  }
  // The hook must answer a promise; exit() throws, which rejects it.
  return Promise.resolve().then(() => this.exit(1));
};

export default hook;

/** A command id as people type it: `event list`, not `event:list`. */
function spaced(id: string): string {
  return id.split(':').join(' ');
}

/**
 * The known command nearest to `typed` by edit distance, if near enough to be what was
 * meant: at most a third of its length (a typo or two), and never a tie between two.
 */
export function closest(typed: string, known: readonly string[]): string | null {
  const near = Math.max(1, Math.floor(typed.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  let tie = false;
  for (const candidate of known) {
    // Lengths further apart than that cannot be near: a long argument costs nothing.
    if (Math.abs(typed.length - candidate.length) > near) continue;
    const d = editDistance(typed, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) {
      tie = true;
    }
  }
  if (best === null || tie) return null;
  return bestDistance <= near ? best : null;
}

/** Levenshtein distance, in one row of memory. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
