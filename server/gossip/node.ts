/**
 * The gossip runtime: one UDP socket, one timer, and a {@link Swim} core in between. It
 * authenticates every datagram ({@link GossipCodec}), counts what it drops, and reports
 * membership changes to `change` listeners.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { GossipError } from './errors.js';
import { Swim } from './swim.js';
import type { SwimConfig } from './swim.js';
import type { DropReason } from './wire.js';
import { GossipCodec } from './wire.js';
import type { MemberSigner, ProofVerifier } from './proof.js';
import type {
  GossipMessage,
  MemberIdentity,
  MemberUpdate,
  MemberView,
  MembershipEvent,
  OutgoingMessage,
} from './types.js';

/** How to run one gossip member. */
export interface GossipNodeOptions {
  readonly self: MemberIdentity;
  /** Addresses (`host:port`) of members to join through. */
  readonly seeds: readonly string[];
  /** The shared cluster key (at least 16 bytes). */
  readonly clusterKey: Uint8Array | string;
  /**
   * This member's certificate and key, and the cluster CA: its news is signed, and news
   * about anyone that does not carry that member's proof is dropped (`proof.ts`). Every
   * daemon runs with both; without them (the protocol's runtime tests) nothing is checked.
   */
  readonly proofs?: { readonly signer: MemberSigner; readonly verifier: ProofVerifier };
  /** Where to bind; defaults to the host and port of `self.address`. */
  readonly bind?: { readonly host: string; readonly port: number };
  /** Protocol tunables; see {@link SwimConfig}. */
  readonly protocol?: Omit<SwimConfig, 'self' | 'seeds' | 'random' | 'now'>;
  /** How often the core's clock advances. Default a tenth of the protocol period. */
  readonly tickMs?: number;
  readonly replayWindowMs?: number;
  readonly clock?: () => number;
  readonly random?: () => number;
}

/** Counters an operator reads to tell a quiet member from a deaf one. */
export interface GossipStats {
  readonly sent: number;
  readonly received: number;
  readonly sendErrors: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** News items dropped from authenticated datagrams for want of the member's own proof. */
  readonly unproven: number;
}

/** A running gossip member on UDP. */
export class GossipNode {
  private readonly options: GossipNodeOptions;
  private readonly clock: () => number;
  private readonly codec: GossipCodec;
  private readonly core: Swim;
  private readonly listeners = new Set<(event: MembershipEvent) => void>();
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private counters = { sent: 0, received: 0, sendErrors: 0, unproven: 0 };
  private readonly dropped: Record<DropReason, number> = {
    too_large: 0,
    too_short: 0,
    bad_mac: 0,
    malformed: 0,
    version: 0,
    stale: 0,
    replay: 0,
  };

  constructor(options: GossipNodeOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.codec = new GossipCodec({
      key: options.clusterKey,
      clock: this.clock,
      ...(options.replayWindowMs === undefined ? {} : { replayWindowMs: options.replayWindowMs }),
    });
    const signer = options.proofs?.signer;
    this.core = new Swim({
      ...options.protocol,
      self: options.self,
      seeds: options.seeds,
      random: options.random ?? Math.random,
      now: this.clock(),
      ...(signer === undefined
        ? {}
        : {
            prove: (identity: MemberIdentity, incarnation: number, leaving: boolean) =>
              signer.prove(identity, incarnation, leaving),
          }),
    });
  }

  /** Binds the socket and starts probing; resolves once the socket listens. */
  async start(): Promise<void> {
    if (this.closing !== null) throw new GossipError('closed', 'gossip: the node is closed');
    if (this.socket !== null) return;
    const { host, port } = this.options.bind ?? parseAddress(this.options.self.address);
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (datagram, rinfo) => this.receive(datagram, rinfo));
    // A UDP socket reports errors such as ICMP unreachable; the protocol copes with loss.
    socket.on('error', () => this.counters.sendErrors++);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const period = this.options.protocol?.protocolPeriodMs ?? 1000;
    this.timer = setInterval(() => this.advance(), this.options.tickMs ?? Math.max(1, period / 10));
    this.advance();
  }

  /** How this member describes itself to the cluster. */
  get self(): MemberIdentity {
    return this.options.self;
  }

  /** The local view, this member included. */
  members(): MemberView[] {
    return this.core.members();
  }

  /** Members of `role` that are alive or suspect: see {@link Swim.liveMembers}. */
  liveMembers(role?: string): MemberView[] {
    return this.core.liveMembers(role);
  }

  /** Calls `listener` on every membership change; returns a function that unsubscribes. */
  on(event: 'change', listener: (change: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): GossipStats {
    return { ...this.counters, dropped: { ...this.dropped } };
  }

  /** Leaves the cluster gracefully, then closes the socket. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    this.core.leave();
    await Promise.all(this.core.outbox().map((out) => this.send(socket, out)));
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private advance(): void {
    this.core.tick(this.clock());
    this.flush();
  }

  private receive(datagram: Buffer, rinfo: RemoteInfo): void {
    const result = this.codec.decode(datagram);
    if (!result.ok) {
      this.dropped[result.reason]++;
      return;
    }
    this.counters.received++;
    this.core.tick(this.clock());
    const from = formatAddress(rinfo.address, rinfo.port);
    this.core.step(this.proven(result.message, rinfo.address), from);
    this.flush();
  }

  /**
   * `message` without the news that does not carry its member's proof; `sender` (the source
   * address) pays for the checks (proof.ts).
   */
  private proven(message: GossipMessage, sender: string): GossipMessage {
    const verifier = this.options.proofs?.verifier;
    if (verifier === undefined) return message;
    const keep = (updates: readonly MemberUpdate[]): readonly MemberUpdate[] => {
      const kept = updates.filter((update) => verifier.verify(update, sender));
      this.counters.unproven += updates.length - kept.length;
      return kept.length === updates.length ? updates : kept;
    };
    const updates = keep(message.updates);
    return message.type === 'sync'
      ? { ...message, updates, members: keep(message.members) }
      : { ...message, updates };
  }

  private flush(): void {
    const socket = this.socket;
    if (socket !== null) {
      for (const out of this.core.outbox()) void this.send(socket, out);
    }
    for (const event of this.core.takeEvents()) {
      for (const listener of this.listeners) listener(event);
    }
  }

  /** Resolves when the datagram left (or failed to); loss is the protocol's business. */
  private send(socket: Socket, out: OutgoingMessage): Promise<void> {
    let datagram: Buffer;
    let target: { host: string; port: number };
    try {
      datagram = this.codec.encode(out.message);
      target = parseAddress(out.to);
    } catch {
      this.counters.sendErrors++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      try {
        socket.send(datagram, target.port, target.host, (error) => {
          if (error) this.counters.sendErrors++;
          else this.counters.sent++;
          resolve();
        });
      } catch {
        // The socket closed under a send already under way.
        this.counters.sendErrors++;
        resolve();
      }
    });
  }
}

/** Splits `host:port` (IPv6 hosts in brackets); throws `invalid_config` otherwise. */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new GossipError('invalid_config', `gossip: "${address}" is not host:port`);
  }
  return { host, port };
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
