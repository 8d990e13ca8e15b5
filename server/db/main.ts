/**
 * Runs one DB service member: `tsx server/db/main.ts --config db-1.json` (the format of
 * raft/cmd/config.ts; each member's `client` address is its HTTPS API). Logs JSON lines on
 * stderr, prints `{"event":"ready",...}` on stdout once serving, stops cleanly on
 * SIGTERM/SIGINT, exits 1 on a storage or invariant failure.
 */
import { jsonLogger } from '../../base/log.js';
import { announceReady, stopOnSignals } from '../../base/daemon.js';
import {
  exitOnFatal,
  exitOnMemberStartFailure,
  loadConfigOrExit,
  raftNodeConfigOf,
} from '../../raft/cmd/daemon.js';
import { DbService } from './service.js';

const config = loadConfigOrExit('server/db/main.ts');
const logger = jsonLogger({ service: 'db', member: config.file.id });

let service: DbService;
try {
  service = await DbService.start(raftNodeConfigOf(config, logger));
} catch (err) {
  exitOnMemberStartFailure(logger, err);
}
exitOnFatal(service.node, logger);
announceReady({ service: 'db', member: config.file.id });
stopOnSignals(logger, () => service.close());
