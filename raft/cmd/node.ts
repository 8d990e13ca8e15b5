/**
 * Runs one member of a Raft key-value cluster: `tsx raft/cmd/node.ts --config member.json`.
 * Logs JSON lines on stderr; prints `{"event":"ready",...}` on stdout once serving.
 * SIGTERM/SIGINT stop it cleanly; a storage or invariant failure exits with status 1.
 */
import { parseArgs } from 'node:util';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import { kvCodec } from '../kv/kv-codec.js';
import { loadSqlJs } from '../kv/sql.js';
import { ClientService } from '../runtime/client-service.js';
import { RaftNode } from '../runtime/raft-node.js';
import type { TransportLogger } from '../transport/logger.js';
import { loadNodeConfig } from './config.js';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
if (!values.config) {
  process.stderr.write('usage: node.ts --config <member.json>\n');
  process.exit(1);
}

let config;
try {
  config = loadNodeConfig(values.config);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}

const id = config.file.id;
const log =
  (level: string) =>
  (msg: string, fields: Record<string, unknown> = {}) =>
    process.stderr.write(
      JSON.stringify({ t: new Date().toISOString(), level, member: id, msg, ...fields }) + '\n',
    );
const logger: TransportLogger = { debug: () => {}, info: log('info'), warn: log('warn') };

const sm = new KvStateMachine(await loadSqlJs());
let node: RaftNode<unknown, unknown, unknown> | undefined;
let service: ClientService<unknown, unknown, unknown> | undefined;
try {
  const started = await RaftNode.start(
    {
      id,
      clusterId: config.file.clusterId,
      dataDir: config.dataDir,
      members: config.members,
      join: config.file.join,
      tls: config.tls,
      tickMs: config.file.tickMs,
      electionTicks: config.file.electionTicks,
      heartbeatTicks: config.file.heartbeatTicks,
      snapshotEvery: config.file.snapshotEvery,
      snapshotRetain: config.file.snapshotRetain,
      peerCertificateName: (peer) => `${config.file.peerCertificatePrefix}${peer}`,
      logger,
    },
    sm,
  );
  node = started as unknown as RaftNode<unknown, unknown, unknown>;
  const clientAddress = config.members.get(id)?.client;
  if (clientAddress) {
    const svc = new ClientService(started, kvCodec, {
      listen: clientAddress,
      tls: config.tls,
      logger,
    });
    await svc.start();
    service = svc as unknown as ClientService<unknown, unknown, unknown>;
  }
  started.onFatal = (err) => {
    logger.warn('exiting after a fatal error', { error: err.message });
    process.exit(1);
  };
} catch (err) {
  logger.warn('failed to start', { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}

process.stdout.write(JSON.stringify({ event: 'ready', member: id, pid: process.pid }) + '\n');

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('stopping', { signal });
  void Promise.all([service?.close(), node?.close()]).finally(() => {
    sm.close();
    process.exit(0);
  });
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
