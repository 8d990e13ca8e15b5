/**
 * What every daemon's entry point does around its own work (the Raft and DB members, the
 * services, the gateways, the supervisors, the VIP agents, a lab VM's runner): read `--config`
 * (or exit 1 with the reason), announce readiness on stdout, stop cleanly once on
 * SIGTERM/SIGINT, and exit 1 with a log line when start-up fails. Entry points only: library
 * code never exits the process. Logging is `jsonLogger` of `log.ts`.
 */
import { parseArgs } from 'node:util';
import { profileOnSignal } from './cpu-profile.js';
import type { Logger } from './log.js';

/**
 * Parses `--config <file>` and loads it with `load`; on any problem prints why and exits
 * with 1.
 */
export function loadOrExit<T>(program: string, load: (path: string) => T): T {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write(`usage: ${program} --config <file.json>\n`);
    process.exit(1);
  }
  try {
    return load(values.config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/** Prints the readiness line the lab and the test harness wait for. */
export function announceReady(fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event: 'ready', pid: process.pid, ...fields }) + '\n');
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0. (Also arms SIGUSR2 for a CPU profile
 * when `AGENDA_PROFILE_DIR` is set: `cpu-profile.ts`.)
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<unknown>): void {
  profileOnSignal(logger);
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

/**
 * Logs why the daemon could not start and exits with 1. (A Raft member's storage failures
 * get their own line first: `exitOnMemberStartFailure` of `raft/cmd/daemon.ts`.)
 */
export function exitOnStartFailure(logger: Logger, err: unknown): never {
  logger.warn('failed to start', { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}
