/**
 * Heartbeats between the two VIP agents of a pair, over UDP: each says who it is, whether it
 * holds the VIP, the lease epoch it knows and a sequence number, once per check interval and
 * again at once whenever it claims or releases the VIP.
 *
 * Heartbeats never decide who owns the VIP — the lease in the DB does (see `decide.ts`) — but
 * they let a passive agent take over as soon as the active one says it stepped down, instead
 * of waiting for the lease to expire. A forged "I am passive" could only make an agent try
 * for a lease the DB would refuse it; a forged "I am active" could keep it from taking over.
 * So they are authenticated all the same, with the pair's shared key and the envelope every
 * UDP protocol here uses (`server/gossip/wire.ts`: HMAC-SHA256, timestamp and nonce replay
 * window), and only the configured peer's id is accepted — which also stops an agent's own
 * heartbeats, reflected back at it, from passing for the peer's.
 *
 * Bad datagrams are counted by reason and dropped; nothing a datagram holds can throw.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { NetAddress } from '../base/host-port.js';
import { AuthenticatedDatagramCodec, DROP_REASONS } from '../server/gossip/wire.js';
import type { DropReason } from '../server/gossip/wire.js';
import type { PeerClaim } from './decide.js';

const agentId = z.string().min(1).max(200);

/** One heartbeat, as it travels inside the authenticated envelope. */
export const HeartbeatSchema = z.strictObject({
  /** Sets heartbeats apart from any other body sealed with the same key. */
  type: z.literal('vip-heartbeat'),
  /** The sender's agent id. */
  from: agentId,
  /** Whether the sender holds the VIP right now. */
  state: z.enum(['active', 'passive']),
  /** The lease epoch the sender holds or last saw; 0 when it never saw one. */
  epoch: z.int().nonnegative(),
  /** Grows with every heartbeat the sender sends, across restarts too (see {@link HeartbeatChannel}). */
  seq: z.int().nonnegative(),
  /**
   * The `seq` of the newest heartbeat the sender accepted from its peer; absent before it heard
   * any. It tells the peer which of its own heartbeats got through (see `acknowledgedActive`).
   */
  ack: z.int().nonnegative().optional(),
  /**
   * How long the sender stands back after hearing its peer active (its `peerDeadAfterMs`):
   * the length of the promise a confirmation makes. Without it a confirmation counts for
   * nothing — two agents configured differently must not take each other's word for longer
   * than it was given.
   */
  deadAfterMs: z.int().positive().max(600_000).optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** How many of its own recent heartbeats a channel remembers, to match confirmations. */
const SENT_REMEMBERED = 64;

/** Why a heartbeat was dropped: the envelope's reasons, a sender other than the peer, or an
 * older sequence number than one already accepted (reordered or replayed in a new envelope). */
export type HeartbeatDropReason = DropReason | 'unknown_sender' | 'out_of_order';

/** What the peer last said, and how long ago (monotonic) it was heard. */
export interface PeerHeartbeat {
  readonly id: string;
  /**
   * Time since the last accepted heartbeat. Before any, the time since this channel opened,
   * until `restartAfterMs` have passed (then null): a peer we have not heard yet may have
   * heard us active just before *we* restarted, and its promise to stand back for that long
   * must be kept by us as well — so a restarted agent does not count a silent peer dead
   * sooner than a running one would.
   */
  readonly heartbeatAgeMs: number | null;
  readonly claimed: PeerClaim;
  /** The lease epoch it announced; null if never heard. */
  readonly epoch: number | null;
  /**
   * Time since this agent sent the newest of its own "active" heartbeats that the peer
   * confirmed, in a heartbeat saying it was passive, that it had received; null when there is
   * none (never confirmed, the peer heard this agent passive since, or it says it is active).
   * Until `peerDeadAfterMs` after that send, the peer cannot count this agent dead, so it
   * neither acquires the lease nor claims the VIP (`decide.ts`, rule 1).
   */
  readonly acknowledgedActiveAgeMs: number | null;
  /** How long the peer says it stands back after hearing us active; null if it never said. */
  readonly promiseMs: number | null;
}

/** Counters an operator reads to tell a silent peer from a network that drops or forges. */
export interface HeartbeatStats {
  readonly sent: number;
  readonly received: number;
  readonly sendErrors: number;
  readonly dropped: Readonly<Record<HeartbeatDropReason, number>>;
}

export interface HeartbeatChannelOptions {
  /** This agent's id, sent in every heartbeat. */
  readonly self: string;
  /** The only sender accepted. */
  readonly peerId: string;
  /** Where this agent's UDP socket binds. */
  readonly listen: NetAddress;
  /** Where the peer's socket listens. */
  readonly peer: NetAddress;
  /** The key the pair shares; at least 16 bytes. */
  readonly key: Uint8Array | string;
  /**
   * After this much silence from the peer a smaller sequence number is accepted again: the
   * peer restarted on a clock that went back. Use the time after which the peer counts as dead.
   */
  readonly restartAfterMs: number;
  /** Default 30 s; the two hosts' clocks must agree within it. */
  readonly replayWindowMs?: number;
  /** Monotonic milliseconds, for ages. Default `performance.now`. */
  readonly now?: () => number;
  /** Wall-clock milliseconds, for the envelope's timestamp. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * One agent's end of the heartbeat link: a bound UDP socket that sends this agent's state to
 * the peer on request and remembers the last valid heartbeat it heard.
 *
 * Sequence numbers start at the wall-clock millisecond the channel was opened and grow by one
 * per heartbeat, so a restarted agent (sending far fewer than a thousand per second) starts
 * above everything it sent before, and the receiver can drop reordered heartbeats without
 * knowing about restarts.
 */
export class HeartbeatChannel {
  private readonly now: () => number;
  private readonly codec: AuthenticatedDatagramCodec<Heartbeat>;
  private seq: number;
  private last: {
    at: number;
    seq: number;
    state: PeerClaim;
    epoch: number;
    deadAfterMs: number | null;
  } | null = null;
  /** When each recent heartbeat of ours was sent, and what it said, by `seq`. */
  private readonly sent = new Map<number, { at: number; state: 'active' | 'passive' }>();
  /** Send time of our newest "active" heartbeat the passive peer confirmed; see `peer()`. */
  private acknowledgedActiveAt: number | null = null;
  private counters = { sent: 0, received: 0, sendErrors: 0 };
  private readonly dropped = Object.fromEntries(
    [...DROP_REASONS, 'unknown_sender', 'out_of_order'].map((reason) => [reason, 0]),
  ) as Record<HeartbeatDropReason, number>;
  private closing: Promise<void> | null = null;
  /** When this channel opened (monotonic), for a peer never heard yet. */
  private readonly openedAt: number;

  private constructor(
    private readonly options: HeartbeatChannelOptions,
    private readonly socket: Socket,
  ) {
    this.now = options.now ?? (() => performance.now());
    const clock = options.clock ?? Date.now;
    this.codec = new AuthenticatedDatagramCodec<Heartbeat>(
      {
        key: options.key,
        clock,
        ...(options.replayWindowMs === undefined ? {} : { replayWindowMs: options.replayWindowMs }),
      },
      {
        body: HeartbeatSchema,
        error: (problem) =>
          problem.code === 'invalid_key'
            ? new RangeError('the VIP heartbeat key must be at least 16 bytes')
            : new RangeError(`a VIP heartbeat of ${problem.bytes} bytes does not fit a datagram`),
      },
    );
    this.seq = Math.floor(clock());
    this.openedAt = this.now();
  }

  /** Binds the socket; rejects if the key is too short or the address cannot be bound. */
  static async open(options: HeartbeatChannelOptions): Promise<HeartbeatChannel> {
    if (options.self === options.peerId) {
      throw new RangeError(`the peer's id must differ from this agent's (${options.self})`);
    }
    const socket = createSocket(isIPv6(options.listen.host) ? 'udp6' : 'udp4');
    let channel: HeartbeatChannel;
    try {
      channel = new HeartbeatChannel(options, socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(options.listen.port, options.listen.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw error;
    }
    socket.on('message', (datagram) => channel.receive(datagram));
    // ICMP "port unreachable" from a peer that is down surfaces here: loss, not a failure.
    socket.on('error', () => channel.counters.sendErrors++);
    return channel;
  }

  /** The bound address (the port is the real one when 0 was asked for). */
  address(): NetAddress {
    const { address, port } = this.socket.address();
    return { host: address, port };
  }

  /** Sends one heartbeat to the peer. Never throws: a failed send is counted, not reported. */
  send(state: 'active' | 'passive', epoch: number): void {
    if (this.closing !== null) return;
    const heartbeat: Heartbeat = {
      type: 'vip-heartbeat',
      from: this.options.self,
      state,
      epoch,
      seq: this.seq++,
      ...(this.last === null ? {} : { ack: this.last.seq }),
      deadAfterMs: this.options.restartAfterMs,
    };
    // Saying passive ends whatever the peer confirmed of us before: it may act on this.
    if (state === 'passive') this.acknowledgedActiveAt = null;
    this.sent.set(heartbeat.seq, { at: this.now(), state });
    // A confirmation names a heartbeat sent a round trip ago: a few dozen suffice.
    if (this.sent.size > SENT_REMEMBERED) {
      this.sent.delete(this.sent.keys().next().value as number);
    }
    const datagram = this.codec.encode(heartbeat);
    try {
      this.socket.send(datagram, this.options.peer.port, this.options.peer.host, (error) => {
        if (error) this.counters.sendErrors++;
        else this.counters.sent++;
      });
    } catch {
      // The socket closed under the send.
      this.counters.sendErrors++;
    }
  }

  /** What the peer last said, and how long ago. */
  peer(): PeerHeartbeat {
    const last = this.last;
    const sinceOpened = this.now() - this.openedAt;
    return {
      id: this.options.peerId,
      heartbeatAgeMs:
        last !== null
          ? Math.max(0, this.now() - last.at)
          : sinceOpened <= this.options.restartAfterMs
            ? sinceOpened
            : null,
      claimed: last?.state ?? 'unknown',
      epoch: last?.epoch ?? null,
      acknowledgedActiveAgeMs:
        this.acknowledgedActiveAt === null
          ? null
          : Math.max(0, this.now() - this.acknowledgedActiveAt),
      promiseMs: last?.deadAfterMs ?? null,
    };
  }

  stats(): HeartbeatStats {
    return { ...this.counters, dropped: { ...this.dropped } };
  }

  /** Closes the socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }

  private receive(datagram: Buffer): void {
    const result = this.codec.decode(datagram);
    if (!result.ok) {
      this.dropped[result.reason]++;
      return;
    }
    const heartbeat = result.body;
    if (heartbeat.from !== this.options.peerId) {
      this.dropped.unknown_sender++;
      return;
    }
    const now = this.now();
    const last = this.last;
    if (last !== null && heartbeat.seq <= last.seq && now - last.at < this.options.restartAfterMs) {
      this.dropped.out_of_order++;
      return;
    }
    this.last = {
      at: now,
      seq: heartbeat.seq,
      state: heartbeat.state,
      epoch: heartbeat.epoch,
      deadAfterMs: heartbeat.deadAfterMs ?? null,
    };
    this.counters.received++;
    this.noteAcknowledgement(heartbeat);
  }

  /**
   * Only a passive peer's confirmation counts: it heard us active, so by its own rules it will
   * not take the lease or the VIP for `peerDeadAfterMs` after hearing us. An active peer, or
   * one that confirms a heartbeat in which we said passive, may act: nothing is confirmed.
   */
  private noteAcknowledgement(heartbeat: Heartbeat): void {
    const confirmed = heartbeat.ack === undefined ? undefined : this.sent.get(heartbeat.ack);
    // No confirmation, or of nothing we sent lately: the peer restarted (or is older) and made
    // no promise we know of.
    if (heartbeat.state === 'active' || confirmed === undefined || confirmed.state === 'passive') {
      this.acknowledgedActiveAt = null;
    } else {
      this.acknowledgedActiveAt = Math.max(this.acknowledgedActiveAt ?? -Infinity, confirmed.at);
    }
  }
}
