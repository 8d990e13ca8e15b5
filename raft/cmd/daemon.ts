/**
 * What a Raft member's entry point (`raft/cmd/node.ts`, `server/db/main.ts`) does beyond
 * any daemon's (`base/daemon.ts`): load its member config, build the node's settings from it,
 * exit when the node fails, and refuse to start on corrupt storage. Entry points only: library
 * code never exits the process.
 */
import { exitOnStartFailure, loadOrExit } from '../../base/daemon.js';
import type { RaftNodeConfig } from '../runtime/raft-node.js';
import { StorageCorruptError, WalCorruptError } from '../storage/errors.js';
import type { Logger } from '../../base/log.js';
import { loadNodeConfig, type LoadedNodeConfig } from './config.js';

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
    snapshotBytes: file.snapshotBytes,
    snapshotRetain: file.snapshotRetain,
    followerApplyBatch: file.followerApplyBatch,
    peerCertificateName: (peer) => `${file.peerCertificatePrefix}${peer}`,
    logger,
  };
}

/** A member that hits a storage or invariant failure has stopped: exit 1 so it is restarted. */
export function exitOnFatal(node: { onFatal: (err: Error) => void }, logger: Logger): void {
  node.onFatal = (err) => {
    logger.warn('exiting after a fatal error', { error: err.message });
    process.exit(1);
  };
}

/**
 * Logs why the member could not start and exits with 1; anything but corrupt storage as any
 * daemon does (`exitOnStartFailure` of `base/daemon.ts`).
 *
 * Corrupt storage gets its own line, naming the file and the byte, because a restart cannot
 * help and working around it would be wrong. A member whose log has a hole must not serve: it
 * may have acknowledged the entries it can no longer read, a quorum counted on that copy, and
 * if it carried on (or voted) without them a committed entry could be lost. Its peers still
 * hold everything, so the remedy is to replace the member, which then catches up from them.
 */
export function exitOnMemberStartFailure(logger: Logger, err: unknown): never {
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
  exitOnStartFailure(logger, err);
}
