/**
 * Real multi-process Raft clusters on loopback, for tests and benchmarks: each member is its
 * own `node` process (raft/cmd/node.ts) with its own data directory, talking mutual TLS.
 * The harness can kill -9, SIGSTOP/SIGCONT and restart members.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureCertificate,
  ensureCertificateAuthority,
  type CertificateAuthority,
  type ClusterRole,
} from '../../base/pki.js';
import { ManagedProcess } from '../../base/process.js';
import { nodeEntry, REPO } from '../../base/entry-points.js';
import { RaftClient } from '../client/raft-client.js';
import type { NodeId } from '../core/types.js';
import type { NodeStatus } from '../runtime/raft-node.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import type { NodeConfigFile } from '../cmd/config.js';

const KV_MEMBER_ENTRY = 'raft/cmd/node.ts';

/** Answers a member's status, or null when it does not answer. */
export type StatusProbe = (member: ClusterMember) => Promise<NodeStatus | null>;

export interface ProcessClusterOptions {
  /** Where data, configs, certificates and logs go. */
  readonly dir: string;
  readonly size?: number;
  /** Member i listens for Raft on basePort + i and for clients on basePort + 100 + i. */
  readonly basePort: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEvery?: number;
  readonly snapshotBytes?: number;
  readonly snapshotRetain?: number;
  /**
   * The member program: a script taking `--config <file>` in raft/cmd/config.ts's format
   * that prints `{"event":"ready"}` on stdout once serving, named by its TypeScript source
   * (absolute, or from the repository's root); it runs compiled or from the sources as this
   * process does (base/entry-points.ts). Default: the key-value member.
   */
  readonly entry?: string;
  readonly clusterId?: string;
  /**
   * The roles the members' and the harness client's certificates name (base/pki.ts), for
   * members that authorize by role (the DB service: `db` and, say, `users`). None by default.
   */
  readonly roles?: { readonly members: ClusterRole; readonly client: ClusterRole };
  /**
   * How long a member may take to say it is ready. Five members start at once, from the
   * sources under tsx in the tests: on a loaded 2-core machine that took 30 s (2 s when
   * quiet). Default 90 s.
   */
  readonly readyTimeoutMs?: number;
}

export interface ClusterMember {
  readonly id: NodeId;
  readonly raft: NetAddress;
  readonly client: NetAddress;
  readonly configPath: string;
  readonly process: ManagedProcess;
}

export class ProcessCluster {
  readonly members = new Map<NodeId, ClusterMember>();
  private constructor(
    readonly options: ProcessClusterOptions,
    readonly tls: MutualTlsMaterial,
    private readonly ca: CertificateAuthority,
  ) {}

  /** A client certificate `name` of the cluster's CA naming `role`, issued on first use. */
  async clientTls(name: string, role: ClusterRole): Promise<MutualTlsMaterial> {
    const issued = await ensureCertificate(join(this.options.dir, 'pki'), name, {
      ca: this.ca,
      usages: 'client',
      days: 30,
      role,
    });
    return { ca: this.ca.certPem, cert: issued.certPem, key: issued.keyPem };
  }

  /** Writes certificates and configs, starts every member and waits for a leader. */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const size = options.size ?? 5;
    const pkiDir = join(options.dir, 'pki');
    const ca = await ensureCertificateAuthority(pkiDir);
    const client = await ensureCertificate(pkiDir, 'client', {
      ca,
      usages: 'client',
      days: 30,
      ...(options.roles ? { role: options.roles.client } : {}),
    });
    const cluster = new ProcessCluster(
      options,
      { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
      ca,
    );
    const addresses: Record<string, { raft: string; client: string }> = {};
    for (let id = 1; id <= size; id++) {
      addresses[String(id)] = {
        raft: `127.0.0.1:${options.basePort + id}`,
        client: `127.0.0.1:${options.basePort + 100 + id}`,
      };
    }
    for (let id = 1; id <= size; id++) {
      await ensureCertificate(pkiDir, `member-${id}`, {
        ca,
        usages: 'both',
        ipAddresses: ['127.0.0.1'],
        days: 30,
        ...(options.roles ? { role: options.roles.members } : {}),
      });
      const memberDir = join(options.dir, `member-${id}`);
      mkdirSync(memberDir, { recursive: true });
      const config: NodeConfigFile = {
        id,
        clusterId: options.clusterId ?? 'raft-test',
        dataDir: join(memberDir, 'data'),
        members: addresses,
        tls: {
          ca: join(pkiDir, 'ca.pem'),
          cert: join(pkiDir, `member-${id}.pem`),
          key: join(pkiDir, `member-${id}-key.pem`),
        },
        join: false,
        tickMs: options.tickMs ?? 50,
        electionTicks: options.electionTicks ?? 10,
        heartbeatTicks: 1,
        snapshotEvery: options.snapshotEvery ?? 50_000,
        snapshotBytes: options.snapshotBytes ?? 16 * 1024 * 1024,
        snapshotRetain: options.snapshotRetain ?? 5_000,
        followerApplyBatch: 64,
        peerCertificatePrefix: 'member-',
      };
      const configPath = join(memberDir, 'config.json');
      writeFileSync(configPath, JSON.stringify(config, null, 2));
      // RAFT_NODE_ARGS adds Node flags to member processes, e.g. --cpu-prof for profiling.
      const extra = process.env.RAFT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
      cluster.members.set(id, {
        id,
        raft: { host: '127.0.0.1', port: options.basePort + id },
        client: { host: '127.0.0.1', port: options.basePort + 100 + id },
        configPath,
        process: new ManagedProcess({
          name: `member-${id}`,
          command: process.execPath,
          args: [...extra, ...nodeEntry(options.entry ?? KV_MEMBER_ENTRY), '--config', configPath],
          cwd: REPO,
          logPath: join(memberDir, 'member.log'),
          readyWhen: /"event":"ready"/,
          readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
        }),
      });
    }
    const started = await Promise.allSettled(
      [...cluster.members.keys()].map((id) => cluster.startMember(id)),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // The members that did start would outlive the caller, which never gets the cluster.
      await cluster.stop();
      throw failed.reason;
    }
    return cluster;
  }

  /** A client that knows every member's client address. */
  client(attemptTimeoutMs = 2_000): RaftClient {
    return new RaftClient({
      members: [...this.members.values()].map((m) => m.client),
      tls: this.tls,
      attemptTimeoutMs,
    });
  }

  /** Starts (or restarts) a member and resolves once it reports ready. */
  async startMember(id: NodeId): Promise<void> {
    await this.member(id).process.start();
  }

  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves once the process is gone. */
  async kill(id: NodeId, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const p = this.member(id).process;
    await (signal === 'SIGKILL' ? p.kill() : p.stop());
  }

  /** SIGSTOP: the member freezes with its connections open. */
  pause(id: NodeId): void {
    this.member(id).process.pause();
  }

  resume(id: NodeId): void {
    this.member(id).process.resume();
  }

  async restart(id: NodeId): Promise<void> {
    await this.kill(id);
    await this.startMember(id);
  }

  /** Status of every running, unpaused member that answers. */
  async statuses(probe: StatusProbe | RaftClient): Promise<NodeStatus[]> {
    const statusOf = typeof probe === 'function' ? probe : ProcessCluster.kvStatus(probe);
    const live = [...this.members.values()].filter((m) => m.process.running && !m.process.isPaused);
    const all = await Promise.all(live.map(statusOf));
    return all.filter((s): s is NodeStatus => s !== null);
  }

  /** A probe that asks members' key-value client ports (the default member program). */
  static kvStatus(client: RaftClient): StatusProbe {
    return (m) => client.status(m.client, 1_000).catch(() => null);
  }

  /** Waits until a member reports itself leader; returns its id. */
  async waitForLeader(
    probe: StatusProbe | RaftClient,
    timeoutMs = 20_000,
    exclude?: NodeId,
  ): Promise<NodeId> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = (await this.statuses(probe)).find(
        (s) => s.role === 'leader' && s.id !== exclude,
      );
      if (leader) return leader.id;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no leader elected in time');
  }

  /** Stops every member (SIGTERM, then SIGKILL if it lingers). Idempotent. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.process.stop()));
  }

  private member(id: NodeId): ClusterMember {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }
}
