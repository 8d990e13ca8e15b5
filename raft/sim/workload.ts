/**
 * The client workload: a few clients that each run one operation at a time (put, get,
 * compare-and-set, delete over a few keys), find the leader by redirects and guesses, retry
 * only what provably did not happen, and give up on an operation at its deadline (an
 * unknown outcome). What they saw is the history the invariant checks judge.
 */
import { RaftError } from '../core/errors.js';
import type { NodeId } from '../core/types.js';
import { encodeKvCommand, type KvCommand, type KvQuery } from '../kv/kv-state-machine.js';
import type { KvInput, KvOutput, Operation } from '../../base/history.js';
import type { Rng } from '../../base/rng.js';
import type { SimCluster } from './cluster.js';
import type { Invariants } from './invariants.js';

/** Steps a client waits for an operation before it counts the outcome as unknown. */
const OP_DEADLINE = 400;

/** A client operation under way, across its attempts. */
export interface InFlight {
  readonly op: Operation;
  readonly client: SimClient;
  readonly deadline: number;
  attempts: number;
  retryAt: number;
  /** Which attempt's callback still counts; late answers to older attempts are ignored. */
  attemptId: number;
  done: boolean;
  /** The member the current attempt went to, and when. */
  target: NodeId;
  dispatchedAt: number;
  /** {@link SimCluster.readLosses} when the current attempt was sent. */
  lossMark: number;
}

export interface SimClient {
  readonly id: number;
  leaderGuess: NodeId;
  current: InFlight | null;
  nextAt: number;
  counter: number;
}

/** A write the cluster acknowledged, at the index and term it was committed. */
export interface AckedWrite {
  readonly index: number;
  readonly term: number;
  readonly op: Operation;
}

export class Workload {
  readonly clients: SimClient[] = [];
  /** Every operation the clients started, done or not: the history to check. */
  readonly history: Operation[] = [];
  readonly ackedWrites: AckedWrite[] = [];
  /** Once the run heals, each key is read once more to close the history. */
  private finalReadKeys: string[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
    private readonly invariants: Invariants,
  ) {}

  addClient(leaderGuess: NodeId): void {
    this.clients.push({
      id: this.clients.length + 1,
      leaderGuess,
      current: null,
      nextAt: 0,
      counter: 0,
    });
  }

  /** Closes the history with a linearizable read of every key: a lost write shows up there. */
  readEveryKey(): void {
    this.finalReadKeys = Array.from({ length: this.cluster.profile.keys }, (_, i) => `k${i + 1}`);
  }

  /** An operation is under way, or a final read is still to start. */
  busy(): boolean {
    return this.clients.some((c) => c.current) || this.finalReadKeys.length > 0;
  }

  /** Each client times out, retries, or starts its next operation. */
  drive(): void {
    for (const c of this.clients) {
      const f = c.current;
      if (f) {
        if (this.cluster.now >= f.deadline) {
          this.invariants.checkReadAnswered(f);
          this.finishUnknown(f, 'timed out');
        } else if (f.retryAt >= 0 && this.cluster.now >= f.retryAt) {
          this.dispatch(f);
        }
        continue;
      }
      if (!this.cluster.chaos) {
        const key = this.finalReadKeys.pop();
        if (key) this.invoke(c, { kind: 'get', key });
        continue;
      }
      if (this.cluster.now < c.nextAt) continue;
      this.invoke(c, this.randomInput(c));
    }
  }

  private randomInput(c: SimClient): KvInput {
    const r = this.rng;
    const key = `k${r.int(1, this.cluster.profile.keys)}`;
    const roll = r.float();
    c.counter++;
    const value = `c${c.id}.${c.counter}`;
    if (roll < 0.45) return { kind: 'put', key, value };
    if (roll < 0.85) return { kind: 'get', key };
    if (roll < 0.95)
      return {
        kind: 'cas',
        key,
        expected: r.chance(0.3)
          ? null
          : `c${r.int(1, this.cluster.profile.clients)}.${r.int(1, c.counter)}`,
        value,
      };
    return { kind: 'delete', key };
  }

  private invoke(client: SimClient, input: KvInput): InFlight {
    const op: Operation = {
      clientId: client.id,
      input,
      call: this.cluster.now,
      return: null,
      output: null,
    };
    const f: InFlight = {
      op,
      client,
      deadline: this.cluster.now + OP_DEADLINE,
      attempts: 0,
      retryAt: -1,
      attemptId: 0,
      done: false,
      target: client.leaderGuess,
      dispatchedAt: this.cluster.now,
      lossMark: this.cluster.readLosses,
    };
    client.current = f;
    this.dispatch(f);
    return f;
  }

  private dispatch(f: InFlight): void {
    f.retryAt = -1;
    f.attempts++;
    const attempt = ++f.attemptId;
    const target = this.cluster.nodes[f.client.leaderGuess - 1];
    if (!target?.host || this.cluster.now < target.pausedUntil) {
      this.retry(f, this.rng.int(1, this.cluster.profile.nodes));
      return;
    }
    const host = target.host;
    const input = f.op.input;
    f.target = target.id;
    f.dispatchedAt = this.cluster.now;
    f.lossMark = this.cluster.readLosses;
    if (input.kind === 'get') {
      const query: KvQuery = { op: 'get', key: input.key };
      this.invariants.readSent(query, f.op);
      host.read(query, (err, res) => {
        if (f.done || attempt !== f.attemptId) return;
        if (err || !res) return this.retry(f, this.redirect(err, target.id));
        this.complete(f, { kind: 'get', value: res.value });
      });
      return;
    }
    const cmd: KvCommand =
      input.kind === 'put'
        ? { op: 'put', key: input.key, value: input.value }
        : input.kind === 'delete'
          ? { op: 'delete', key: input.key }
          : { op: 'cas', key: input.key, expected: input.expected, value: input.value };
    host.propose(encodeKvCommand(cmd), (err, res) => {
      if (f.done || attempt !== f.attemptId) return;
      if (err || !res) {
        const code = err instanceof RaftError ? err.code : 'unknown';
        // Only answers that prove the write never happened may be retried.
        if (code === 'not_leader' || code === 'proposal_dropped')
          return this.retry(f, this.redirect(err, target.id));
        return this.finishUnknown(f, `${code}: ${err?.message ?? ''}`);
      }
      this.ackedWrites.push({ index: res.index, term: res.term, op: f.op });
      this.complete(
        f,
        input.kind === 'cas'
          ? { kind: 'cas', ok: res.ok }
          : input.kind === 'put'
            ? { kind: 'put' }
            : { kind: 'delete' },
      );
    });
  }

  private redirect(err: Error | null, tried: NodeId): NodeId {
    const leader = (err as { leader?: NodeId } | null)?.leader;
    if (leader && leader !== tried) return leader;
    // A member that is restarting will be back in a few steps: ask its next run.
    if (err instanceof RaftError && err.code === 'stopped') return tried;
    return this.rng.int(1, this.cluster.profile.nodes);
  }

  private retry(f: InFlight, next: NodeId): void {
    f.client.leaderGuess = next;
    f.retryAt = this.cluster.now + this.rng.int(1, 8);
  }

  private complete(f: InFlight, output: KvOutput): void {
    f.done = true;
    f.op.return = this.cluster.now + 0.5;
    f.op.output = output;
    f.client.current = null;
    f.client.nextAt = this.cluster.now + this.rng.int(0, 10);
    this.history.push(f.op);
    if (output.kind === 'get') this.cluster.stats.reads++;
    else this.cluster.stats.acked++;
    this.cluster.log(
      `client ${f.op.clientId} ${describe(f.op.input)} -> ${JSON.stringify(output)}`,
    );
  }

  private finishUnknown(f: InFlight, why: string): void {
    f.done = true;
    f.client.current = null;
    this.history.push(f.op);
    this.cluster.stats.unknown++;
    this.cluster.log(`client ${f.op.clientId} ${describe(f.op.input)} -> unknown (${why})`);
  }
}

/** An operation's input as the trace shows it. */
export function describe(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return `put ${input.key}=${input.value}`;
    case 'get':
      return `get ${input.key}`;
    case 'delete':
      return `delete ${input.key}`;
    case 'cas':
      return `cas ${input.key} ${input.expected ?? 'null'}→${input.value}`;
  }
}
