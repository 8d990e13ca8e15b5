import { RaftError } from '../core/errors.js';
import { ClientMethod, type NotLeaderDetails } from '../runtime/client-service.js';
import type { NodeStatus } from '../runtime/raft-node.js';
import type { Logger } from '../../base/log.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { RpcClient, RpcError } from '../transport/rpc.js';

export interface RaftClientOptions {
  /** Client addresses of the members; any of them will do to start. */
  readonly members: readonly NetAddress[];
  readonly tls: MutualTlsMaterial;
  readonly logger?: Logger;
  /** Timeout of one attempt against one member. Default 3000 ms. */
  readonly attemptTimeoutMs?: number;
}

export interface ClientCallOptions {
  readonly signal?: AbortSignal;
  /** Overall deadline for the call, retries included. Default 10 s. */
  readonly deadlineMs?: number;
  /**
   * The command is safe to apply twice (it carries its own request id), so a write whose
   * outcome is unknown (connection lost, timeout) may be retried instead of reported.
   */
  readonly idempotent?: boolean;
}

/** Errors after which a write certainly did not take effect, so another attempt is safe. */
const NOT_APPLIED = new Set([
  'not_leader',
  'proposal_dropped',
  'no_leader',
  'stopped',
  'overloaded',
  'unreachable',
]);

const key = (a: NetAddress) => `${a.host}:${a.port}`;

/**
 * A client of a Raft cluster's client ports. It remembers the leader, follows `not_leader`
 * redirects, and retries what is safe to retry: reads always; writes only when the member
 * said the write did not happen, or when the caller says the command is idempotent.
 * A write whose fate is unknown is reported as `outcome_unknown`, never silently retried.
 */
export class RaftClient {
  private readonly clients = new Map<string, RpcClient>();
  private readonly members: NetAddress[];
  private leader: NetAddress | null = null;
  private rotation = 0;

  constructor(private readonly options: RaftClientOptions) {
    if (options.members.length === 0)
      throw new RaftError('invariant_violated', 'no members to talk to');
    this.members = [...options.members];
  }

  /** Proposes a command and resolves with the encoded result once applied. */
  propose(command: Uint8Array, opts: ClientCallOptions = {}): Promise<Uint8Array> {
    return this.withRetries(ClientMethod.propose, command, opts, opts.idempotent ?? false);
  }

  /** A linearizable read; retried across members until the deadline. */
  read(query: Uint8Array, opts: ClientCallOptions = {}): Promise<Uint8Array> {
    return this.withRetries(ClientMethod.read, query, opts, true);
  }

  /** One member's status. */
  async status(member: NetAddress, timeoutMs = 2_000): Promise<NodeStatus> {
    const bytes = await this.client(member).call(ClientMethod.status, new Uint8Array(0), {
      timeoutMs,
    });
    return JSON.parse(new TextDecoder().decode(bytes)) as NodeStatus;
  }

  /** The member currently believed to lead, if any. */
  knownLeader(): NetAddress | null {
    return this.leader;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  private client(a: NetAddress): RpcClient {
    let c = this.clients.get(key(a));
    if (!c) {
      c = new RpcClient({
        address: a,
        tls: this.options.tls,
        defaultTimeoutMs: this.options.attemptTimeoutMs ?? 3_000,
        connectTimeoutMs: 1_000,
        ...(this.options.logger ? { logger: this.options.logger } : {}),
      });
      this.clients.set(key(a), c);
    }
    return c;
  }

  private nextMember(): NetAddress {
    const m = this.members[this.rotation++ % this.members.length];
    if (!m) throw new RaftError('invariant_violated', 'no members');
    return m;
  }

  private async withRetries(
    method: string,
    body: Uint8Array,
    opts: ClientCallOptions,
    retryUnknown: boolean,
  ): Promise<Uint8Array> {
    const deadline = Date.now() + (opts.deadlineMs ?? 10_000);
    let backoff = 10;
    let lastError: unknown = null;
    while (Date.now() < deadline) {
      if (opts.signal?.aborted) throw new RaftError('timeout', 'the caller gave up');
      const target = this.leader ?? this.nextMember();
      const remaining = deadline - Date.now();
      try {
        const out = await this.client(target).call(method, body, {
          timeoutMs: Math.max(1, Math.min(this.options.attemptTimeoutMs ?? 3_000, remaining)),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        this.leader = target;
        return out;
      } catch (err) {
        lastError = err;
        if (!(err instanceof RpcError)) throw err;
        if (err.code === 'not_leader') {
          const d = err.details as NotLeaderDetails | undefined;
          this.leader =
            d?.leaderClient && key(d.leaderClient) !== key(target) ? d.leaderClient : null;
          if (this.leader) continue;
        } else if (NOT_APPLIED.has(err.code)) {
          this.leader = null;
        } else if (err.remote && err.code !== 'timeout' && err.code !== 'outcome_unknown') {
          // The member refused the command itself (invalid, ...): retrying cannot help.
          throw err;
        } else {
          // Lost connection, timeout, aborted: the write may or may not have happened.
          this.leader = null;
          if (!retryUnknown) {
            throw new RaftError('outcome_unknown', `the outcome is unknown: ${err.message}`, {
              cause: err,
            });
          }
        }
      }
      await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
      backoff = Math.min(backoff * 2, 200);
    }
    const why = lastError instanceof Error ? lastError.message : 'no member answered';
    throw new RaftError(
      retryUnknown ? 'timeout' : 'outcome_unknown',
      `gave up before the deadline: ${why}`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
