/**
 * Runs a {@link SystemPlan}: writes its files (certificates, shared keys, config files),
 * then starts its processes stage by stage, each as a {@link ManagedProcess} — directly for
 * `npm start`, through a per-host command prefix (`ip netns exec agenda-vm1`) in the lab.
 * The runner restarts nothing on its own: a process that dies stays dead until someone
 * starts it again, which is what fault injection needs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DbClient } from '../server/db/client.js';
import { PRIMARY_REGISTRY_KEY } from '../server/bus/primary-source.js';
import { ensureSigningKeyFiles, signingKeyFiles } from '../server/users/keys.js';
import { redisAclFile } from '../server/bus/acl.js';
import { REDIS_USERS, type RedisUser } from '../server/bus/redis-auth.js';
import { redisAuthConfig } from '../base/redis-server.js';
import { JEMALLOC } from './prerequisites.js';
import type { DataLayout } from './layout.js';
import { ensureCertificate, ensureCertificateAuthority } from '../base/pki.js';
import {
  buildPlan,
  STAGES,
  type PlannedProcess,
  type Stage,
  type SystemPlan,
  type Topology,
} from './plan.js';
import { ManagedProcess } from '../base/process.js';
import { nodeEntry, REPO } from '../base/entry-points.js';

const execFileAsync = promisify(execFile);

/**
 * V8 heap sizing, by what a daemon's young objects do, and V8's helper threads.
 *
 * - A DB member's old generation starts at 56 MB. With V8's defaults a DB member, whose
 *   live heap is only about 20 MB, ran a full mark-compact every second and a half under
 *   load (15–35 ms pauses). It is a starting limit, not memory taken, but garbage piles up
 *   towards it: at 256 MB a 10-minute soak took a DB member's heap from 67 to 168 MB (RSS
 *   +73 %), at 64 MB from 32 to 53 MB (RSS +29 %, most of it the store's growing data). At 64 MB, `npm run bench` measured 456 and 487 creates/s with a worst DB
 *   event-loop delay of 34–39 ms, against 307 and 387 at 256 MB (29–43 ms), alternating in
 *   the same half hour on this shared machine, whose noise is as large as the difference
 *   (a third 64 MB run gave 264). Lowered to 56 MB when `npm run bench` began to check
 *   issue 17's 2× bound under load: the leader, whose live heap is ~21 MB (a heap snapshot
 *   in the agenda phase), let garbage pile up to 58 MB of heap and went from 105–120 to
 *   212–242 MiB (1.8–2.2×); at 64 MB, even with read answers handed over as bytes, 2.09×.
 *   At 48 MB: 1.70–1.85×, but under `npm run bench:import` a DB member's event loop stalled
 *   104–113 ms (27–37 ms at 56 and 64) and the readers' p99 was 608–824 ms (509–513). At
 *   56 MB, one run each: 1.88× under the bench; the import's worst DB stall 27.8 ms, p99
 *   513 ms. The other daemons keep V8's default:
 *   with 256 MB, V8 let their garbage pile up to it before collecting, so a gateway's heap
 *   went from 86 to 177 MB in a 30-minute soak at a steady load, and its RSS from 202 to
 *   292 MiB (issue 17 allows 10 % growth).
 * - The gateways and services grow their young generation under load up to 8 MB
 *   semi-spaces, from V8's smallest (1 MB): starting at 16 MB held 25–30 MB more at rest per
 *   process (`npm run footprint`: users 143 → 115 MiB, gateway 129 → 95 MiB, its twin with
 *   the old flags measured in the same run). Up to 32 MB semi-spaces had made the HTTP
 *   benchmark's p99 141–160 → 123–132 ms when first tried, but took 64 MB of young
 *   generation under load on top of a 70 MB process: `npm run bench` saw a gateway go from 73
 *   to 208 MiB and a users service from 72 to 192 (issue 17 allows twice the resting size).
 *   At 8 MB the same bench, on a quiet machine (139 µs per store apply), ran 471 creates/s
 *   with a p99 of 286 ms and 4.1 ms of CPU per create (462/s, 277 ms, 4.2 ms at 32 MB
 *   the session before), and the gateway peaked at 157 MiB, the users service at 159.
 * - The gateways' and services' old generation grows by half at most after each full
 *   collection (`--heap-growing-percent=50`), where V8 chooses up to four times when
 *   collecting is cheap against allocating, as it is under load: in the same bench the
 *   first gateway's heap went to 83–97 MB (of ~25 MB live) and its resident memory from
 *   67–80 to 157–174 MiB, a users service's from 70–72 to 152–157 (2.2–2.3×). With 50 %:
 *   gateway 68 → 120 MiB (1.76×), users 73–80 → 116 (1.46–1.6×), the creates' CPU and p99
 *   the same (4.72 ms and 285 ms against 4.69 and 296), more short collections (the worst
 *   gateway event-loop delay 62–179 ms against 43; 25 % gave 1.54× and 104 ms).
 * - The supervisors and VIP agents serve no requests: they take the DB members' small young generation
 *   (supervisor 121 → 90 MiB at rest, measured the same way).
 * - The DB members keep V8's small default (at most 4 MB per semi-space). Their young
 *   objects mostly live on: log entries stay until a snapshot, proposals until they commit.
 *   A scavenge copies what survives, so with 32 MB semi-spaces one copied 10–25 MB and
 *   stalled the member 80–160 ms on this busy 2-core machine; the benchmark's worst DB
 *   event-loop delay was 116–145 ms, and with 4 MB 40–49 ms, at the same throughput.
 * - V8's helper threads (Node's default is 4) do concurrent marking, parallel scavenges and
 *   background compilation. Each helper that works keeps a malloc arena of its own, and the
 *   memory it used stays there: a DB member compiling sql.js's WebAssembly in its store
 *   worker on 4 threads held 20 MB more once the store was ready (`npx tsx
 *   lab/bench/load-footprint.ts --form bundled --idle 0 --node-args=--v8-pool-size=1`: store
 *   worker 55 → 35 MiB above an empty worker; the gateway 74 → 70 MiB). So every daemon has
 *   one helper (`--v8-pool-size=1`) but the DB members, which have two: with one, the
 *   store's WebAssembly waited for its optimized tier behind the garbage collector, and `npm
 *   run bench` fell from 405–427 creates/s to 319, with 2.4 → 3.2 ms of DB CPU per create
 *   and a worst DB event-loop delay of 69 ms instead of 40–49 (three runs the same hour).
 *   Two cost a DB member about 13 MiB at rest against one (`npm run footprint`: 127 against
 *   112–114 MiB).
 */
const OLD_SPACE_FLAGS = ['--initial-old-space-size=56'];
const V8_THREADS = ['--v8-pool-size=1'];
const DB_V8_THREADS = ['--v8-pool-size=2'];
const REQUEST_HANDLER_YOUNG_GENERATION = ['--min-semi-space-size=1', '--max-semi-space-size=8'];
const REQUEST_HANDLER_OLD_GENERATION = ['--heap-growing-percent=50'];
const LONG_LIVED_YOUNG_GENERATION = ['--min-semi-space-size=1', '--max-semi-space-size=4'];

/**
 * The environment a Node daemon runs with, beside the caller's: its memory allocator.
 *
 * glibc's malloc keeps what a burst allocated and freed: a gateway that served 1,500 TLS
 * connections at once (OpenSSL's buffers, on the main thread's heap) rested at 152 MiB
 * afterwards, from 67, with its V8 heap back at 16 MiB, and its mmap threshold rises to
 * the size of each large block freed (up to 32 MiB), so that a password hash's 16 MiB
 * scrypt buffers stayed in the thread pool's arenas (`node` running 24 hashes, 4 at a time:
 * RSS 41 → 106 MiB). jemalloc (Debian's libjemalloc2, {@link JEMALLOC}), preloaded, gives
 * freed pages back a second after they were last used, from a background thread even when
 * the process is idle, in two arenas: after the same burst the gateway rested at 75 MiB;
 * idle, under `npm run footprint`, the topology took 1,022 MiB against 1,132 with glibc (DB
 * members 85–103 against 100–119, services 68 against 72–79). Where jemalloc is missing,
 * glibc's mmap threshold is at least fixed at 4 MiB (hashes: 41 → 42 MiB), and so it is
 * with `AGENDA_ALLOCATOR=glibc` (to compare them).
 */
export function daemonEnvironment(
  jemalloc: string | null = process.env.AGENDA_ALLOCATOR !== 'glibc' && existsSync(JEMALLOC.program)
    ? JEMALLOC.program
    : null,
): Readonly<Record<string, string>> {
  return {
    MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024),
    ...(jemalloc === null
      ? {}
      : {
          LD_PRELOAD: jemalloc,
          MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2',
        }),
  };
}

/** The Node flags a daemon of `stage` runs with (see above). */
export function daemonNodeFlags(stage: Stage): readonly string[] {
  const young =
    stage === 'db' || stage === 'supervisors' || stage === 'vip-agents'
      ? LONG_LIVED_YOUNG_GENERATION
      : REQUEST_HANDLER_YOUNG_GENERATION;
  if (stage === 'db') return [...OLD_SPACE_FLAGS, ...young, ...DB_V8_THREADS];
  return young === REQUEST_HANDLER_YOUNG_GENERATION
    ? [...young, ...REQUEST_HANDLER_OLD_GENERATION, ...V8_THREADS]
    : [...young, ...V8_THREADS];
}

/**
 * The stages whose processes keep the system's clocks: the Raft members (election timeouts,
 * leases), the Redis supervisors and the VIP agents (lease checks every 100 ms). They run at
 * a higher scheduling priority than the request handlers and Redis, as an operator would set
 * up a host they share (etcd's guidance is the same): on this 2-core machine, 16 processes
 * under load left every DB member's event loop waiting 100–550 ms for a CPU while it had
 * nothing of its own to do, and an election timeout is 500 ms. `nice` runs the process
 * anyway, at the normal priority, where raising it is not permitted.
 */
export const TIMING_CRITICAL_STAGES: ReadonlySet<Stage> = new Set([
  'db',
  'supervisors',
  'vip-agents',
]);
export const TIMING_CRITICAL_NICENESS = -5;

/** How {@link processArgv} runs a process; every field has the runner's default. */
export interface ArgvOptions {
  /** The Node binary. Default: this process's. */
  readonly node?: string;
  /** The Redis server. Default: `redis-server`, from PATH. */
  readonly redisServer?: string;
  /** Node flags after {@link daemonNodeFlags}. */
  readonly extraNodeFlags?: readonly string[];
  /** What runs a program, from its source's path. Default: {@link nodeEntry}. */
  readonly entry?: (source: string) => readonly string[];
}

/**
 * The command line of one of the plan's processes: Node with the daemon's flags and the
 * program with its config, or redis-server with the plan's arguments. The runner starts it
 * so (behind `nice` and a host's prefix); the Multipass VMs' systemd units run it too
 * (lab/multipass/units.ts), so both run a daemon the same way.
 */
export function processArgv(p: PlannedProcess, options: ArgvOptions = {}): string[] {
  if (p.program.kind === 'redis') return [options.redisServer ?? 'redis-server', ...p.program.args];
  return [
    options.node ?? process.execPath,
    ...daemonNodeFlags(p.stage),
    ...(options.extraNodeFlags ?? []),
    ...(options.entry ?? nodeEntry)(p.program.entry),
    '--config',
    p.program.configPath,
  ];
}

/** The token-signing key pair's name in the PKI directory (server/users/keys.ts). */
const SIGNING_KEY_NAME = 'token-signing';

/**
 * Creates (first run) or reuses everything a plan's processes read: the lab CA, a certificate
 * per process naming its host's addresses and its role, the operator's certificate, the token-signing key
 * pair, the gossip and VIP heartbeat keys, a password per Redis ACL user; then writes Redis's
 * ACL file and login config (from those passwords and server/bus/acl.ts, every time, so an
 * upgrade's grants take effect at the next Redis start) and every config file.
 */
export async function preparePlan(topology: Topology, layout: DataLayout): Promise<SystemPlan> {
  layout.createPrivately();
  const ca = await ensureCertificateAuthority(layout.pkiDir);
  const signing = await ensureSigningKeyFiles(layout.pkiDir, SIGNING_KEY_NAME);
  const plan = buildPlan(topology, layout, signing);
  const certificates = [
    ...plan.processes.map((p) => ({ name: p.name, ips: p.certificateAddresses, role: p.role })),
    { name: 'operator', ips: ['127.0.0.1'], role: 'operator' as const },
  ];
  for (const { name, ips, role } of certificates) {
    await ensureCertificate(layout.pkiDir, name, {
      ca,
      usages: 'both',
      ipAddresses: ips,
      dnsNames: ['localhost'],
      days: 365,
      role,
    });
  }
  ensureSharedKey(layout.gossipKey);
  if (topology.vip) ensureSharedKey(layout.vipHeartbeatKey);
  writeRedisAuth(layout, plan.redisHosts);
  for (const p of plan.processes) {
    if (p.program.kind === 'node') writeJson(p.program.configPath, p.program.config);
    else mkdirSync(p.program.dir, { recursive: true, mode: 0o700 });
  }
  return plan;
}

/**
 * The plan {@link preparePlan} wrote under `layout` earlier, without writing anything (a
 * Multipass VM's units, from the directory copied to it). Throws when there is none.
 */
export function preparedPlan(topology: Topology, layout: DataLayout): SystemPlan {
  const signing = signingKeyFiles(layout.pkiDir, SIGNING_KEY_NAME);
  if (!existsSync(signing.privateKeyPath)) {
    throw new Error(
      `no system was prepared in ${layout.dataDir} (${signing.privateKeyPath} is missing)`,
    );
  }
  return buildPlan(topology, layout, signing);
}

export type ProcessState =
  | { readonly state: 'never-started' }
  | { readonly state: 'starting' }
  | { readonly state: 'running'; readonly pid: number | undefined; readonly paused: boolean }
  | { readonly state: 'exited'; readonly code: number | null };

export interface StageHooks {
  readonly beforeStage?: (stage: Stage) => void;
  readonly afterStage?: (stage: Stage) => Promise<void>;
}

export interface RunnerOptions {
  readonly plan: SystemPlan;
  /** argv that runs a command on `host`, e.g. `ip netns exec agenda-vm1`; nothing locally. */
  readonly onHost?: (host: string) => readonly string[];
  /** Told when a process exits while the runner is not stopping everything. */
  readonly onExit?: (p: ManagedProcess, code: number | null) => void;
  /** Told when a process's `afterExit` command failed. */
  readonly onAfterExitFailure?: (name: string, reason: string) => void;
}

export class PlanRunner {
  private readonly managed = new Map<string, ManagedProcess>();
  private readonly starting = new Set<string>();
  private readonly exits = new Map<string, number | null>();
  private readonly cleanups = new Map<string, Promise<void>>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: RunnerOptions) {
    // AGENDA_NODE_ARGS adds Node flags to every daemon, e.g. --cpu-prof for profiling, or
    // only to those named in AGENDA_NODE_ARGS_FOR (`db-3,users-1`): profiling everything at
    // once starves the machine and measures start-up more than work.
    const flags = process.env.AGENDA_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const only = process.env.AGENDA_NODE_ARGS_FOR?.split(',').filter(Boolean);
    for (const p of options.plan.processes) {
      const nodeFlags = only === undefined || only.includes(p.name) ? flags : [];
      const argv = processArgv(p, { extraNodeFlags: nodeFlags });
      // `nice` first: it execs the host's wrapper, which execs the daemon, and every thread
      // the daemon starts inherits the priority (set on the pid afterwards, it would not).
      const priority = TIMING_CRITICAL_STAGES.has(p.stage)
        ? ['nice', '-n', String(TIMING_CRITICAL_NICENESS)]
        : [];
      const [command = '', ...args] = [...priority, ...(options.onHost?.(p.host) ?? []), ...argv];
      this.managed.set(
        p.name,
        new ManagedProcess({
          name: p.name,
          command,
          args,
          cwd: p.program.kind === 'node' ? REPO : p.program.dir,
          ...(p.program.kind === 'node' ? { env: { ...process.env, ...daemonEnvironment() } } : {}),
          logPath: p.logPath,
          readyWhen: p.readyWhen,
          readyTimeoutMs: 60_000,
        }),
      );
    }
  }

  get plan(): SystemPlan {
    return this.options.plan;
  }

  /** Every process by name (`db-1`, `redis-1`, `gateway-2`, …). */
  get processes(): ReadonlyMap<string, ManagedProcess> {
    return this.managed;
  }

  state(name: string): ProcessState {
    const p = this.managed.get(name);
    if (!p) throw new Error(`no process named ${name}`);
    if (this.starting.has(name)) return { state: 'starting' };
    if (p.running) return { state: 'running', pid: p.pid, paused: p.isPaused };
    if (this.exits.has(name)) return { state: 'exited', code: this.exits.get(name) ?? null };
    return { state: 'never-started' };
  }

  /**
   * Starts every process of `which` (default: all) that is not running, a stage at a time,
   * the processes of one stage together; resolves once all are ready. `hooks.beforeStage`
   * runs before a stage with something to start, `hooks.afterStage` after every stage (the
   * Redis primary is recorded there on a fresh start).
   */
  async start(
    which: readonly PlannedProcess[] = this.plan.processes,
    hooks: StageHooks = {},
  ): Promise<void> {
    for (const stage of STAGES) {
      const due = which.filter((p) => p.stage === stage && !this.managed.get(p.name)?.running);
      if (due.length > 0) hooks.beforeStage?.(stage);
      await Promise.all(due.map((p) => this.startOne(p.name)));
      await hooks.afterStage?.(stage);
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`), last stage first. Idempotent. */
  stopAll(graceMs = 5_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const stage of [...STAGES].reverse()) {
        const due = this.plan.processes.filter((p) => p.stage === stage);
        await Promise.all(
          due.map((p) => this.managed.get(p.name)?.stop(graceMs) ?? Promise.resolve()),
        );
      }
    })();
    return this.stopping;
  }

  /** Runs the process's `afterExit` command on its host; its failure is logged, not thrown. */
  private async afterExit(name: string): Promise<void> {
    const planned = this.plan.processes.find((p) => p.name === name);
    if (!planned?.afterExit) return;
    const [command = '', ...args] = [
      ...(this.options.onHost?.(planned.host) ?? []),
      ...planned.afterExit,
    ];
    try {
      await execFileAsync(command, args, { timeout: 5_000 });
    } catch (err) {
      // "Cannot assign requested address": the process had already cleaned up after itself.
      const { stderr } = err as { stderr?: string | Buffer };
      const output = stderr === undefined ? '' : stderr.toString();
      if (!/Cannot assign requested address/.test(output)) {
        this.options.onAfterExitFailure?.(name, output.trim() || (err as Error).message);
      }
    }
  }

  private async startOne(name: string): Promise<void> {
    const p = this.managed.get(name);
    if (!p || p.running || this.starting.has(name)) return;
    this.starting.add(name);
    try {
      await this.cleanups.get(name);
      await p.start();
    } catch (err) {
      this.exits.set(name, await p.whenExited());
      throw err;
    } finally {
      this.starting.delete(name);
    }
    const exited = p.whenExited().then(async (code) => {
      this.exits.set(name, code);
      await this.afterExit(name);
      if (!this.stopping) this.options.onExit?.(p, code);
    });
    // A restart waits for this: a late `afterExit` must not undo what the new process did.
    this.cleanups.set(name, exited);
  }
}

/**
 * Writes the plan's initial Redis primary into the DB registry (a new fencing epoch), as the
 * operator, so the services and gateways find it. Retries a lost compare-and-set race.
 */
export async function recordRedisPrimary(plan: SystemPlan): Promise<void> {
  const operator = plan.layout.tls('operator');
  const db = new DbClient({
    members: plan.dbApis,
    tls: {
      ca: readFileSync(operator.ca),
      cert: readFileSync(operator.cert),
      key: readFileSync(operator.key),
    },
    deadlineMs: 30_000,
  });
  try {
    const value = JSON.stringify(plan.initialRedisPrimary);
    for (let attempt = 0; attempt < 5; attempt++) {
      const read = await db.query(null, { type: 'registry.get', key: PRIMARY_REGISTRY_KEY });
      const current = read.ok ? (read.result as { entry: { epoch: number } | null }).entry : null;
      const written = await db.command({
        v: 1,
        requestId: `lab-redis-primary-${Date.now()}-${attempt}`,
        actor: null,
        ids: [],
        body: {
          type: 'registry.cas',
          key: PRIMARY_REGISTRY_KEY,
          expectedEpoch: current?.epoch ?? null,
          value,
        },
      });
      if (written.ok && (written.result as { applied: boolean }).applied) return;
    }
    throw new Error('could not record the Redis primary in the DB registry');
  } finally {
    await db.close();
  }
}

/**
 * Redis's ACL file and the redis.conf naming it with the replicas' login, from a password
 * per ACL user (created on the first run, kept after). Both nodes read the same two files,
 * so Redis grants the same whichever is primary, after a failover or a restart.
 */
function writeRedisAuth(layout: DataLayout, redisHosts: readonly string[]): void {
  const passwords = {} as Record<RedisUser, string>;
  for (const user of REDIS_USERS) {
    const file = layout.redisPassword(user);
    ensureSharedKey(file);
    passwords[user] = readFileSync(file, 'utf8').trim();
  }
  writePrivately(layout.redisAclFile, redisAclFile(passwords, { replicationHosts: redisHosts }));
  writePrivately(
    layout.redisAuthConfig,
    redisAuthConfig({
      aclFile: layout.redisAclFile,
      replication: { user: 'replication', password: passwords.replication },
    }),
  );
}

/** Replaces `path` with `content`, mode 0600, atomically: a Redis starting now reads either. */
function writePrivately(path: string, content: string): void {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
}

/** A random 32-byte key, hex, mode 0600, written once (atomically) and then kept. */
function ensureSharedKey(path: string): void {
  if (existsSync(path)) return;
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
}

function writeJson(path: string, value: unknown): void {
  // Configs name every key file and address: their owner's business, as the keys are.
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
}
