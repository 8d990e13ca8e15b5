import { RaftError, NotLeaderError } from '../core/errors.js';
import type { ConfChange, Message, NodeId, Status } from '../core/types.js';
import { DurableStorage } from '../storage/durable-log.js';
import { NodeFileSystem, writeFileInBackground } from '../storage/fs.js';
import type { Logger } from '../../base/log.js';
import { parseHostPort } from '../../base/host-port.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { PeerTransport, type PeerStats } from '../transport/peer-transport.js';
import {
  RaftHost,
  isAsyncStateMachine,
  type AsyncStateMachine,
  type Callback,
  type HostMetrics,
  type StateMachine,
} from './host.js';

/** How to reach one member: its Raft port and (optionally) its client port. */
export interface MemberAddress {
  readonly raft: NetAddress;
  readonly client?: NetAddress;
}

export interface RaftNodeConfig {
  readonly id: NodeId;
  /** Members of another cluster are refused at the handshake. */
  readonly clusterId: string;
  readonly dataDir: string;
  /** Every member of the initial cluster, this one included. */
  readonly members: ReadonlyMap<NodeId, MemberAddress>;
  /**
   * Start as a member joining an existing cluster (it waits to be added) instead of
   * bootstrapping; it learns the founding voters from the leader's log (its first entry) or
   * snapshot, never from `members`.
   */
  readonly join?: boolean;
  readonly tls: MutualTlsMaterial;
  /** Milliseconds per logical tick. Election timeout = electionTicks × tickMs (randomized up to 2×). */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly snapshotEvery?: number;
  /** See {@link HostOptions.snapshotBytes}; default 16 MiB, 0 snapshots by count only. */
  readonly snapshotBytes?: number;
  readonly snapshotRetain?: number;
  /** See {@link HostOptions.followerApplyBatch}; 0 applies at once. */
  readonly followerApplyBatch?: number;
  readonly logger: Logger;
  /** Told each fsync's and each apply batch's duration in seconds (see HostOptions.observe). */
  readonly observer?: {
    fsyncSeconds(seconds: number): void;
    applySeconds(seconds: number, entries: number): void;
  };
  /**
   * The certificate common name member `id` must present on the Raft port. Any certificate
   * from the cluster CA proves membership of the deployment, but only a member's own
   * certificate may speak for that member. Default `member-<id>`.
   */
  readonly peerCertificateName?: (id: NodeId) => string;
}

/** A member's status for operators: the core's view plus addresses and the network. */
export interface NodeStatus extends Status {
  readonly address: MemberAddress | undefined;
  readonly leaderAddress: MemberAddress | undefined;
  readonly transport: Readonly<Record<string, PeerStats>>;
  readonly snapshots: number;
  readonly lastSnapshotAt: string | null;
  readonly metrics: HostMetrics & { readonly fsyncs: number };
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Give up waiting after this long (the command may still be applied later). */
  readonly timeoutMs?: number;
}

/** NotLeader as a client sees it: with the leader's address when one is known. */
export class NotLeaderAtError extends NotLeaderError {
  constructor(
    leader: NodeId,
    readonly leaderAddress: MemberAddress | undefined,
  ) {
    super(leader);
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SNAPSHOT_BYTES = 16 * 1024 * 1024;

/**
 * One Raft member as a running process part: the host wired to real disk (fsync), mutual-TLS
 * networking and a tick timer. All inputs arriving in one turn of the event loop are handled
 * by one Ready, so bursts of proposals share one fsync and one message per follower.
 *
 * A storage or invariant failure is fatal: the member stops (it must not keep serving from a
 * state it cannot trust) and `onFatal` is told, so the process can exit and be restarted.
 */
export class RaftNode<R, Q, QR> {
  private readonly host: RaftHost<R, Q, QR>;
  private readonly storage: DurableStorage;
  private readonly fs: NodeFileSystem;
  private readonly transport: PeerTransport;
  private readonly timer: NodeJS.Timeout;
  private readonly members: Map<NodeId, MemberAddress>;
  private scheduled: NodeJS.Immediate | null = null;
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  private snapshots = 0;
  private lastSnapshotAt: Date | null = null;
  onFatal: (err: Error) => void = () => {};

  private constructor(
    private readonly config: RaftNodeConfig,
    stateMachine: StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR>,
  ) {
    this.members = new Map(config.members);
    const self = this.members.get(config.id);
    if (!self)
      throw new RaftError('invariant_violated', `member ${config.id} is not in the member list`);
    this.fs = new NodeFileSystem();
    this.storage = new DurableStorage({
      fs: this.fs,
      dir: config.dataDir,
      logger: { warn: (message, details) => config.logger.warn(message, { ...details }) },
      writeInBackground: writeFileInBackground,
    });
    const voters = config.join ? [] : [...this.members.keys()].sort((a, b) => a - b);
    const snapshotEvery = config.snapshotEvery ?? 50_000;
    this.host = new RaftHost({
      raft: {
        id: config.id,
        electionTicks: config.electionTicks ?? 10,
        heartbeatTicks: config.heartbeatTicks ?? 1,
        random: Math.random,
      },
      storage: this.storage,
      stateMachine: this.processingAfterEachAnswer(stateMachine),
      bootstrap: { voters, learners: [] },
      send: (msgs) => this.send(msgs),
      flush: () => this.transport.flush(),
      snapshotEvery,
      // Spread over the members in id order, so their snapshot pauses never coincide.
      snapshotPhase: Math.floor(
        (Math.max(0, voters.indexOf(config.id)) * snapshotEvery) / Math.max(1, voters.length),
      ),
      snapshotBytes: config.snapshotBytes ?? DEFAULT_SNAPSHOT_BYTES,
      snapshotRetain: config.snapshotRetain ?? 5_000,
      background: (work) => {
        work.then(
          () => this.schedule(),
          (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
        );
      },
      // The WAL's fdatasync, and the writing of a snapshot from the leader, run on libuv's
      // threads; the member's loop goes on meanwhile.
      syncInBackground: true,
      onBackgroundSync: (error) => {
        if (error !== null) this.fail(error);
        else this.schedule();
      },
      followerApplyBatch: config.followerApplyBatch ?? 0,
      readBudgetMs: 20,
      clock: () => performance.now(),
      ...(config.observer
        ? {
            observe: {
              synced: (ms: number) => config.observer?.fsyncSeconds(ms / 1000),
              applied: (ms: number, entries: number) =>
                config.observer?.applySeconds(ms / 1000, entries),
            },
          }
        : {}),
      onSoftState: (s) =>
        config.logger.info('role changed', {
          role: s.role,
          leader: s.leader,
          term: this.host.status().term,
        }),
      onConfChange: (cc, conf) => this.noteConfChange(cc, conf.voters, conf.learners),
      onSnapshot: (snap, how) => {
        this.snapshots++;
        this.lastSnapshotAt = new Date();
        config.logger.info(`snapshot ${how}`, { index: snap.meta.index, bytes: snap.data.length });
      },
    });
    const peers = new Map<NodeId, NetAddress>();
    for (const [id, a] of this.members) if (id !== config.id) peers.set(id, a.raft);
    this.transport = new PeerTransport({
      self: config.id,
      clusterId: config.clusterId,
      listen: self.raft,
      peers,
      tls: config.tls,
      logger: config.logger,
      onMessage: (m) => this.receive(m),
      onPeerLost: (peer) => this.guardErrors(() => this.host.peerUnreachable(peer)),
      authorizePeer: (claimed, cert) => {
        const cn = cert.subject?.CN;
        const expected = (config.peerCertificateName ?? ((id: NodeId) => `member-${id}`))(claimed);
        return Array.isArray(cn) ? cn.includes(expected) : cn === expected;
      },
    });
    this.timer = setInterval(() => this.onTick(), config.tickMs ?? 50);
  }

  /** Recovers from the data directory, starts listening and ticking. */
  static async start<R, Q, QR>(
    config: RaftNodeConfig,
    stateMachine: StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR>,
  ): Promise<RaftNode<R, Q, QR>> {
    const node = new RaftNode(config, stateMachine);
    try {
      await node.transport.start();
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  get id(): NodeId {
    return this.config.id;
  }

  /** Resolves with the state machine's result once the command is committed and applied. */
  propose(data: Uint8Array, opts: CallOptions = {}): Promise<R> {
    return this.call(opts, (done) => this.host.propose(data, done));
  }

  /** A linearizable read (ReadIndex): reflects every write acknowledged before it began. */
  read(query: Q, opts: CallOptions = {}): Promise<QR> {
    return this.call(opts, (done) => this.host.read(query, done));
  }

  /**
   * A read of this member's state machine as it will be once everything committed so far is
   * applied: possibly stale (no ReadIndex round), cheap, and it never blocks consensus.
   */
  readLocal(query: Q, opts: CallOptions = {}): Promise<QR> {
    return this.call(opts, (done) => this.host.readLocal(query, done));
  }

  /** Proposes a membership change (leader only); resolves once it is applied. */
  changeMembership(cc: ConfChange, opts: CallOptions = {}): Promise<void> {
    if ((cc.kind === 'addLearner' || cc.kind === 'addVoter') && !cc.address) {
      return Promise.reject(
        new RaftError('membership_change_refused', 'a new member needs an address'),
      );
    }
    return this.call(opts, (done) => this.host.proposeConfChange(cc, done));
  }

  /** Hands leadership to another voter (leader only). */
  transferLeadership(target: NodeId): void {
    this.guardErrors(() => this.host.transferLeadership(target));
    this.schedule();
  }

  /** The leader's id as this member knows it (0: none); cheap, unlike `status()`. */
  leader(): NodeId {
    return this.host.core.leader();
  }

  status(): NodeStatus {
    const s = this.host.status();
    const stats = this.transport.stats();
    const transport: Record<string, PeerStats> = {};
    for (const [id, st] of stats) transport[String(id)] = st;
    return {
      ...s,
      address: this.members.get(this.config.id),
      leaderAddress: s.leader ? this.members.get(s.leader) : undefined,
      transport,
      snapshots: this.snapshots,
      lastSnapshotAt: this.lastSnapshotAt?.toISOString() ?? null,
      metrics: { ...this.host.metrics(), fsyncs: this.fs.fsyncCount },
    };
  }

  /** The client address of a member, when known. */
  addressOf(id: NodeId): MemberAddress | undefined {
    return this.members.get(id);
  }

  /** Stops ticking and networking, fails pending calls, syncs and closes storage. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      if (this.scheduled) clearImmediate(this.scheduled);
      this.host.close();
      await this.transport.close();
      try {
        this.storage.close();
      } catch (err) {
        this.config.logger.warn('closing storage failed', { error: (err as Error).message });
      }
    })();
    return this.closing;
  }

  private call<T>(
    opts: CallOptions,
    start: (done: (err: Error | null, v?: T) => void) => void,
  ): Promise<T> {
    if (this.fatal)
      return Promise.reject(new RaftError('stopped', `the member stopped: ${this.fatal.message}`));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, v?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(this.withAddress(err));
        else resolve(v as T);
      };
      const onAbort = () => finish(new RaftError('timeout', 'the caller gave up'));
      const timer = setTimeout(
        () =>
          finish(new RaftError('timeout', 'no outcome in time; the command may still be applied')),
        opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      start(finish);
      this.schedule();
    });
  }

  private withAddress(err: Error): Error {
    if (err instanceof NotLeaderError && !(err instanceof NotLeaderAtError)) {
      return new NotLeaderAtError(
        err.leader,
        err.leader ? this.members.get(err.leader) : undefined,
      );
    }
    return err;
  }

  /**
   * An asynchronous state machine answers outside any input of ours: each answer may finish
   * proposals, unblock reads or make a snapshot due, so the host is processed after it.
   */
  private processingAfterEachAnswer(
    sm: StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR>,
  ): StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR> {
    if (!isAsyncStateMachine(sm)) return sm;
    const then =
      <T>(done: Callback<T>): Callback<T> =>
      (err, value) => {
        this.guardErrors(() => done(err, value));
        this.schedule();
      };
    return {
      startApply: (commands, done) => sm.startApply(commands, then(done)),
      startQuery: (query, done) => sm.startQuery(query, then(done)),
      startSnapshot: (done) => sm.startSnapshot(then(done)),
      startRestore: (data, done) => sm.startRestore(data, then(done)),
    };
  }

  private receive(m: Message): void {
    this.guardErrors(() => this.host.receive(m));
    this.schedule();
  }

  private onTick(): void {
    this.guardErrors(() => this.host.tick());
    this.schedule();
  }

  private send(msgs: readonly Message[]): void {
    for (const m of msgs) this.transport.send(m);
  }

  /** Coalesces every input of this event-loop turn into one round of Ready handling. */
  private schedule(): void {
    if (this.scheduled || this.closing) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      this.guardErrors(() => this.host.process());
      // Reads left for later (readBudgetMs) go on after the I/O this turn let through.
      if (this.host.hasServableReads()) this.schedule();
    });
  }

  private guardErrors(f: () => void): void {
    if (this.fatal || this.closing) return;
    try {
      f();
    } catch (err) {
      const e = err as Error;
      if (e instanceof RaftError && e.code !== 'invariant_violated') throw e;
      this.fail(e);
    }
  }

  /** Storage or an invariant failed: the member stops (see the class comment). */
  private fail(e: Error): void {
    if (this.fatal || this.closing) return;
    this.fatal = e;
    this.config.logger.warn('fatal: the member stops', { error: e.message, stack: e.stack });
    void this.close().finally(() => this.onFatal(e));
  }

  private noteConfChange(
    cc: ConfChange,
    voters: readonly NodeId[],
    learners: readonly NodeId[],
  ): void {
    if ((cc.kind === 'addLearner' || cc.kind === 'addVoter') && cc.address) {
      const parsed = parseMemberAddress(cc.address);
      if (parsed) this.members.set(cc.node, parsed);
    }
    const inCluster = new Set([...voters, ...learners]);
    const peers = new Map<NodeId, NetAddress>();
    for (const [id, a] of this.members) {
      if (id !== this.config.id && inCluster.has(id)) peers.set(id, a.raft);
    }
    this.transport.setPeers(peers);
    this.config.logger.info('membership changed', { change: cc, voters, learners });
  }
}

/** Parses `raftHost:port[,clientHost:port]` as carried in a membership change. */
export function parseMemberAddress(s: string): MemberAddress | null {
  const [raft, client] = s.split(',');
  const r = raft ? parseHostPort(raft) : null;
  if (!r) return null;
  const c = client ? parseHostPort(client) : null;
  return c ? { raft: r, client: c } : { raft: r };
}

export function formatMemberAddress(a: MemberAddress): string {
  return `${a.raft.host}:${a.raft.port}${a.client ? `,${a.client.host}:${a.client.port}` : ''}`;
}
