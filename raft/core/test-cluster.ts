/**
 * Test support: a handful of cores wired by an in-memory network that the test controls
 * message by message. Storage is the cores' own Ready output kept in memory; nothing is
 * timed, so every test is a fixed script.
 */
import { bootstrapEntry } from './conf-change.js';
import { RaftCore, type RaftConfig } from './raft.js';
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  ReadState,
  Snapshot,
} from './types.js';

export interface TestMember {
  readonly core: RaftCore;
  /** What "storage" holds: the hard state and the log as persisted through Ready. */
  hardState: HardState;
  log: Entry[];
  applied: Entry[];
  readStates: ReadState[];
  failedReads: string[];
  snapshot: Snapshot | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function data(s: string): Uint8Array {
  return encoder.encode(s);
}

export function text(e: Entry): string {
  return decoder.decode(e.data);
}

/**
 * Sees what the cluster does, for the golden transcripts (`transcript.ts`): every Ready a
 * member hands out (before it is persisted), and every message as it is stepped or dropped.
 */
export interface ClusterObserver {
  ready(id: NodeId, rd: Ready): void;
  /** `why` is null for a message delivered, else why it was not. */
  deliver(m: Message, why: null | 'cut' | 'no member' | 'held' | 'dropped'): void;
}

/** Options of the cluster itself, beside the members' own Raft options. */
interface ClusterOptions {
  conf?: ConfState;
  randomFor?: (id: NodeId) => () => number;
  /**
   * Founders start with the founding membership as their first entry, as `RaftHost` writes
   * it, instead of being handed the membership; then a member added with no voters joins
   * the way a real one does, learning the founding voters by replaying the log.
   */
  bootstrap?: boolean;
}

export class TestCluster {
  readonly members = new Map<NodeId, TestMember>();
  /** Messages sent and not yet delivered, in order. */
  inflight: Message[] = [];
  /** Links that drop everything: "from>to". */
  readonly cut = new Set<string>();
  private readonly conf: ConfState;
  private readonly options: Partial<Omit<RaftConfig, 'id'>>;
  observer: ClusterObserver | null = null;

  constructor(
    ids: readonly NodeId[],
    options: Partial<Omit<RaftConfig, 'id'>> & ClusterOptions = {},
  ) {
    const conf = options.conf ?? { voters: [...ids], learners: [] };
    this.conf = conf;
    const { randomFor: _randomFor, conf: _conf, bootstrap, ...raftOptions } = options;
    this.options = raftOptions;
    const log = bootstrap ? [bootstrapEntry(conf)] : [];
    for (const id of ids) this.add(id, conf, options, log);
  }

  /** Crash and restart: a new core from what the member persisted; volatile state is lost. */
  restart(id: NodeId): void {
    const old = this.get(id);
    const core = new RaftCore(
      { id, electionTicks: 10, heartbeatTicks: 1, random: () => 0, ...this.options },
      { hardState: old.hardState, snapshot: old.snapshot, entries: old.log, conf: this.conf },
    );
    this.members.set(id, { ...old, core, applied: [], readStates: [], failedReads: [] });
  }

  add(
    id: NodeId,
    conf: ConfState,
    options: Partial<Omit<RaftConfig, 'id'>> & { randomFor?: (id: NodeId) => () => number } = {},
    log: Entry[] = [],
  ): TestMember {
    const core = new RaftCore(
      {
        id,
        electionTicks: options.electionTicks ?? 10,
        heartbeatTicks: options.heartbeatTicks ?? 1,
        // Deterministic and distinct per member so elections are predictable.
        random: options.randomFor?.(id) ?? (() => 0),
        preVote: options.preVote ?? true,
        checkQuorum: options.checkQuorum ?? true,
        ...(options.maxAppendBytes === undefined ? {} : { maxAppendBytes: options.maxAppendBytes }),
        ...(options.maxInflightMsgs === undefined
          ? {}
          : { maxInflightMsgs: options.maxInflightMsgs }),
        ...(options.snapshotChunkBytes === undefined
          ? {}
          : { snapshotChunkBytes: options.snapshotChunkBytes }),
        ...(options.promotionLag === undefined ? {} : { promotionLag: options.promotionLag }),
      },
      { hardState: { term: 0, vote: 0 }, snapshot: null, entries: log, conf },
    );
    const m: TestMember = {
      core,
      hardState: { term: 0, vote: 0 },
      log: [...log],
      applied: [],
      readStates: [],
      failedReads: [],
      snapshot: null,
    };
    this.members.set(id, m);
    return m;
  }

  get(id: NodeId): TestMember {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  core(id: NodeId): RaftCore {
    return this.get(id).core;
  }

  /** Drains every member's Ready: persist, queue messages, apply. */
  flush(): void {
    for (const m of this.members.values()) {
      while (m.core.hasReady()) {
        const rd = m.core.ready();
        this.observer?.ready(m.core.id, rd);
        if (rd.hardState) m.hardState = rd.hardState;
        if (rd.snapshot) {
          m.snapshot = rd.snapshot;
          m.log = [];
        }
        for (const e of rd.entries) {
          m.log = m.log.filter((x) => x.index < e.index);
          m.log.push(e);
        }
        this.inflight.push(...rd.messages);
        m.applied.push(...rd.committedEntries);
        m.readStates.push(...rd.readStates);
        m.failedReads.push(...rd.failedReads);
        m.core.advance(rd);
      }
    }
  }

  /** Delivers queued messages (and the ones they cause) until the network is quiet. */
  deliverAll(maxRounds = 1000, filter: (m: Message) => boolean = () => true): void {
    for (let round = 0; round < maxRounds; round++) {
      this.flush();
      if (this.inflight.length === 0) return;
      const batch = this.inflight;
      this.inflight = [];
      for (const msg of batch) this.deliver(msg, filter);
    }
    throw new Error('the network did not go quiet');
  }

  /**
   * Delivers once the queued messages `pick` selects (not the ones they cause), in order;
   * the others stay queued. Then drains the Readies.
   */
  deliverSome(pick: (m: Message) => boolean): void {
    this.flush();
    const batch = this.inflight.filter(pick);
    this.inflight = this.inflight.filter((m) => !pick(m));
    for (const msg of batch) this.deliver(msg);
    this.flush();
  }

  /** Discards the queued messages `pick` selects, as a lossy network would. */
  drop(pick: (m: Message) => boolean): void {
    this.flush();
    for (const msg of this.inflight.filter(pick)) this.observer?.deliver(msg, 'dropped');
    this.inflight = this.inflight.filter((m) => !pick(m));
  }

  /**
   * Steps `msg` into its addressee unless its link is cut or `filter` holds it back (asked
   * only about messages on live links: `electHolding` collects what it is asked about).
   */
  private deliver(msg: Message, filter: (m: Message) => boolean = () => true): void {
    const to = this.members.get(msg.to);
    const why = this.cut.has(`${msg.from}>${msg.to}`)
      ? 'cut'
      : !filter(msg)
        ? 'held'
        : to
          ? null
          : 'no member';
    this.observer?.deliver(msg, why);
    if (why === null) to?.core.step(msg);
  }

  /** Ticks one member `n` times, delivering after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.deliverAll();
    }
  }

  /** Ticks every member `n` times. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const m of this.members.values()) m.core.tick();
      this.deliverAll();
    }
  }

  /** Makes `id` campaign now (as if its election timer fired) and settles the election. */
  elect(id: NodeId): void {
    const core = this.core(id);
    for (let i = 0; i < 100 && core.status().role !== 'leader'; i++) this.tick(id);
    if (core.status().role !== 'leader') throw new Error(`member ${id} did not become leader`);
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`).add(`${other}>${id}`);
    }
  }

  /** Restores the links between `a` and `b` in both directions. */
  link(a: NodeId, b: NodeId): void {
    this.cut.delete(`${a}>${b}`);
    this.cut.delete(`${b}>${a}`);
  }

  /**
   * Makes `id` campaign until it leads, delivering everything except messages `hold`
   * rejects (those are returned, undelivered, for the test to inspect or replay).
   */
  electHolding(id: NodeId, hold: (m: Message) => boolean): Message[] {
    const held: Message[] = [];
    const core = this.core(id);
    for (let i = 0; i < 100 && core.status().role !== 'leader'; i++) {
      core.tick();
      this.deliverAll(1000, (m) => {
        if (!hold(m)) return true;
        held.push(m);
        return false;
      });
    }
    if (core.status().role !== 'leader') throw new Error(`member ${id} did not become leader`);
    return held;
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): NodeId | undefined {
    for (const [id, m] of this.members) if (m.core.status().role === 'leader') return id;
    return undefined;
  }
}
