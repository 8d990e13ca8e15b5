/**
 * The lab controller: the one long-lived process that owns the lab's network and every
 * process running in it, so they outlive the `npm run lab -- up` command that started them.
 * It brings the system up once, then only does what it is asked — kill, crash, partition,
 * isolate, heal, pause, resume, start, rejoin, down — and restarts nothing on its own: a fault stays
 * until someone undoes it. `lab/controller-main.ts` serves it on a Unix socket.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { NodeConfigFile } from '../raft/cmd/config.js';
import { MembershipClient } from '../ops/membership-client.js';
import { Conflict, InvalidInput } from '../contract/errors.js';
import type { LabHost } from './driver.js';
import { DataLayout } from './layout.js';
import { killAll, LabNetwork } from './net.js';
import { LabObserver } from './observe.js';
import type { SystemPlan } from './plan.js';
import type { LabHostStatus, LabRequest, LabStatus } from './protocol.js';
import { PlanRunner, preparePlan, recordRedisPrimary } from './runner.js';
import { BRIDGE_ADDRESS, LAB_NETWORK, LAB_TOPOLOGY, VIP_ADDRESS, VIP_URL } from './topology.js';
import { describeTopology } from './observer/topology.js';
import { writeClusterDescription } from '../ops/description.js';
import { descriptionFile } from '../ops/open.js';

type Progress = (line: string) => void;

/** How long start-up waits for the whole system to be healthy once every process is ready. */
const HEALTHY_TIMEOUT_MS = 90_000;

export class LabController {
  readonly layout: DataLayout;
  readonly network = new LabNetwork(LAB_NETWORK);
  private runner: PlanRunner | null = null;
  private phase: LabStatus['phase'] = 'starting';
  private startError: string | undefined;
  private readonly progressLines: string[] = [];
  private readonly progressListeners = new Set<Progress>();
  private readonly started: Promise<void>;
  private stopping: Promise<void> | null = null;

  constructor(dataDir: string) {
    this.layout = new DataLayout(dataDir);
    this.started = this.startUp().then(
      () => {
        this.phase = 'ready';
      },
      (err: unknown) => {
        this.phase = 'failed';
        this.startError = (err as Error).message;
      },
    );
  }

  /** Carries out one request; `progress` hears what a long one is doing. */
  async handle(request: LabRequest, progress: Progress): Promise<unknown> {
    if (request.op === 'await-ready') return this.awaitReady(progress);
    if (request.op === 'status') return this.status();
    if (request.op === 'down') {
      await this.down();
      return { down: true };
    }
    const runner = this.runner;
    if (this.phase !== 'ready' || !runner) {
      throw new InvalidInput(
        `the lab is ${this.phase}${this.startError ? `: ${this.startError}` : ''}`,
      );
    }
    switch (request.op) {
      case 'kill':
        await this.process(request.process).kill();
        break;
      case 'pause':
        this.process(request.process).pause();
        break;
      case 'resume':
        if (request.process) this.process(request.process).resume();
        else for (const p of runner.processes.values()) p.resume();
        break;
      case 'crash':
        await this.crash(this.host(request.host));
        break;
      case 'partition':
        await this.network.partition(this.host(request.a), this.host(request.b));
        break;
      case 'isolate':
        await this.network.isolate(this.host(request.host));
        break;
      case 'heal':
        await this.heal();
        break;
      case 'start':
        await this.start(request.target, progress);
        break;
      case 'rejoin':
        await this.rejoin(request.process, progress);
        break;
      case 'restore':
        await this.heal();
        for (const p of runner.processes.values()) p.resume();
        await this.start(undefined, progress);
        break;
    }
    return this.status();
  }

  async status(): Promise<LabStatus> {
    const faults = await this.network.faults().catch(() => []);
    const hosts: LabHostStatus[] = LAB_NETWORK.hosts.map((h) => ({
      name: h.name,
      namespace: h.namespace,
      address: h.address,
      linkUp: !faults.some((f) => f.kind === 'link-down' && f.host === h.name),
    }));
    const runner = this.runner;
    const processes = (runner?.plan.processes ?? []).map((p) => {
      const s = runner?.state(p.name) ?? { state: 'never-started' as const };
      const base = { name: p.name, host: p.host, log: p.logPath };
      switch (s.state) {
        case 'running':
          return {
            ...base,
            pid: s.pid ?? null,
            state: s.paused ? ('paused' as const) : ('running' as const),
          };
        case 'exited':
          return { ...base, pid: null, state: 'exited' as const, exitCode: s.code };
        case 'starting':
          return { ...base, pid: null, state: 'starting' as const };
        case 'never-started':
          return { ...base, pid: null, state: 'not-started' as const };
      }
    });
    const ca = this.layout.tls('operator').ca;
    return {
      phase: this.phase,
      ...(this.startError ? { startError: this.startError } : {}),
      controllerPid: process.pid,
      dataDir: this.layout.dataDir,
      vipUrl: VIP_URL,
      caPath: ca,
      clientCommand: `AGENDA_SERVER=${VIP_URL} AGENDA_CA=${ca} ip netns exec ${LAB_NETWORK.client.namespace} npx agenda`,
      hosts,
      processes,
      faults,
    };
  }

  /** Stops every process, removes the network. Idempotent. */
  down(): Promise<void> {
    this.stopping ??= (async () => {
      this.phase = 'stopping';
      await this.runner?.stopAll(3_000);
      await this.network.down();
    })();
    return this.stopping;
  }

  private async startUp(): Promise<void> {
    const say = (line: string) => this.say(line);
    say(
      'creating the network: namespaces agenda-vm1, agenda-vm2, agenda-vm3, agenda-client on agbr0…',
    );
    await this.network.up();
    say('preparing certificates, keys and configs…');
    const plan = await preparePlan(LAB_TOPOLOGY, this.layout);
    // What `agenda cluster status --lab` and `agenda dashboard --lab` read to find the lab;
    // the operator runs in the root namespace, which reaches the hosts through the bridge.
    writeClusterDescription(
      descriptionFile(this.layout.dataDir),
      describeTopology(LAB_TOPOLOGY, this.layout, { name: 'lab', observerAddress: BRIDGE_ADDRESS }),
    );
    const runner = new PlanRunner({
      plan,
      onHost: (host) => this.network.exec(host),
      onExit: (p, code) =>
        say(`${p.spec.name} exited (${code ?? 'signal'}); log: ${p.spec.logPath}`),
      onAfterExitFailure: (name, reason) => say(`cleanup after ${name} failed: ${reason}`),
    });
    this.runner = runner;
    await runner.start(plan.processes, {
      beforeStage: (stage) => say(`starting ${describeStage(plan, stage)}…`),
      afterStage: (stage) =>
        stage === 'redis-replicas' ? recordRedisPrimary(plan) : Promise.resolve(),
    });
    say('every process is ready; waiting for the VIP and the whole system to be healthy…');
    await this.waitHealthy(HEALTHY_TIMEOUT_MS);
    say('the lab is up');
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const observer = new LabObserver(this.layout);
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const health = await observer.health();
        if (health.healthy) return;
        if (Date.now() > deadline)
          throw new Error(`the system did not become healthy: ${health.problems.join('; ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await observer.close();
    }
  }

  private async awaitReady(progress: Progress): Promise<LabStatus> {
    for (const line of this.progressLines) progress(line);
    this.progressListeners.add(progress);
    try {
      await this.started;
    } finally {
      this.progressListeners.delete(progress);
    }
    if (this.phase === 'failed')
      throw new InvalidInput(`the lab could not start: ${this.startError ?? ''}`);
    return this.status();
  }

  /** Everything on the host dies at once and the host drops off the network. */
  private async crash(host: LabHost): Promise<void> {
    await this.network.linkDown(host);
    const runner = this.runner;
    const onHost = runner?.plan.processes.filter((p) => p.host === host) ?? [];
    await Promise.all(
      onHost.map((p) => runner?.processes.get(p.name)?.kill() ?? Promise.resolve()),
    );
    // Anything else in the namespace (a child a daemon spawned) dies with the machine too.
    await killAll(await this.network.pidsIn(host));
  }

  /** Removes every network fault; a crashed host comes back as rebooted: without the VIP. */
  private async heal(): Promise<void> {
    for (const f of await this.network.faults()) {
      if (f.kind === 'link-down') await this.network.removeAddress(f.host, VIP_ADDRESS);
    }
    await this.network.heal();
  }

  /** A process, a host (its link, then its processes) or, with no target, every process. */
  private async start(target: string | undefined, progress: Progress): Promise<void> {
    const runner = this.runner;
    if (!runner) return;
    let which = runner.plan.processes;
    if (target && LAB_NETWORK.hosts.some((h) => h.name === target)) {
      const faults = await this.network.faults();
      if (faults.some((f) => f.kind === 'link-down' && f.host === target)) {
        await this.network.removeAddress(target, VIP_ADDRESS);
        await this.network.linkUp(target);
      }
      which = which.filter((p) => p.host === target);
    } else if (target) {
      this.process(target);
      which = which.filter((p) => p.name === target);
    }
    await runner.start(which, {
      beforeStage: (stage) => progress(`starting ${describeStage(runner.plan, stage, which)}…`),
    });
  }

  /**
   * Kills DB member `name`, wipes its data and starts it again with `join: true` (the config
   * file keeps it: a restart later must not make it a founding member again). Refused while
   * the member is in the configuration: a voter that lost its log and its vote could make a
   * quorum lose committed entries.
   */
  private async rejoin(name: string, progress: Progress): Promise<void> {
    const runner = this.runner;
    const planned = runner?.plan.processes.find((p) => p.name === name);
    const match = /^db-(\d+)$/.exec(name);
    if (!runner || !planned || !match || planned.program.kind !== 'node') {
      throw new InvalidInput(`${name} is not a DB member of the lab (db-1…db-5)`);
    }
    const id = Number(match[1]);
    const operator = this.layout.tls('operator');
    const membership = new MembershipClient({
      members: new Map([...runner.plan.dbApis].filter(([member]) => member !== id)),
      tls: {
        ca: readFileSync(operator.ca),
        cert: readFileSync(operator.cert),
        key: readFileSync(operator.key),
      },
      timeoutMs: 3_000,
    });
    try {
      const view = await membership.list();
      if (view.members.some((m) => m.id === id)) {
        throw new Conflict(
          `${name} is still in the cluster's configuration: remove it first (agenda cluster member remove ${id} --lab)`,
        );
      }
    } finally {
      await membership.close();
    }
    const { configPath } = planned.program;
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as NodeConfigFile;
    // Relative to the config file, as the member reads it (raft/cmd/config.ts).
    const dataDir = resolve(dirname(configPath), config.dataDir);
    progress(`killing ${name} and wiping ${dataDir}…`);
    await this.process(name).kill();
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(configPath, `${JSON.stringify({ ...config, join: true }, null, 2)}\n`);
    progress(`starting ${name} empty, joining…`);
    await runner.start([planned]);
  }

  private process(name: string) {
    const p = this.runner?.processes.get(name);
    if (!p) {
      const known = this.runner?.plan.processes.map((x) => x.name).join(', ') ?? '';
      throw new InvalidInput(`no process named ${JSON.stringify(name)} (processes: ${known})`);
    }
    return p;
  }

  private host(name: string): LabHost {
    const h = LAB_NETWORK.hosts.find((x) => x.name === name);
    if (!h) {
      const known = LAB_NETWORK.hosts.map((x) => x.name).join(', ');
      throw new InvalidInput(`no host named ${JSON.stringify(name)} (hosts: ${known})`);
    }
    return h.name as LabHost;
  }

  private say(line: string): void {
    this.progressLines.push(line);
    process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    for (const listener of this.progressListeners) listener(line);
  }
}

function describeStage(
  plan: SystemPlan,
  stage: string,
  which: SystemPlan['processes'] = plan.processes,
): string {
  const names = which.filter((p) => p.stage === stage).map((p) => `${p.name} (${p.host})`);
  return names.join(', ');
}
