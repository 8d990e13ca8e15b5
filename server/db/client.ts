/**
 * The client the logic services and supervisors use to reach the DB service: mutual TLS,
 * keep-alive connections to every member, a preference for the member it last saw lead,
 * and retries that are safe because every command carries its request id (the store
 * applies a request id once and answers the original result to a retry).
 *
 * Every attempt ends by its own bound, whatever the network does. A member whose packets are
 * dropped (a partitioned or crashed host) never refuses a connection: undici would wait out
 * its connect timeout (seconds, on a coarse timer, and deaf to abort signals while
 * connecting). So connects have a precise bound of their own (`server/net/connector.ts`),
 * each attempt is raced against a timer, and the member that failed stops
 * being the first one asked: callers with short deadlines (the VIP agent's 100 ms checks)
 * move on to a live member on their next call instead of asking the dead one again.
 */
import { Agent, request } from 'undici';
import { preciseConnector } from '../net/connector.js';
import { Unavailable, errorFromWire, isAgendaError, type AgendaError } from '../errors.js';
import type {
  QueryBody,
  StoreCommand,
  StoreQueryResult,
  StoreResult,
  StoreStatus,
} from '../store/protocol.js';
import type { NodeStatus } from '../../raft/runtime/raft-node.js';
import type { MutualTlsMaterial, NetAddress } from '../../raft/transport/mutual-tls.js';

export interface DbClientOptions {
  /** API addresses of the DB members by member id; any of them will do. */
  readonly members: ReadonlyMap<number, NetAddress>;
  readonly tls: MutualTlsMaterial;
  /** Overall deadline of one call, retries included. Default 8 s. */
  readonly deadlineMs?: number;
  /** Longest one attempt on one member may take before the next member is tried. Default 1 s. */
  readonly attemptTimeoutMs?: number;
  /** Longest a connection (TCP and TLS) to a member may take to open. Default 500 ms. */
  readonly connectTimeoutMs?: number;
}

/** A command as callers write it: the DB leader stamps `at`. */
export type CommandInput = Omit<StoreCommand, 'at'>;

export interface DbMemberStatus {
  readonly member: NodeStatus;
  readonly store: StoreStatus | null;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly deadlineMs?: number;
}

export class DbClient {
  private readonly agent: Agent;
  private readonly members: { readonly id: number; readonly address: NetAddress }[];
  private preferred = 0;

  constructor(private readonly options: DbClientOptions) {
    if (options.members.size === 0) throw new Error('the DB client needs at least one member');
    this.members = [...options.members].map(([id, address]) => ({ id, address }));
    this.agent = new Agent({
      connect: preciseConnector(
        {
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
          rejectUnauthorized: true,
        },
        options.connectTimeoutMs ?? 500,
      ),
      keepAliveTimeout: 30_000,
      connections: 32,
    });
  }

  /**
   * Applies a command and returns the store's result (a domain refusal is a result with
   * `ok: false`, not an exception). Throws {@link Unavailable} when no member could apply it
   * before the deadline; retrying later with the same request id is then safe.
   */
  command(command: CommandInput, opts: CallOptions = {}): Promise<StoreResult> {
    return this.call<StoreResult>('/v1/commands', command, opts);
  }

  /** A linearizable read (or `local`, possibly stale, from whichever member answers). */
  query(
    actor: string | null,
    body: QueryBody,
    opts: CallOptions & { consistency?: 'linearizable' | 'local' } = {},
  ): Promise<StoreQueryResult> {
    const path = opts.consistency === 'local' ? '/v1/queries?consistency=local' : '/v1/queries';
    return this.call<StoreQueryResult>(path, { v: 1, actor, body }, opts);
  }

  /** One member's status (no retries: an operator wants to know that member). */
  async status(member: NetAddress, timeoutMs = 2_000): Promise<DbMemberStatus> {
    const res = await request(`https://${member.host}:${member.port}/v1/status`, {
      dispatcher: this.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode !== 200) throw new Unavailable(`member answered ${res.statusCode}`);
    return (await res.body.json()) as DbMemberStatus;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async call<T>(path: string, body: unknown, opts: CallOptions): Promise<T> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.options.deadlineMs ?? 8_000);
    const payload = JSON.stringify(body);
    let backoff = 20;
    let last: AgendaError | null = null;
    while (Date.now() < deadline) {
      if (opts.signal?.aborted) throw new Unavailable('the caller gave up');
      // The preferred member: the leader as last named, else the last one that answered, else
      // the one after the last that failed.
      const index = this.preferred;
      const member = this.members[index]?.address;
      if (!member) break;
      const attemptMs = Math.max(
        1,
        Math.min(deadline - Date.now(), this.options.attemptTimeoutMs ?? 1_000),
      );
      try {
        const res = await bounded(
          request(`https://${member.host}:${member.port}${path}`, {
            method: 'POST',
            dispatcher: this.agent,
            headers: { 'content-type': 'application/json' },
            body: payload,
            headersTimeout: attemptMs,
            bodyTimeout: attemptMs,
            signal: opts.signal
              ? AbortSignal.any([opts.signal, AbortSignal.timeout(attemptMs)])
              : AbortSignal.timeout(attemptMs),
          }),
          attemptMs,
          `no answer within ${attemptMs} ms`,
        );
        const answer = (await res.body.json()) as { result?: T; error?: unknown };
        // Prefer the leader next time (no forwarding hop); else stay with whoever answered.
        const knowsLeader = this.learnLeader(res.headers['x-agenda-db-leader']);
        if (res.statusCode === 200 && answer.result !== undefined) {
          if (!knowsLeader) this.preferred = index;
          return answer.result;
        }
        const err = errorFromWire(answer.error);
        if (err.code !== 'unavailable') throw err;
        last = err;
      } catch (err) {
        if (isAgendaError(err) && err.code !== 'unavailable') throw err;
        // Connection refused or reset, timeout: with request ids, trying another member is safe.
        last = new Unavailable(
          `DB member ${member.host}:${member.port}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      // Unless it named another member as leader, the next attempt (and the next call) starts
      // with the member after the one that could not serve.
      if (this.preferred === index) this.preferred = (index + 1) % this.members.length;
      await new Promise((r) =>
        setTimeout(r, Math.min(backoff, Math.max(0, deadline - Date.now()))),
      );
      backoff = Math.min(backoff * 2, 250);
    }
    throw last ?? new Unavailable('no DB member answered before the deadline');
  }

  /** Every answer names the leader as that member knows it: ask the leader next time. */
  private learnLeader(header: string | string[] | undefined): boolean {
    const id = Number(Array.isArray(header) ? header[0] : header);
    const index = this.members.findIndex((m) => m.id === id);
    if (index < 0) return false;
    this.preferred = index;
    return true;
  }
}

/**
 * `pending`, or a rejection once `ms` have passed. The loser is not cancelled — undici cannot
 * cancel a connect in progress — so its outcome is consumed here, never left unhandled.
 */
function bounded<T extends { body: { dump(): Promise<void> } }>(
  pending: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unavailable(message)), ms);
  });
  return Promise.race([pending, expired]).finally(() => {
    clearTimeout(timer);
    pending.then(
      (late) => late.body.dump().catch(() => {}),
      () => {},
    );
  });
}
