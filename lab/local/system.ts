/**
 * The whole system on this machine, on loopback — five DB members, a Redis primary and
 * replica, two users and two groups service replicas, two gateways — as real processes over
 * TLS, with the lab certificate authority. Used by `npm start` and the end-to-end benchmark.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeConfigFile } from '../../raft/cmd/config.js';
import { DbClient } from '../../server/db/client.js';
import type { GatewayConfig, ServiceConfig } from '../../server/process-config.js';
import type { SupervisorConfig } from '../../supervisor/config.js';
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
  SUPERVISORS,
  USERS_REPLICAS,
} from './topology.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface LocalSystem {
  readonly layout: LocalLayout;
  /** The gateways' base URLs, in order. */
  readonly gateways: readonly string[];
  /** The lab CA clients must trust. */
  readonly ca: string;
  /** Every process by name (`db-1`, `redis-1`, `users-1`, `gateway-1`, …). */
  readonly processes: ReadonlyMap<string, ManagedProcess>;
  /** Stops every process in reverse start order, waiting for each to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir: string;
  /** Progress lines. */
  readonly say?: (line: string) => void;
  /** Told when a process exits on its own (not during stop). */
  readonly onExit?: (p: ManagedProcess, code: number | null) => void;
}

/** redis-server is a system package: install it when we can, otherwise say exactly how. */
export function ensureRedis(say: (line: string) => void): void {
  if (redisAvailable().ok) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
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

/** Starts everything and resolves once every process is ready; on failure stops what started. */
export async function startLocalSystem(options: StartOptions): Promise<LocalSystem> {
  const say = options.say ?? (() => {});
  const layout = new LocalLayout(options.dataDir);
  mkdirSync(layout.logDir, { recursive: true });
  ensureRedis(say);
  await ensureLocalCertificates(layout);
  const signing = await ensureSigningKeyFiles(layout.pkiDir, 'token-signing');

  const started: ManagedProcess[] = [];
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      for (const p of [...started].reverse()) await p.stop();
    })();
    return stopping;
  };
  const run = async (processes: ManagedProcess[]) => {
    started.push(...processes);
    await Promise.all(processes.map((p) => p.start()));
    for (const p of processes) {
      void p.whenExited().then((code) => {
        if (!stopping) options.onExit?.(p, code);
      });
    }
  };
  // AGENDA_NODE_ARGS adds Node flags to every daemon, e.g. --cpu-prof for profiling.
  const nodeFlags = process.env.AGENDA_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const daemon = (name: string, entry: string, config: unknown) =>
    new ManagedProcess({
      name,
      command: process.execPath,
      args: [
        ...nodeFlags,
        '--import',
        'tsx',
        join(REPO, entry),
        '--config',
        writeJson(join(layout.dataDir, `${name}.json`), config),
      ],
      cwd: REPO,
      logPath: join(layout.logDir, `${name}.log`),
      readyWhen: /"event":"ready"/,
      readyTimeoutMs: 60_000,
    });
  const dbApis = Object.fromEntries(DB_MEMBERS.map((m) => [String(m.id), `${HOST}:${m.api.port}`]));

  try {
    // 1. The DB service: five Raft members.
    const members: NodeConfigFile['members'] = {};
    for (const m of DB_MEMBERS)
      members[String(m.id)] = { raft: `${HOST}:${m.raft.port}`, client: `${HOST}:${m.api.port}` };
    say('starting the DB service (5 Raft members)…');
    await run(
      DB_MEMBERS.map((m) => {
        const config: NodeConfigFile = {
          id: m.id,
          clusterId: 'agenda-db',
          dataDir: join(layout.dir(`db-${m.id}`), 'data'),
          members,
          tls: layout.tls(`db-${m.id}`),
          join: false,
          tickMs: 50,
          electionTicks: 10,
          heartbeatTicks: 1,
          snapshotEvery: 50_000,
          snapshotRetain: 5_000,
          peerCertificatePrefix: 'db-',
        };
        return daemon(`db-${m.id}`, 'server/db/main.ts', config);
      }),
    );

    // 2. Redis: primary, then replica; the primary's address goes into the DB registry.
    const redisDir = layout.dir('redis');
    mkdirSync(redisDir, { recursive: true });
    say('starting Redis (primary + replica, TLS)…');
    const redis = (r: { name: string; port: number }, replicaOf?: { host: string; port: number }) =>
      redisProcess({
        name: r.name,
        host: HOST,
        tlsPort: r.port,
        dir: redisDir,
        tls: layout.tls(r.name),
        ...(replicaOf ? { replicaOf } : {}),
      });
    await run([redis(REDIS.primary)]);
    await run([redis(REDIS.replica, { host: HOST, port: REDIS.primary.port })]);
    const operator = layout.tls('operator');
    const db = new DbClient({
      members: new Map(DB_MEMBERS.map((m) => [m.id, m.api])),
      tls: {
        ca: readFileSync(operator.ca),
        cert: readFileSync(operator.cert),
        key: readFileSync(operator.key),
      },
      deadlineMs: 30_000,
    });
    try {
      await recordRedisPrimary(db, { host: HOST, port: REDIS.primary.port });
    } finally {
      await db.close();
    }

    // Supervisors watch Redis; the one holding the DB lease fails it over.
    say('starting the Redis supervisors…');
    await run(
      SUPERVISORS.map((id) => {
        const config: SupervisorConfig = {
          id: `supervisor-${id}`,
          tls: layout.tls(`supervisor-${id}`),
          db: dbApis,
          redis: [`${HOST}:${REDIS.primary.port}`, `${HOST}:${REDIS.replica.port}`],
          failureThreshold: 3,
          checkIntervalMs: 250,
        };
        return daemon(`supervisor-${id}`, 'supervisor/main.ts', config);
      }),
    );

    // 3. The logic services, then the gateways.
    say('starting the users and groups services (2 replicas each)…');
    const services = [
      ...USERS_REPLICAS.map((instance) => ({ service: 'users' as const, instance })),
      ...GROUPS_REPLICAS.map((instance) => ({ service: 'groups' as const, instance })),
    ];
    await run(
      services.map(({ service, instance }) => {
        const name = `${service}-${instance}`;
        const config: ServiceConfig = {
          service,
          instance,
          tls: layout.tls(name),
          db: dbApis,
          ...(service === 'users' ? { signingKey: signing.privateKeyPath } : {}),
          concurrency: 32,
        };
        return daemon(name, 'server/services/main.ts', config);
      }),
    );
    say('starting the gateways…');
    await run(
      GATEWAYS.map((g) => {
        const config: GatewayConfig = {
          id: g.id,
          listen: `${g.host}:${g.port}`,
          tls: layout.tls(`gateway-${g.id}`),
          db: dbApis,
          verificationKey: signing.publicKeyPath,
          publicUrl: `https://${g.host}:${g.port}`,
        };
        return daemon(`gateway-${g.id}`, 'server/gateway/main.ts', config);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    layout,
    gateways: GATEWAYS.map((g) => `https://${g.host}:${g.port}`),
    ca: layout.tls('operator').ca,
    processes: new Map(started.map((p) => [p.spec.name, p])),
    stop,
  };
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

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}
