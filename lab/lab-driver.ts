/**
 * The {@link LabDriver} chaos scenarios drive the lab through: faults go to the lab
 * controller over its socket, facts and health come from observing the processes directly
 * ({@link LabObserver}), so a scenario learns what the system does, not what the controller
 * believes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ControllerClient } from './client.js';
import type { LabDriver, LabFacts, LabHost, MemberReplacement } from './driver.js';
import { DataLayout } from './layout.js';
import { LabObserver, type LabHealth } from './observe.js';
import { cliEnvironment, REPO } from '../base/entry-points.js';
import { LAB_NETWORK, VIP_URL } from './topology.js';

const DEFAULT_RESTORE_TIMEOUT_MS = 120_000;

export class ControllerLabDriver implements LabDriver {
  readonly vipUrl = VIP_URL;
  readonly caPath: string;
  readonly clientPrefix: readonly string[] = ['ip', 'netns', 'exec', LAB_NETWORK.client.namespace];
  private readonly controller: ControllerClient;
  private observer: LabObserver | null = null;
  private readonly layout: DataLayout;

  constructor(dataDir: string) {
    this.layout = new DataLayout(dataDir);
    this.controller = new ControllerClient(dataDir);
    this.caPath = this.layout.tls('operator').ca;
  }

  async kill(process: string): Promise<void> {
    await this.controller.call({ v: 1, op: 'kill', process });
  }

  async crash(host: LabHost): Promise<void> {
    await this.controller.call({ v: 1, op: 'crash', host });
  }

  async partition(a: LabHost, b: LabHost): Promise<void> {
    await this.controller.call({ v: 1, op: 'partition', a, b });
  }

  async isolate(host: LabHost): Promise<void> {
    await this.controller.call({ v: 1, op: 'isolate', host });
  }

  async heal(): Promise<void> {
    await this.controller.call({ v: 1, op: 'heal' });
  }

  async pause(process: string): Promise<void> {
    await this.controller.call({ v: 1, op: 'pause', process });
  }

  async resume(process?: string): Promise<void> {
    await this.controller.call({ v: 1, op: 'resume', ...(process ? { process } : {}) });
  }

  /**
   * Heals, resumes and starts everything again, then waits until {@link LabObserver.health}
   * finds nothing wrong; rejects with the remaining problems after `timeoutMs`.
   */
  async restore(timeoutMs = DEFAULT_RESTORE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.controller.call({ v: 1, op: 'restore' }, { timeoutMs });
    let health: LabHealth;
    for (;;) {
      health = await this.observe().health();
      if (health.healthy) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the lab is not healthy after ${timeoutMs} ms: ${health.problems.join('; ')}`);
  }

  facts(): Promise<LabFacts> {
    return this.observe().facts();
  }

  /**
   * Runs the operator's command, `agenda cluster member replace <id> --lab --force --json`,
   * as a process of its own: the scenario exercises exactly what an operator runs (which asks
   * this lab's controller to wipe and restart the member).
   */
  replaceMember(process: string, progress: (line: string) => void): Promise<MemberReplacement> {
    const args = [
      join(REPO, 'bin/agenda.js'),
      'cluster',
      'member',
      'replace',
      process,
      '--lab',
      '--data-dir',
      this.layout.dataDir,
      '--force',
      '--json',
      '--timeout',
      '240',
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(globalThis.process.execPath, args, {
        cwd: REPO,
        env: cliEnvironment(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') progress(line);
      });
      child.once('error', reject);
      child.once('exit', (code) => {
        if (pending.trim() !== '') progress(pending);
        if (code !== 0) {
          reject(new Error(`agenda cluster member replace ${process} exited with ${code}`));
          return;
        }
        try {
          const result = JSON.parse(stdout) as MemberReplacement & {
            members: { members: { id: number; role: string }[] };
          };
          resolve({
            replaced: result.replaced,
            durationMs: result.durationMs,
            terms: result.terms,
            steps: result.steps.map(({ step, atMs }) => ({ step, atMs })),
            voters: result.members.members.filter((m) => m.role === 'voter').map((m) => m.id),
          });
        } catch (err) {
          reject(new Error(`agenda cluster member replace printed no result: ${String(err)}`));
        }
      });
    });
  }

  /** Whether the whole system is healthy now, and if not, why. */
  health(): Promise<LabHealth> {
    return this.observe().health();
  }

  /** Closes the observer's connections. Idempotent. */
  async close(): Promise<void> {
    const observer = this.observer;
    this.observer = null;
    await observer?.close();
  }

  private observe(): LabObserver {
    this.observer ??= new LabObserver(this.layout);
    return this.observer;
  }
}
