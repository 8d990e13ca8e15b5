/**
 * Test support: RaftHosts on the real storage code (DurableStorage on a simulated disk), wired
 * by an in-memory network that the test drives message by message, with power cuts and
 * restarts. Nothing is timed, so every test is a fixed script. (The core's own tests use
 * `core/test-cluster.ts`, which has no host and no storage.)
 */
import type { ConfChange, Message, NodeId } from '../core/types.js';
import { DurableStorage } from '../storage/durable-log.js';
import { SimFileSystem } from '../storage/sim-fs.js';
import { RaftHost, type HostStorage, type StateMachine } from './host.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A register: each command sets its value; a query reads it ('' before any command). */
function register(): StateMachine<string, null, string> {
  let value = '';
  return {
    apply: (commands) =>
      commands.map((c) => {
        value = decoder.decode(c.data);
        return value;
      }),
    snapshot: () => encoder.encode(value),
    restore: (data) => {
      value = decoder.decode(data);
    },
    query: () => value,
  };
}

/** The power goes out in the member's next fsync: what it wrote since the last one is lost. */
export class PowerCut extends Error {}

interface Member {
  readonly fs: SimFileSystem;
  readonly joining: boolean;
  /** Every value the member's state machine applied, across its restarts. */
  readonly applied: string[];
  host: RaftHost<string, null, string> | null;
  cutPowerAtSync: boolean;
  /** Election timeout jitter, in [0, 1): the member's randomized timeout is 10 + 10 × this. */
  jitter: number;
}

export class HostCluster {
  private readonly members = new Map<NodeId, Member>();
  /** Messages sent and not yet delivered, in order. */
  inflight: Message[] = [];
  /** Links that drop everything: "from>to". */
  readonly cut = new Set<string>();

  /** Starts the founding members of a new cluster. */
  constructor(private readonly founders: readonly NodeId[]) {
    for (const id of founders) this.start(id, false);
  }

  /** Starts a member on an empty disk: a founder, or one `joining` the running cluster. */
  start(id: NodeId, joining: boolean): void {
    const m: Member = {
      fs: new SimFileSystem(),
      joining,
      applied: [],
      host: null,
      cutPowerAtSync: false,
      jitter: 0,
    };
    this.members.set(id, m);
    this.boot(id, m);
  }

  host(id: NodeId): RaftHost<string, null, string> {
    const h = this.get(id).host;
    if (!h) throw new Error(`member ${id} is down`);
    return h;
  }

  applied(id: NodeId): readonly string[] {
    return this.get(id).applied;
  }

  /** Sets the member's election timeout to 10 + 10 × `jitter` ticks from its next timer reset. */
  setJitter(id: NodeId, jitter: number): void {
    this.get(id).jitter = jitter;
  }

  /** The member's next fsync throws {@link PowerCut}; call {@link crash} after it. */
  cutPowerAtNextSync(id: NodeId): void {
    this.get(id).cutPowerAtSync = true;
  }

  /** Power loss: the member stops and loses whatever it had not fsynced. */
  crash(id: NodeId): void {
    const m = this.get(id);
    m.host?.close();
    m.host = null;
    m.fs.crash(() => 0.5, { tornWriteChance: 0 });
  }

  /** Power loss, then a restart from what is on the member's disk. */
  restart(id: NodeId): void {
    this.crash(id);
    this.boot(id, this.get(id));
  }

  /** Runs a member's outstanding work (as the runtime does after every input). */
  process(id: NodeId): void {
    this.get(id).host?.process();
  }

  /**
   * Delivers queued messages (and those they cause) until the network is quiet. Messages
   * `hold` returns true for are kept back, undelivered, and returned.
   */
  deliverAll(hold: (m: Message) => boolean = () => false): Message[] {
    const held: Message[] = [];
    for (let round = 0; round < 1000; round++) {
      for (const id of this.members.keys()) this.process(id);
      if (this.inflight.length === 0) return held;
      const batch = this.inflight;
      this.inflight = [];
      for (const msg of batch) {
        if (this.cut.has(`${msg.from}>${msg.to}`)) continue;
        if (hold(msg)) {
          held.push(msg);
          continue;
        }
        this.members.get(msg.to)?.host?.receive(msg);
      }
    }
    throw new Error('the network did not go quiet');
  }

  /** Ticks the given members (all that are up by default) `n` times, delivering after each. */
  tick(n = 1, ids: readonly NodeId[] = [...this.members.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.get(id).host?.tick();
      this.deliverAll();
    }
  }

  /** Ticks `id` until it leads. */
  elect(id: NodeId): void {
    for (let i = 0; i < 100 && this.host(id).status().role !== 'leader'; i++) this.tick(1, [id]);
    if (this.host(id).status().role !== 'leader') throw new Error(`member ${id} did not lead`);
  }

  leaders(): NodeId[] {
    return [...this.members]
      .filter(([, m]) => m.host?.status().role === 'leader')
      .map(([id]) => id);
  }

  /** Proposes a value on `leader` and delivers until it is applied there. */
  write(leader: NodeId, value: string): void {
    let error: Error | null | undefined;
    this.host(leader).propose(encoder.encode(value), (err) => (error = err));
    this.deliverAll();
    this.tick(1, [leader]);
    if (error !== null) throw error ?? new Error(`${value} was not applied`);
  }

  /** Changes the membership through `leader` and delivers until every member has applied it. */
  changeMembership(leader: NodeId, cc: ConfChange): void {
    let error: Error | null | undefined;
    this.host(leader).proposeConfChange(cc, (err) => (error = err));
    this.deliverAll();
    this.tick(2, [leader]);
    if (error !== null) throw error ?? new Error(`${cc.kind} was not applied`);
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`).add(`${other}>${id}`);
    }
  }

  /** Cuts every link between the two sides. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`).add(`${y}>${x}`);
  }

  heal(): void {
    this.cut.clear();
  }

  private get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  private boot(id: NodeId, m: Member): void {
    const durable = new DurableStorage({ fs: m.fs, dir: '/data', logger: { warn: () => {} } });
    const storage: HostStorage = {
      load: () => durable.load(),
      saveHardState: (hs) => durable.saveHardState(hs),
      append: (entries) => durable.append(entries),
      installSnapshot: (snap) => durable.installSnapshot(snap),
      saveSnapshot: (snap) => durable.saveSnapshot(snap),
      compact: (index) => durable.compact(index),
      sync: () => {
        if (m.cutPowerAtSync) {
          m.cutPowerAtSync = false;
          throw new PowerCut(`member ${id} lost power in an fsync`);
        }
        durable.sync();
      },
    };
    const machine = register();
    m.host = new RaftHost({
      raft: { id, electionTicks: 10, heartbeatTicks: 1, random: () => m.jitter },
      storage,
      stateMachine: {
        ...machine,
        apply: (commands) => {
          const results = machine.apply(commands);
          m.applied.push(...results);
          return results;
        },
      },
      bootstrap: { voters: m.joining ? [] : [...this.founders], learners: [] },
      send: (messages) => this.inflight.push(...messages),
    });
  }
}
