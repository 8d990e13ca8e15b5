/**
 * Raft messages between members over TCP with mutual TLS.
 *
 * Each member dials every peer for the messages it sends, and accepts the peers' connections
 * for the messages it receives, so each connection carries traffic one way (plus tiny
 * ping/pong frames that prove the far end is alive). A connection opens with a `hello`
 * (cluster id, sender, intended receiver); every message on it must then be from that sender
 * and to this member, or the connection is closed.
 *
 * Sending never blocks and never throws: messages wait in a per-peer queue bounded by bytes
 * (the oldest are dropped beyond the bound — Raft tolerates loss and retransmits), and each
 * peer's queue is flushed once per turn of the event loop in few large writes. Lost
 * connections are redialled with capped exponential backoff and jitter.
 */
import { Buffer } from 'node:buffer';
import tls from 'node:tls';
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import type { Message, NodeId } from '../core/types.js';
import { decodeMessage, encodeMessageInto, encodedMessageSize } from './codec.js';
import { CodecError, FrameError, TransportClosedError } from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameKind,
  allocateFrame,
  encodeFrame,
  serveFrames,
} from './frame.js';
import type { Frame } from './frame.js';
import { errorMessage } from '../../base/log.js';
import type { Logger } from '../../base/log.js';
import { MutualTlsListener } from './listener.js';
import type { NetAddress } from '../../base/host-port.js';
import { mutualTlsClientContext, mutualTlsClientOptions } from '../../base/tls.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { ByteReader, ByteWriter, UINT_BYTES, stringSize } from './wire.js';

export interface PeerTransportOptions {
  readonly self: NodeId;
  /** Members of other clusters (e.g. a stale test cluster on the same hosts) are refused. */
  readonly clusterId: string;
  readonly listen: NetAddress;
  readonly peers: ReadonlyMap<NodeId, NetAddress>;
  /** Parsed at construction: unusable material throws from the constructor. */
  readonly tls: MutualTlsMaterial;
  /** Called once per received message, in arrival order per sender. Should not throw. */
  readonly onMessage: (msg: Message) => void;
  /**
   * Called when an established connection to a peer breaks (closed, reset, or silent past
   * `livenessTimeoutMs`): a hint that the peer may be gone. Should not throw.
   */
  readonly onPeerLost?: (peer: NodeId) => void;
  readonly logger: Logger;
  /** Largest frame sent or accepted; larger outgoing messages are dropped. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Bound of each peer's send queue; the oldest messages are dropped beyond it. Default 32 MiB. */
  readonly maxQueuedBytesPerPeer?: number;
  /**
   * A connection whose far end has not answered a ping for this long is presumed dead and
   * redialled: without it a silently partitioned peer would hold a connection for as long as
   * TCP retransmits (minutes). Default 4000 ms.
   */
  readonly livenessTimeoutMs?: number;
  /**
   * Decides whether the certificate on an inbound connection may speak for `claimedId`.
   * By default any certificate from the cluster CA may.
   */
  readonly authorizePeer?: (claimedId: NodeId, certificate: PeerCertificate) => boolean;
}

/** Counters of one peer, for operators and tests. */
export interface PeerStats {
  /** An outgoing connection is up and the peer has answered on it. */
  readonly connected: boolean;
  readonly sentFrames: number;
  readonly sentBytes: number;
  readonly receivedFrames: number;
  readonly receivedBytes: number;
  /** Messages discarded: queue overflow, unknown peer, oversized or unencodable. */
  readonly dropped: number;
  /** Times the outgoing connection was re-established after being lost. */
  readonly reconnects: number;
  /** Bytes waiting in the send queue. */
  readonly queuedBytes: number;
}

const DEFAULT_MAX_QUEUED_BYTES_PER_PEER = 32 * 1024 * 1024;
const DEFAULT_LIVENESS_TIMEOUT_MS = 4_000;
const BACKOFF_BASE_MS = 50;
/** A restarted peer is reached within about a second. */
const BACKOFF_CAP_MS = 1_000;
const CONNECT_TIMEOUT_MS = 3_000;
/** An accepted connection that has not said hello by then is closed. */
const HELLO_TIMEOUT_MS = 5_000;
/** Frames are concatenated into writes of about this size. */
const WRITE_BATCH_BYTES = 256 * 1024;

const PING_FRAME = encodeFrame(FrameKind.ping, new Uint8Array(0));
const PONG_FRAME = encodeFrame(FrameKind.pong, new Uint8Array(0));
const EMPTY = new Uint8Array(0);

interface Counters {
  sentFrames: number;
  sentBytes: number;
  receivedFrames: number;
  receivedBytes: number;
  dropped: number;
  reconnects: number;
}

interface Hello {
  readonly clusterId: string;
  readonly sender: NodeId;
  readonly receiver: NodeId;
}

/** Mutual-TLS transport of Raft messages between the members of one cluster. */
export class PeerTransport {
  readonly #self: NodeId;
  readonly #clusterId: string;
  readonly #listenAddress: NetAddress;
  readonly #clientContext: SecureContext;
  readonly #onMessage: (msg: Message) => void;
  readonly #onPeerLost: ((peer: NodeId) => void) | undefined;
  readonly #logger: Logger;
  readonly #maxFrameBytes: number;
  readonly #maxQueuedBytes: number;
  readonly #livenessTimeoutMs: number;
  readonly #authorizePeer: (claimedId: NodeId, certificate: PeerCertificate) => boolean;

  readonly #listener: MutualTlsListener;
  readonly #links = new Map<NodeId, OutboundLink>();
  readonly #counters = new Map<NodeId, Counters>();
  readonly #inboundBySender = new Map<NodeId, TLSSocket>();
  readonly #linksToFlush = new Set<OutboundLink>();
  #flushScheduled: NodeJS.Immediate | null = null;
  #closed: Promise<void> | null = null;

  constructor(options: PeerTransportOptions) {
    this.#self = options.self;
    this.#clusterId = options.clusterId;
    this.#listenAddress = options.listen;
    this.#clientContext = mutualTlsClientContext(options.tls);
    this.#onMessage = options.onMessage;
    this.#onPeerLost = options.onPeerLost;
    this.#logger = options.logger;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#maxQueuedBytes = Math.max(
      options.maxQueuedBytesPerPeer ?? DEFAULT_MAX_QUEUED_BYTES_PER_PEER,
      FRAME_HEADER_BYTES,
    );
    this.#livenessTimeoutMs = options.livenessTimeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS;
    this.#authorizePeer = options.authorizePeer ?? (() => true);

    this.#listener = new MutualTlsListener({
      tls: options.tls,
      logger: options.logger,
      role: 'peer',
      onConnection: (socket) => this.#accept(socket),
    });
    this.setPeers(options.peers);
  }

  /**
   * Listens for peers and starts dialing them. Resolves once listening; idempotent. Rejects
   * if the address cannot be bound, or with {@link TransportClosedError} once closed.
   */
  async start(): Promise<void> {
    await this.#listener.listen(this.#listenAddress);
    if (this.#closed) {
      throw new TransportClosedError('peer transport');
    }
    for (const link of this.#links.values()) {
      link.connect();
    }
  }

  /**
   * Queues `msg` for `msg.to`. Never blocks or throws: a message that cannot be sent (unknown
   * peer, too large, queue overflow, transport closed) is dropped and counted.
   */
  send(msg: Message): void {
    if (this.#closed) {
      return;
    }
    const link = this.#links.get(msg.to);
    if (link === undefined || msg.from !== this.#self) {
      this.#countersOf(msg.to).dropped++;
      this.#logger.debug('dropped a message for an unknown peer or from another sender', {
        type: msg.type,
        from: msg.from,
        to: msg.to,
      });
      return;
    }
    let frame: Uint8Array;
    try {
      const size = encodedMessageSize(msg);
      if (size > this.#maxFrameBytes) {
        link.counters.dropped++;
        this.#logger.warn('dropped a message larger than the frame limit', {
          type: msg.type,
          to: msg.to,
          bytes: size,
          maxFrameBytes: this.#maxFrameBytes,
        });
        return;
      }
      frame = allocateFrame(FrameKind.raftMessage, size);
      encodeMessageInto(msg, frame, FRAME_HEADER_BYTES);
    } catch (error) {
      link.counters.dropped++;
      this.#logger.warn('dropped a message that cannot be encoded', {
        type: msg.type,
        to: msg.to,
        error: errorMessage(error),
      });
      return;
    }
    if (link.enqueue(frame)) {
      this.#scheduleFlush(link);
    }
  }

  /**
   * Replaces the set of peers: new ones are dialled, removed ones (or ones whose address
   * changed) have their connection closed and their queue discarded. Entries for this member
   * itself are ignored.
   */
  setPeers(peers: ReadonlyMap<NodeId, NetAddress>): void {
    if (this.#closed) {
      return;
    }
    for (const [id, link] of this.#links) {
      const address = peers.get(id);
      if (address === undefined || !sameAddress(address, link.address)) {
        link.destroy();
        this.#links.delete(id);
        this.#linksToFlush.delete(link);
      }
    }
    for (const [id, address] of peers) {
      if (id === this.#self || this.#links.has(id)) {
        continue;
      }
      const link = new OutboundLink(id, address, this.#countersOf(id), {
        self: this.#self,
        clusterId: this.#clusterId,
        clientContext: this.#clientContext,
        logger: this.#logger,
        maxFrameBytes: this.#maxFrameBytes,
        maxQueuedBytes: this.#maxQueuedBytes,
        livenessTimeoutMs: this.#livenessTimeoutMs,
        onWritable: (writable) => this.#scheduleFlush(writable),
        onLost: (peer) => this.#onPeerLost?.(peer),
      });
      this.#links.set(id, link);
      if (this.#listener.listening && !this.#closed) {
        link.connect();
      }
    }
  }

  /** Per-peer counters: current peers, plus any member that has sent to this one. */
  stats(): Map<NodeId, PeerStats> {
    const stats = new Map<NodeId, PeerStats>();
    const ids = new Set([...this.#links.keys(), ...this.#counters.keys()]);
    for (const id of [...ids].sort((a, b) => a - b)) {
      const link = this.#links.get(id);
      stats.set(id, {
        ...this.#countersOf(id),
        connected: link?.connected ?? false,
        queuedBytes: link?.queuedBytes ?? 0,
      });
    }
    return stats;
  }

  /** Closes the listener and every connection, discarding queued messages. Idempotent. */
  close(): Promise<void> {
    if (this.#closed === null) {
      if (this.#flushScheduled) {
        clearImmediate(this.#flushScheduled);
        this.#flushScheduled = null;
      }
      for (const link of this.#links.values()) {
        link.destroy();
      }
      this.#links.clear();
      this.#linksToFlush.clear();
      this.#closed = this.#listener.close();
    }
    return this.#closed;
  }

  #countersOf(id: NodeId): Counters {
    let counters = this.#counters.get(id);
    if (counters === undefined) {
      counters = {
        sentFrames: 0,
        sentBytes: 0,
        receivedFrames: 0,
        receivedBytes: 0,
        dropped: 0,
        reconnects: 0,
      };
      this.#counters.set(id, counters);
    }
    return counters;
  }

  /**
   * Writes every queued frame to its socket now instead of at the end of this event-loop
   * turn: for a caller about to block (a leader's fsync), so the peers get to work meanwhile.
   */
  flush(): void {
    if (this.#flushScheduled) {
      clearImmediate(this.#flushScheduled);
      this.#flushScheduled = null;
    }
    const links = [...this.#linksToFlush];
    this.#linksToFlush.clear();
    for (const each of links) {
      each.flush();
    }
  }

  /** Coalesces writes: every link with queued frames is flushed once per event-loop turn. */
  #scheduleFlush(link: OutboundLink): void {
    this.#linksToFlush.add(link);
    this.#flushScheduled ??= setImmediate(() => {
      this.#flushScheduled = null;
      this.flush();
    });
  }

  #accept(socket: TLSSocket): void {
    socket.setNoDelay(true);
    const remoteAddress = socket.remoteAddress;
    let sender: NodeId | null = null;
    const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
      this.#logger.warn(`closing an inbound peer connection: ${reason}`, {
        remoteAddress,
        sender,
        ...fields,
      });
      socket.destroy();
    };
    const helloTimer = setTimeout(() => refuse('no hello in time'), HELLO_TIMEOUT_MS);
    helloTimer.unref();

    serveFrames(socket, this.#maxFrameBytes, refuse, (frame) => {
      if (sender === null) {
        sender = this.#acceptHello(socket, frame, refuse);
        if (sender !== null) {
          clearTimeout(helloTimer);
        }
        return;
      }
      switch (frame.kind) {
        case FrameKind.raftMessage:
          this.#receive(sender, frame, refuse);
          break;
        case FrameKind.ping:
          socket.write(PONG_FRAME);
          break;
        default:
          refuse(`unexpected frame kind ${frame.kind}`);
      }
    });
    socket.on('error', (error) => {
      this.#logger.debug('inbound peer connection error', {
        remoteAddress,
        sender,
        error: errorMessage(error),
      });
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      if (sender !== null && this.#inboundBySender.get(sender) === socket) {
        this.#inboundBySender.delete(sender);
      }
    });
  }

  /** Returns the sender the hello names, or null after refusing the connection. */
  #acceptHello(
    socket: TLSSocket,
    frame: Frame,
    refuse: (reason: string, fields?: Record<string, unknown>) => void,
  ): NodeId | null {
    if (frame.kind !== FrameKind.hello) {
      refuse(`expected a hello, got frame kind ${frame.kind}`);
      return null;
    }
    let hello: Hello;
    try {
      hello = decodeHello(frame.payload);
    } catch (error) {
      refuse(errorMessage(error));
      return null;
    }
    if (hello.clusterId !== this.#clusterId) {
      refuse('wrong cluster', { clusterId: hello.clusterId });
      return null;
    }
    if (hello.receiver !== this.#self || hello.sender === this.#self || hello.sender === 0) {
      refuse('misaddressed hello', { claimedSender: hello.sender, receiver: hello.receiver });
      return null;
    }
    if (!this.#authorizePeer(hello.sender, socket.getPeerCertificate())) {
      refuse('certificate not authorized for this member id', { claimedSender: hello.sender });
      return null;
    }
    // A restarted peer dials again while its old connection may linger half-open.
    const previous = this.#inboundBySender.get(hello.sender);
    if (previous !== undefined && previous !== socket) {
      previous.destroy();
    }
    this.#inboundBySender.set(hello.sender, socket);
    this.#logger.debug('accepted a peer connection', { sender: hello.sender });
    return hello.sender;
  }

  #receive(
    sender: NodeId,
    frame: Frame,
    refuse: (reason: string, fields?: Record<string, unknown>) => void,
  ): void {
    let msg: Message;
    try {
      msg = decodeMessage(frame.payload);
    } catch (error) {
      refuse(error instanceof CodecError ? error.message : errorMessage(error));
      return;
    }
    if (msg.from !== sender || msg.to !== this.#self) {
      refuse('message not from the hello sender to this member', {
        from: msg.from,
        to: msg.to,
      });
      return;
    }
    const counters = this.#countersOf(sender);
    counters.receivedFrames++;
    counters.receivedBytes += FRAME_HEADER_BYTES + frame.payload.byteLength;
    try {
      this.#onMessage(msg);
    } catch (error) {
      this.#logger.warn('the message handler threw', {
        type: msg.type,
        error: errorMessage(error),
      });
    }
  }
}

interface LinkContext {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly clientContext: SecureContext;
  readonly logger: Logger;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  readonly livenessTimeoutMs: number;
  /** The link has queued frames and a socket ready to take them. */
  readonly onWritable: (link: OutboundLink) => void;
  /** An established connection broke. */
  readonly onLost: (peer: NodeId) => void;
}

/** The outgoing side towards one peer: its queue, its connection and its redial loop. */
class OutboundLink {
  #socket: TLSSocket | null = null;
  /** TLS is up and the hello written: frames may be written. */
  #open = false;
  /** The peer answered on this connection, so it accepted our certificate and hello. */
  #answered = false;
  /** The socket's buffer is full; wait for 'drain' instead of buffering more in it. */
  #blocked = false;
  #everAnswered = false;
  #lastHeardAt = 0;
  #pingTimer: NodeJS.Timeout | null = null;
  #redialTimer: NodeJS.Timeout | null = null;
  #failedDials = 0;
  #destroyed = false;
  /** Whether the current outage was logged, so a down peer is reported once. */
  #outageLogged = false;
  #overflowLogged = false;

  readonly #context: LinkContext;
  readonly #queue: Uint8Array[] = [];
  #queueHead = 0;
  #queuedBytes = 0;

  constructor(
    readonly id: NodeId,
    readonly address: NetAddress,
    readonly counters: Counters,
    context: LinkContext,
  ) {
    this.#context = context;
  }

  get connected(): boolean {
    return this.#open && this.#answered;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queues a frame, dropping the oldest beyond the bound; true when a flush can proceed. */
  enqueue(frame: Uint8Array): boolean {
    const { maxQueuedBytes, logger } = this.#context;
    if (frame.byteLength > maxQueuedBytes) {
      this.counters.dropped++;
      return false;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.byteLength;
    while (this.#queuedBytes > maxQueuedBytes) {
      const oldest = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead] = EMPTY;
      this.#queueHead++;
      this.#queuedBytes -= oldest.byteLength;
      this.counters.dropped++;
      if (!this.#overflowLogged) {
        this.#overflowLogged = true;
        logger.warn('send queue full; dropping the oldest messages', {
          peer: this.id,
          connected: this.connected,
        });
      }
    }
    return this.#open && !this.#blocked;
  }

  /** Writes queued frames until the queue is empty or the socket pushes back. */
  flush(): void {
    const socket = this.#socket;
    if (socket === null || !this.#open) {
      return;
    }
    const queue = this.#queue;
    while (this.#queueHead < queue.length && !this.#blocked) {
      let end = this.#queueHead;
      let bytes = 0;
      do {
        bytes += queue[end]!.byteLength;
        end++;
      } while (end < queue.length && bytes + queue[end]!.byteLength <= WRITE_BATCH_BYTES);
      const frames = end - this.#queueHead;
      const batch =
        frames === 1
          ? queue[this.#queueHead]!
          : Buffer.concat(queue.slice(this.#queueHead, end), bytes);
      queue.fill(EMPTY, this.#queueHead, end);
      this.#queueHead = end;
      this.#queuedBytes -= bytes;
      this.counters.sentFrames += frames;
      this.counters.sentBytes += bytes;
      if (!socket.write(batch)) {
        this.#blocked = true;
      }
    }
    if (this.#queueHead === queue.length) {
      queue.length = 0;
      this.#queueHead = 0;
      this.#overflowLogged = false;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  connect(): void {
    if (this.#destroyed || this.#socket !== null) {
      return;
    }
    const { clientContext, logger } = this.#context;
    const socket = tls.connect(mutualTlsClientOptions(clientContext, this.address));
    this.#socket = socket;
    const decoder = new FrameDecoder({ maxFrameBytes: this.#context.maxFrameBytes });
    let lastError: unknown = null;

    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      this.#onOpen(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        socket.destroy(error instanceof FrameError ? error : new Error(errorMessage(error)));
        return;
      }
      for (const frame of frames) {
        if (frame.kind !== FrameKind.pong) {
          socket.destroy(new Error(`unexpected frame kind ${frame.kind} from the peer`));
          return;
        }
        this.#onAnswer();
      }
    });
    socket.on('drain', () => {
      // Draining means the peer's TCP stack is taking our bytes: it is alive even if a
      // pong is stuck behind a large backlog.
      this.#lastHeardAt = Date.now();
      this.#blocked = false;
      if (this.#queueHead < this.#queue.length) {
        this.#context.onWritable(this);
      }
    });
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      if (this.#socket !== socket) {
        return;
      }
      const wasConnected = this.connected;
      this.#socket = null;
      this.#open = false;
      this.#answered = false;
      this.#blocked = false;
      this.#stopPinging();
      if (this.#destroyed) {
        return;
      }
      const fields = {
        peer: this.id,
        ...this.address,
        error: lastError === null ? 'closed by the peer' : errorMessage(lastError),
      };
      if (wasConnected || !this.#outageLogged) {
        this.#outageLogged = true;
        logger.warn(wasConnected ? 'lost the connection to a peer' : 'cannot reach a peer', fields);
      } else {
        logger.debug('redial failed', fields);
      }
      if (wasConnected) this.#context.onLost(this.id);
      this.#scheduleRedial();
    });
  }

  /** Closes the connection for good and discards the queue. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#redialTimer) {
      clearTimeout(this.#redialTimer);
      this.#redialTimer = null;
    }
    this.#stopPinging();
    this.#socket?.destroy();
    this.#socket = null;
    this.#open = false;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#queuedBytes = 0;
  }

  #onOpen(socket: TLSSocket): void {
    const { self, clusterId, livenessTimeoutMs } = this.#context;
    this.#open = true;
    this.#lastHeardAt = Date.now();
    socket.write(encodeHello({ clusterId, sender: self, receiver: this.id }));
    // The first pong proves the peer accepted us (in TLS 1.3 the client finishes the
    // handshake before the server has checked the client's certificate).
    socket.write(PING_FRAME);
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastHeardAt > livenessTimeoutMs) {
        socket.destroy(new Error(`no answer for ${livenessTimeoutMs} ms`));
        return;
      }
      socket.write(PING_FRAME);
    }, livenessTimeoutMs / 4);
    this.#pingTimer.unref();
    if (this.#queueHead < this.#queue.length) {
      this.#context.onWritable(this);
    }
  }

  #onAnswer(): void {
    this.#lastHeardAt = Date.now();
    if (this.#answered) {
      return;
    }
    this.#answered = true;
    // Backoff resets only on a connection the peer accepted, so a peer that keeps refusing
    // us is not redialled in a tight loop.
    this.#failedDials = 0;
    this.#outageLogged = false;
    if (this.#everAnswered) {
      this.counters.reconnects++;
    }
    this.#everAnswered = true;
    this.#context.logger.info('connected to a peer', { peer: this.id, ...this.address });
  }

  #stopPinging(): void {
    if (this.#pingTimer) {
      clearInterval(this.#pingTimer);
      this.#pingTimer = null;
    }
  }

  /** Exponential backoff with jitter, capped so that a restarted peer is reached quickly. */
  #scheduleRedial(): void {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.#failedDials);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#failedDials = Math.min(this.#failedDials + 1, 16);
    this.#redialTimer = setTimeout(() => {
      this.#redialTimer = null;
      this.connect();
    }, delay);
    this.#redialTimer.unref();
  }
}

function sameAddress(a: NetAddress, b: NetAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

function encodeHello(hello: Hello): Uint8Array {
  const frame = allocateFrame(FrameKind.hello, stringSize(hello.clusterId) + 2 * UINT_BYTES);
  const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
  w.string(hello.clusterId);
  w.uint(hello.sender);
  w.uint(hello.receiver);
  return frame;
}

function decodeHello(payload: Uint8Array): Hello {
  const r = new ByteReader(payload);
  const clusterId = r.string('cluster id');
  const sender = r.uint('sender');
  const receiver = r.uint('receiver');
  r.end('hello');
  return { clusterId, sender, receiver };
}
