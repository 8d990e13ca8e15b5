/**
 * The operator's side of the DB service's membership routes (`contract/membership.ts`): list the
 * members, add a learner, promote, remove, and ask one member for its own status. It talks
 * mutual TLS with the operator's certificate to whichever member answers (a follower
 * forwards to the leader), trying the next member when one does not answer or has no leader.
 */
import { Agent, request } from 'undici';
import type { NodeId } from '../raft/core/types.js';
import type { NodeStatus } from '../raft/runtime/raft-node.js';
import type { NetAddress } from '../base/host-port.js';
import type { MutualTlsMaterial } from '../base/tls.js';
import { errorFromWire, Unavailable, type AgendaError } from '../contract/errors.js';
import {
  MEMBERS_PATH,
  type MembershipChangeResult,
  type MembershipView,
} from '../contract/membership.js';

export interface MembershipClientOptions {
  /** API addresses of the DB members by id; any of them will do. */
  readonly members: ReadonlyMap<NodeId, NetAddress>;
  /** The operator's certificate (`operator` in the lab's CA). */
  readonly tls: MutualTlsMaterial;
  /** Longest one request to one member may take. Default 10 s (a change waits to apply). */
  readonly timeoutMs?: number;
}

export class MembershipClient {
  private readonly agent: Agent;
  private readonly members: readonly { id: NodeId; address: NetAddress }[];
  /** The member that answered last: asked first next time. */
  private preferred = 0;

  constructor(private readonly options: MembershipClientOptions) {
    if (options.members.size === 0) throw new Error('the membership client needs a member');
    this.members = [...options.members].map(([id, address]) => ({ id, address }));
    this.agent = new Agent({
      connect: {
        ca: options.tls.ca,
        cert: options.tls.cert,
        key: options.tls.key,
        rejectUnauthorized: true,
        timeout: 2_000,
      },
      keepAliveTimeout: 10_000,
    });
  }

  /** The membership as the leader sees it now. */
  list(signal?: AbortSignal): Promise<MembershipView> {
    return this.call<MembershipView>('GET', MEMBERS_PATH, undefined, signal);
  }

  /** Adds `id` as a learner; without `address`, the one the cluster already knows for it. */
  addLearner(id: NodeId, address?: string, signal?: AbortSignal): Promise<MembershipChangeResult> {
    const body = address === undefined ? { id } : { id, address };
    return this.call<MembershipChangeResult>('POST', MEMBERS_PATH, body, signal);
  }

  promote(id: NodeId, signal?: AbortSignal): Promise<MembershipChangeResult> {
    return this.call<MembershipChangeResult>('POST', `${MEMBERS_PATH}/${id}/promote`, {}, signal);
  }

  remove(id: NodeId, signal?: AbortSignal): Promise<MembershipChangeResult> {
    return this.call<MembershipChangeResult>('DELETE', `${MEMBERS_PATH}/${id}`, undefined, signal);
  }

  /** One member's own Raft status at `address`, or null when it does not answer in time. */
  async memberStatus(address: NetAddress, timeoutMs = 2_000): Promise<NodeStatus | null> {
    try {
      const res = await request(`https://${address.host}:${address.port}/v1/status`, {
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await res.body.json()) as { member?: NodeStatus } | null;
      return res.statusCode === 200 && typeof body?.member?.term === 'number' ? body.member : null;
    } catch {
      return null;
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /**
   * Asks the members in turn, starting with the one that answered last, until one gives an
   * answer that is not "unavailable"; a refusal (4xx) is thrown as the {@link AgendaError}
   * it names, and after every member failed, every member's reason as {@link Unavailable}
   * (the last one alone named a member that was not even in the cluster when none answered).
   */
  private async call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const reasons: string[] = [];
    for (let n = 0; n < this.members.length; n++) {
      const index = (this.preferred + n) % this.members.length;
      const member = this.members[index];
      if (!member) continue;
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
      let statusCode: number;
      let answer: { result?: T; error?: unknown } | null;
      try {
        const res = await request(`https://${member.address.host}:${member.address.port}${path}`, {
          method,
          dispatcher: this.agent,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          ...(body === undefined
            ? {}
            : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
        statusCode = res.statusCode;
        answer = (await res.body.json()) as typeof answer;
      } catch (err) {
        signal?.throwIfAborted();
        reasons.push(`db-${member.id} did not answer (${(err as Error).message})`);
        continue;
      }
      if (statusCode === 200 && answer?.result !== undefined) {
        this.preferred = index;
        return answer.result;
      }
      const error: AgendaError = errorFromWire(answer?.error);
      if (error.code !== 'unavailable') throw error;
      reasons.push(`db-${member.id}: ${error.message}`);
    }
    throw new Unavailable(`no DB member could answer: ${reasons.join('; ') || 'none is known'}`);
  }
}
