/**
 * `npm start`: the whole system on this machine, on loopback — five DB members, a Redis
 * primary and replica, two users and two groups service replicas, two gateways — with a lab
 * certificate authority (created on the first run). Data lives in `./.agenda/` (or
 * `AGENDA_DATA_DIR`) and survives restarts. Ctrl-C stops everything, in reverse order,
 * waiting for every process to exit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeConfigFile } from '../../raft/cmd/config.js';
import { DbClient } from '../../server/db/client.js';
import type { GatewayConfig, ServiceConfig } from '../../server/process-config.js';
import { ensureSigningKeyFiles } from '../../server/users/keys.js';
import { ManagedProcess } from '../process.js';
import { redisAvailable, redisProcess } from '../redis.js';
import {
  DB_MEMBERS,
  ensureLocalCertificates,
  GATEWAYS,
  GROUPS_REPLICAS,
  HOST,
  LocalLayout,
  REDIS,
  USERS_REPLICAS,
} from './topology.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Node running a TypeScript entry point through tsx, as every Agenda daemon runs. */
function daemon(name: string, entry: string, config: string, logDir: string): ManagedProcess {
  return new ManagedProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO, entry), '--config', config],
    cwd: REPO,
    logPath: join(logDir, `${name}.log`),
    readyWhen: /"event":"ready"/,
    readyTimeoutMs: 60_000,
  });
}

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}

/** redis-server is a system package: install it when we can, otherwise say exactly how. */
function ensureRedis(): void {
  if (redisAvailable().ok) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    say('redis-server is missing; installing it with apt-get (Debian package redis-server)…');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (redisAvailable().ok) return;
  }
  throw new Error('redis-server is not installed. On Debian: sudo apt-get install -y redis-server');
}

async function main(): Promise<void> {
  const layout = new LocalLayout(resolve(process.env.AGENDA_DATA_DIR ?? join(REPO, '.agenda')));
  mkdirSync(layout.logDir, { recursive: true });
  ensureRedis();
  say(`Agenda: data in ${layout.dataDir}`);
  await ensureLocalCertificates(layout);
  const signing = await ensureSigningKeyFiles(layout.pkiDir, 'token-signing');

  const started: ManagedProcess[] = [];
  let stopping = false;
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`\nstopping (${why})…`);
    for (const p of [...started].reverse()) await p.stop();
    say('stopped.');
  };
  process.on('SIGINT', () => void stopAll('Ctrl-C').then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll('SIGTERM').then(() => process.exit(0)));
  const run = async (processes: ManagedProcess[]) => {
    started.push(...processes);
    await Promise.all(processes.map((p) => p.start()));
    for (const p of processes) {
      void p.whenExited().then((code) => {
        if (!stopping) say(`! ${p.spec.name} exited (${code ?? 'signal'}); see ${p.spec.logPath}`);
      });
    }
  };

  try {
    // 1. The DB service: five Raft members.
    const members: NodeConfigFile['members'] = {};
    for (const m of DB_MEMBERS)
      members[String(m.id)] = { raft: `${HOST}:${m.raft.port}`, client: `${HOST}:${m.api.port}` };
    const db = DB_MEMBERS.map((m) => {
      const dir = layout.dir(`db-${m.id}`);
      mkdirSync(dir, { recursive: true });
      const tls = layout.tls(`db-${m.id}`);
      const config: NodeConfigFile = {
        id: m.id,
        clusterId: 'agenda-db',
        dataDir: join(dir, 'data'),
        members,
        tls,
        join: false,
        tickMs: 50,
        electionTicks: 10,
        heartbeatTicks: 1,
        snapshotEvery: 50_000,
        snapshotRetain: 5_000,
        peerCertificatePrefix: 'db-',
      };
      return daemon(
        `db-${m.id}`,
        'server/db/main.ts',
        writeJson(join(dir, 'config.json'), config),
        layout.logDir,
      );
    });
    say('starting the DB service (5 Raft members)…');
    await run(db);
    const operatorTls = layout.tls('operator');
    const dbClient = new DbClient({
      members: new Map(DB_MEMBERS.map((m) => [m.id, m.api])),
      tls: {
        ca: readFileSync(operatorTls.ca),
        cert: readFileSync(operatorTls.cert),
        key: readFileSync(operatorTls.key),
      },
      deadlineMs: 30_000,
    });

    // 2. Redis: primary and replica, then the primary's address in the registry.
    const redisDir = layout.dir('redis');
    mkdirSync(redisDir, { recursive: true });
    say('starting Redis (primary + replica, TLS)…');
    const primary = redisProcess({
      name: REDIS.primary.name,
      host: HOST,
      tlsPort: REDIS.primary.port,
      dir: redisDir,
      tls: layout.tls(REDIS.primary.name),
    });
    await run([primary]);
    const replica = redisProcess({
      name: REDIS.replica.name,
      host: HOST,
      tlsPort: REDIS.replica.port,
      dir: redisDir,
      tls: layout.tls(REDIS.replica.name),
      replicaOf: { host: HOST, port: REDIS.primary.port },
    });
    await run([replica]);
    await recordRedisPrimary(dbClient, { host: HOST, port: REDIS.primary.port });

    // 3. The logic services, then the gateways.
    const services = [
      ...USERS_REPLICAS.map((i) => ({ service: 'users' as const, instance: i })),
      ...GROUPS_REPLICAS.map((i) => ({ service: 'groups' as const, instance: i })),
    ].map(({ service, instance }) => {
      const name = `${service}-${instance}`;
      const config: ServiceConfig = {
        service,
        instance,
        tls: layout.tls(name),
        db: Object.fromEntries(DB_MEMBERS.map((m) => [String(m.id), `${HOST}:${m.api.port}`])),
        ...(service === 'users' ? { signingKey: signing.privateKeyPath } : {}),
        concurrency: 32,
      };
      return daemon(
        name,
        'server/services/main.ts',
        writeJson(join(layout.dataDir, `${name}.json`), config),
        layout.logDir,
      );
    });
    say('starting the users and groups services (2 replicas each)…');
    await run(services);

    const gateways = GATEWAYS.map((g) => {
      const name = `gateway-${g.id}`;
      const config: GatewayConfig = {
        id: g.id,
        listen: `${g.host}:${g.port}`,
        tls: layout.tls(name),
        db: Object.fromEntries(DB_MEMBERS.map((m) => [String(m.id), `${HOST}:${m.api.port}`])),
        verificationKey: signing.publicKeyPath,
        publicUrl: `https://${g.host}:${g.port}`,
      };
      return daemon(
        name,
        'server/gateway/main.ts',
        writeJson(join(layout.dataDir, `${name}.json`), config),
        layout.logDir,
      );
    });
    say('starting the gateways…');
    await run(gateways);
    await dbClient.close();

    const servers = GATEWAYS.map((g) => `https://${g.host}:${g.port}`).join(',');
    const ca = join(layout.pkiDir, 'ca.pem');
    say('');
    say('Agenda is up.');
    say(`  gateways: ${servers}`);
    say(`  CA:       ${ca}`);
    say(`  logs:     ${layout.logDir}`);
    say('');
    say('Try it (in another terminal):');
    say(`  export AGENDA_SERVER=${servers} AGENDA_CA=${ca}`);
    say('  npx agenda register alice && npx agenda login alice');
    say(
      '  npx agenda event add "Planning" --start tomorrow --duration 1h && npx agenda event list',
    );
    say('');
    say('Ctrl-C stops everything.');
  } catch (err) {
    say(`could not start: ${(err as Error).message}`);
    await stopAll('start-up failed');
    process.exit(1);
  }
}

/** Writes the Redis primary's address into the DB registry (a new fencing epoch). */
async function recordRedisPrimary(
  db: DbClient,
  address: { host: string; port: number },
): Promise<void> {
  const key = 'redis/primary';
  const value = JSON.stringify(address);
  for (let attempt = 0; attempt < 5; attempt++) {
    const read = await db.query(null, { type: 'registry.get', key });
    const current = read.ok ? (read.result as { entry: { epoch: number } | null }).entry : null;
    const written = await db.command({
      v: 1,
      requestId: `npm-start-redis-${Date.now()}-${attempt}`,
      actor: null,
      ids: [],
      body: { type: 'registry.cas', key, expectedEpoch: current?.epoch ?? null, value },
    });
    if (written.ok && (written.result as { applied: boolean }).applied) return;
  }
  throw new Error('could not record the Redis primary in the DB registry');
}

await main();
