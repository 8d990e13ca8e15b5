/**
 * Runs one member of a Raft key-value cluster: `tsx raft/cmd/node.ts --config member.json`.
 * Logs JSON lines on stderr; prints `{"event":"ready",...}` on stdout once serving.
 * SIGTERM/SIGINT stop it cleanly; a storage or invariant failure exits with status 1.
 */
import { KvStateMachine } from '../kv/kv-state-machine.js';
import { kvCodec } from '../kv/kv-codec.js';
import { loadSqlJs } from '../kv/sql.js';
import { ClientService } from '../runtime/client-service.js';
import { RaftNode } from '../runtime/raft-node.js';
import { jsonLogger } from '../../base/log.js';
import { announceReady, stopOnSignals } from '../../base/daemon.js';
import {
  exitOnFatal,
  exitOnMemberStartFailure,
  loadConfigOrExit,
  raftNodeConfigOf,
} from './daemon.js';

const config = loadConfigOrExit('raft/cmd/node.ts');
const id = config.file.id;
const logger = jsonLogger({ member: id });
const sm = new KvStateMachine(await loadSqlJs());

let node: { close(): Promise<void> } | null = null;
let service: { close(): Promise<void> } | null = null;
try {
  const started = await RaftNode.start(raftNodeConfigOf(config, logger), sm);
  node = started;
  exitOnFatal(started, logger);
  const clientAddress = config.members.get(id)?.client;
  if (clientAddress) {
    const svc = new ClientService(started, kvCodec, {
      listen: clientAddress,
      tls: config.tls,
      logger,
    });
    await svc.start();
    service = svc;
  }
} catch (err) {
  exitOnMemberStartFailure(logger, err);
}
announceReady({ member: id });
stopOnSignals(logger, async () => {
  await Promise.all([service?.close(), node?.close()]);
  sm.close();
});
