/**
 * What every member process does around its own work: read `--config` (or exit 1 with the
 * reason), log JSON lines on stderr, announce readiness on stdout, and stop cleanly once on
 * SIGTERM/SIGINT. Entry points only: library code never exits the process.
 */
import { parseArgs } from 'node:util';
import type { RaftNodeConfig } from '../runtime/raft-node.js';
import { StorageCorruptError, WalCorruptError } from '../storage/errors.js';
import type { Logger } from '../../base/log.js';
import { loadNodeConfig, type LoadedNodeConfig } from './config.js';

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

/** A Raft member's config from `--config`, or exit 1 with the reason. */
export function loadConfigOrExit(program: string): LoadedNodeConfig {
  return loadOrExit(program, loadNodeConfig);
}

/** The Raft member settings a config file describes. */
export function raftNodeConfigOf(config: LoadedNodeConfig, logger: Logger): RaftNodeConfig {
  const { file } = config;
  return {
    id: file.id,
    clusterId: file.clusterId,
    dataDir: config.dataDir,
    members: config.members,
    join: file.join,
    tls: config.tls,
    tickMs: file.tickMs,
    electionTicks: file.electionTicks,
    heartbeatTicks: file.heartbeatTicks,
    snapshotEvery: file.snapshotEvery,
    snapshotRetain: file.snapshotRetain,
    followerApplyBatch: file.followerApplyBatch,
    peerCertificateName: (peer) => `${file.peerCertificatePrefix}${peer}`,
    logger,
  };
}

/** Prints the readiness line the lab and the test harness wait for. */
export function announceReady(fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event: 'ready', pid: process.pid, ...fields }) + '\n');
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0. */
export function stopOnSignals(logger: Logger, stop: () => Promise<unknown>): void {
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

/** A member that hits a storage or invariant failure has stopped: exit 1 so it is restarted. */
export function exitOnFatal(node: { onFatal: (err: Error) => void }, logger: Logger): void {
  node.onFatal = (err) => {
    logger.warn('exiting after a fatal error', { error: err.message });
    process.exit(1);
  };
}

/**
 * Logs why the member could not start and exits with 1.
 *
 * Corrupt storage gets its own line, naming the file and the byte, because a restart cannot
 * help and working around it would be wrong. A member whose log has a hole must not serve: it
 * may have acknowledged the entries it can no longer read, a quorum counted on that copy, and
 * if it carried on (or voted) without them a committed entry could be lost. Its peers still
 * hold everything, so the remedy is to replace the member, which then catches up from them.
 */
export function exitOnStartFailure(logger: Logger, err: unknown): never {
  if (err instanceof StorageCorruptError) {
    logger.warn('refusing to start: corrupt storage', {
      code: err.code,
      path: err.path,
      ...(err instanceof WalCorruptError ? { offset: err.offset } : {}),
      error: err.message,
      action:
        'do not restart this member as it is: remove it from the cluster, wipe its data ' +
        'directory and add it back as a learner, to catch up from the others',
    });
    process.exit(1);
  }
  logger.warn('failed to start', { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}
