import { RaftError, type RaftErrorCode } from '../core/errors.js';
import type { ConfChange, NodeId } from '../core/types.js';
import type { Logger } from '../../base/log.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { RpcServer } from '../transport/rpc.js';
import { NotLeaderAtError, type RaftNode } from './raft-node.js';

/** How a state machine's queries and results travel as bytes on the client port. */
export interface ClientCodec<R, Q, QR> {
  encodeResult(r: R): Uint8Array;
  decodeQuery(bytes: Uint8Array): Q;
  encodeQueryResult(r: QR): Uint8Array;
}

/** The methods of a member's client port. */
export const ClientMethod = {
  propose: 'raft.propose',
  read: 'raft.read',
  status: 'raft.status',
  transfer: 'raft.transferLeadership',
  membership: 'raft.changeMembership',
} as const;

/** Details of a `not_leader` error on the wire. */
export interface NotLeaderDetails {
  readonly leader: NodeId;
  readonly leaderClient: NetAddress | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The codes a member's client port answers with: the core's, and `invalid` for a request it
 * cannot read (a malformed query, a transfer target that is not a member id).
 */
export type ClientServiceErrorCode = RaftErrorCode | 'invalid';

/** An error that crosses the RPC boundary with its code (see raft/transport/rpc.ts). */
class WireError extends Error {
  constructor(
    readonly code: ClientServiceErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * Serves a member to clients over mutual TLS: propose, linearizable read, status, leadership
 * transfer and membership changes. Followers answer writes with `not_leader` and the
 * leader's client address, so clients find the leader in one hop.
 */
export class ClientService<R, Q, QR> {
  private readonly server: RpcServer;

  constructor(
    private readonly node: RaftNode<R, Q, QR>,
    codec: ClientCodec<R, Q, QR>,
    options: {
      listen: NetAddress;
      tls: MutualTlsMaterial;
      logger: Logger;
      callTimeoutMs?: number;
    },
  ) {
    const timeoutMs = options.callTimeoutMs ?? 5_000;
    this.server = new RpcServer({
      listen: options.listen,
      tls: options.tls,
      logger: options.logger,
    });
    this.server.handle(ClientMethod.propose, async (body, ctx) =>
      codec.encodeResult(
        await this.wrap(() => node.propose(body, { signal: ctx.signal, timeoutMs })),
      ),
    );
    this.server.handle(ClientMethod.read, async (body, ctx) => {
      let query: Q;
      try {
        query = codec.decodeQuery(body);
      } catch (err) {
        throw new WireError('invalid', `malformed query: ${(err as Error).message}`);
      }
      return codec.encodeQueryResult(
        await this.wrap(() => node.read(query, { signal: ctx.signal, timeoutMs })),
      );
    });
    this.server.handle(ClientMethod.status, () =>
      Promise.resolve(encoder.encode(JSON.stringify(node.status()))),
    );
    this.server.handle(ClientMethod.transfer, async (body) => {
      const { target } = parseJson(body) as { target?: unknown };
      if (typeof target !== 'number') throw new WireError('invalid', 'target must be a member id');
      await this.wrap(() => {
        node.transferLeadership(target);
        return Promise.resolve();
      });
      return new Uint8Array(0);
    });
    this.server.handle(ClientMethod.membership, async (body, ctx) => {
      const cc = parseJson(body) as ConfChange;
      await this.wrap(() => node.changeMembership(cc, { signal: ctx.signal, timeoutMs }));
      return new Uint8Array(0);
    });
  }

  start(): Promise<void> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async wrap<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof NotLeaderAtError) {
        const details: NotLeaderDetails = {
          leader: err.leader,
          leaderClient: err.leaderAddress?.client ?? null,
        };
        throw new WireError('not_leader', err.message, details);
      }
      if (err instanceof RaftError) throw new WireError(err.code, err.message);
      throw err;
    }
  }
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(body));
  } catch {
    throw new WireError('invalid', 'body is not JSON');
  }
}
