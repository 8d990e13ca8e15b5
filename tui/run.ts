/** Runs the dashboard on a terminal until the operator quits or the caller aborts. */
import { render } from 'ink';
import { createElement } from 'react';
import type { Clock } from './clock.js';
import { Dashboard } from './dashboard.js';
import type { DashboardFeed } from '../ops/feed.js';

export interface RunDashboardOptions {
  /** Aborting it closes the dashboard, as quitting does. */
  signal: AbortSignal;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  clock?: Clock;
}

/**
 * Renders the dashboard over `feed` and resolves once it is gone: the operator pressed `q` or
 * Ctrl-C, or `signal` aborted. It has stopped reading the feed by then.
 */
export async function runDashboard(
  feed: DashboardFeed,
  options: RunDashboardOptions,
): Promise<void> {
  if (options.signal.aborted) return;
  const app = render(
    createElement(Dashboard, { feed, signal: options.signal, clock: options.clock }),
    {
      stdout: options.stdout ?? process.stdout,
      stdin: options.stdin ?? process.stdin,
      // Ctrl-C is handled by the dashboard itself, as a quit like `q`.
      exitOnCtrlC: false,
      patchConsole: false,
    },
  );
  await app.waitUntilExit();
}
