/**
 * Runs one DB service member: `tsx server/db/main.ts --config db-1.json` (the format of
 * raft/cmd/config.ts; each member's `client` address is its HTTPS API). Logs JSON lines on
 * stderr, prints `{"event":"ready",...}` on stdout once serving, stops cleanly on
 * SIGTERM/SIGINT, exits 1 on a storage or invariant failure.
 */
import { parseArgs } from 'node:util';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { loadNodeConfig } from '../../raft/cmd/config.js';
import type { TransportLogger } from '../../raft/transport/logger.js';
import { DbService } from './service.js';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
if (!values.config) {
  process.stderr.write('usage: server/db/main.ts --config <db-member.json>\n');
  process.exit(1);
}
let config;
try {
  config = loadNodeConfig(values.config);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const { file } = config;
const log =
  (level: string) =>
  (msg: string, fields: Record<string, unknown> = {}) =>
    process.stderr.write(
      JSON.stringify({
        t: new Date().toISOString(),
        level,
        service: 'db',
        member: file.id,
        msg,
        ...fields,
      }) + '\n',
    );
const logger: TransportLogger = { debug: () => {}, info: log('info'), warn: log('warn') };

let service: DbService;
try {
  service = await DbService.start(
    {
      id: file.id,
      clusterId: file.clusterId,
      dataDir: config.dataDir,
      members: config.members,
      join: file.join,
      tls: config.tls,
      tickMs: file.tickMs,
      electionTicks: file.electionTicks,
      snapshotEvery: file.snapshotEvery,
      snapshotRetain: file.snapshotRetain,
      peerCertificateName: (peer) => `${file.peerCertificatePrefix}${peer}`,
      logger,
    },
    await loadSqlJs(),
  );
} catch (err) {
  logger.warn('failed to start', { error: (err as Error).message, stack: (err as Error).stack });
  process.exit(1);
}
service.node.onFatal = (err) => {
  logger.warn('exiting after a fatal error', { error: err.message });
  process.exit(1);
};
process.stdout.write(
  JSON.stringify({ event: 'ready', service: 'db', member: file.id, pid: process.pid }) + '\n',
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('stopping', { signal });
  void service.close().finally(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
