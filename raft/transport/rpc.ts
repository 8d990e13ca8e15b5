/**
 * A pipelined request/response channel for clients of a member, over the same frames and
 * mutual TLS as the peer transport. Many calls share one connection; each carries an id and
 * responses come back in completion order.
 *
 * Request payload:  `[uint id][string method][bytes body]`.
 * Response payload: `[uint id][u8 0][bytes body]` on success, or
 *                   `[uint id][u8 1][string code][string message][bool hasDetails][string detailsJson]?`.
 */
import tls from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import { CodecError, FrameError, RpcError } from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameKind,
  allocateFrame,
  serveFrames,
} from './frame.js';
import type { Frame } from './frame.js';
import { MutualTlsListener } from './listener.js';
import { errorMessage, silentLogger } from '../../base/log.js';
import type { Logger } from '../../base/log.js';
import type { NetAddress } from '../../base/host-port.js';
import { mutualTlsClientContext, mutualTlsClientOptions, peerCommonName } from '../../base/tls.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { ByteReader, ByteWriter, U8_BYTES, UINT_BYTES, bytesSize, stringSize } from './wire.js';

export { RpcError } from './errors.js';

/** What a handler knows about the call besides its body. */
export interface RpcContext {
  /** Common name of the client's certificate (already verified against the cluster CA). */
  readonly clientName: string | null;
  readonly remoteAddress: string | undefined;
  /** Aborted when the client's connection closes: nobody will read the response. */
  readonly signal: AbortSignal;
}

/**
 * Serves one method. A rejection with an error carrying a string `code` (and optionally a
 * JSON-serialisable `details`) reaches the caller as an {@link RpcError} with that code,
 * message and details; any other rejection reaches it as code `internal`.
 */
export type RpcHandler = (body: Uint8Array, context: RpcContext) => Promise<Uint8Array>;

export interface RpcServerOptions {
  readonly listen: NetAddress;
  readonly tls: MutualTlsMaterial;
  readonly logger: Logger;
  /** Largest request accepted and response sent. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Calls running at once on one connection before further ones get `overloaded`. Default 1024. */
  readonly maxConcurrentCallsPerConnection?: number;
}

const DEFAULT_MAX_CONCURRENT_CALLS = 1024;
const DEFAULT_CALL_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const STATUS_OK = 0;
const STATUS_ERROR = 1;

/** Mutual-TLS server dispatching calls to registered handlers. */
export class RpcServer {
  readonly #listenAddress: NetAddress;
  readonly #logger: Logger;
  readonly #maxFrameBytes: number;
  readonly #maxConcurrentCalls: number;
  readonly #handlers = new Map<string, RpcHandler>();
  readonly #listener: MutualTlsListener;

  constructor(options: RpcServerOptions) {
    this.#listenAddress = options.listen;
    this.#logger = options.logger;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#maxConcurrentCalls =
      options.maxConcurrentCallsPerConnection ?? DEFAULT_MAX_CONCURRENT_CALLS;
    this.#listener = new MutualTlsListener({
      tls: options.tls,
      logger: options.logger,
      role: 'rpc',
      onConnection: (socket) => this.#serve(socket),
    });
  }

  /** Registers the handler of `method`; a method is registered once. */
  handle(method: string, handler: RpcHandler): void {
    if (this.#handlers.has(method)) {
      throw new Error(`rpc method ${method} is already handled`);
    }
    this.#handlers.set(method, handler);
  }

  /**
   * Resolves once listening; idempotent. Rejects if the address cannot be bound, or with
   * {@link TransportClosedError} once closed.
   */
  start(): Promise<void> {
    return this.#listener.listen(this.#listenAddress);
  }

  /** Stops listening and closes every connection; running handlers see their signal abort. */
  close(): Promise<void> {
    return this.#listener.close();
  }

  #serve(socket: TLSSocket): void {
    socket.setNoDelay(true);
    const closed = new AbortController();
    const context: RpcContext = {
      clientName: peerCommonName(socket),
      remoteAddress: socket.remoteAddress,
      signal: closed.signal,
    };
    let running = 0;
    const refuse = (reason: string) => {
      this.#logger.warn(`closing an rpc connection: ${reason}`, {
        remoteAddress: context.remoteAddress,
        client: context.clientName,
      });
      socket.destroy();
    };
    const respond = (frame: Uint8Array) => {
      if (!socket.destroyed) {
        writeCoalesced(socket, frame);
      }
    };

    serveFrames(socket, this.#maxFrameBytes, refuse, (frame) => {
      if (frame.kind !== FrameKind.rpcRequest) {
        refuse(`unexpected frame kind ${frame.kind}`);
        return;
      }
      let request: { id: number; method: string; body: Uint8Array };
      try {
        request = decodeRequest(frame.payload);
      } catch (error) {
        refuse(errorMessage(error));
        return;
      }
      const { id, method } = request;
      const handler = this.#handlers.get(method);
      if (handler === undefined) {
        respond(encodeError(id, 'unknown_method', `unknown method ${method}`, undefined));
        return;
      }
      if (running >= this.#maxConcurrentCalls) {
        respond(encodeError(id, 'overloaded', 'too many calls in flight', undefined));
        return;
      }
      running++;
      void this.#run(handler, request, context).then((response) => {
        running--;
        respond(response);
      });
    });
    socket.on('error', (error) => {
      this.#logger.debug('rpc connection error', {
        remoteAddress: context.remoteAddress,
        error: errorMessage(error),
      });
    });
    socket.on('close', () => closed.abort());
  }

  /** Runs a handler and returns its response frame: the result or a typed error. Never rejects. */
  async #run(
    handler: RpcHandler,
    request: { id: number; method: string; body: Uint8Array },
    context: RpcContext,
  ): Promise<Uint8Array> {
    const { id, method, body } = request;
    try {
      const result = await handler(body, context);
      if (UINT_BYTES + U8_BYTES + bytesSize(result) > this.#maxFrameBytes) {
        this.#logger.warn('rpc response larger than the frame limit', {
          method,
          bytes: result.byteLength,
        });
        return encodeError(id, 'internal', 'response too large', undefined);
      }
      return encodeSuccess(id, result);
    } catch (error) {
      const typed = typedError(error);
      if (typed === null) {
        this.#logger.warn('rpc handler failed', { method, error: errorMessage(error) });
        return encodeError(id, 'internal', 'internal error', undefined);
      }
      return encodeError(id, typed.code, typed.message, typed.details);
    }
  }
}

export interface RpcClientOptions {
  readonly address: NetAddress;
  /** Parsed at construction: unusable material throws from the constructor. */
  readonly tls: MutualTlsMaterial;
  readonly logger?: Logger;
  /** Largest request sent and response accepted. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Timeout of calls that do not set their own. Default 5000 ms. */
  readonly defaultTimeoutMs?: number;
  /** How long establishing the connection may take. Default 3000 ms. */
  readonly connectTimeoutMs?: number;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Mutual-TLS client of one server address. Connects on the first call and again on the
 * first call after a failure; never retries a call by itself (the caller knows whether the
 * call is idempotent).
 */
export class RpcClient {
  readonly #address: NetAddress;
  readonly #tlsContext: SecureContext;
  readonly #logger: Logger;
  readonly #maxFrameBytes: number;
  readonly #defaultTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #connection: ClientConnection | null = null;
  #nextId = 1;
  #closed: Promise<void> | null = null;

  constructor(options: RpcClientOptions) {
    this.#address = options.address;
    this.#tlsContext = mutualTlsClientContext(options.tls);
    this.#logger = options.logger ?? silentLogger;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /**
   * Calls `method` with `body` and resolves with the response body.
   *
   * @throws RpcError with the server's code (`remote: true`), or a local code:
   *   `unreachable` (never delivered), `unavailable` (connection lost, outcome unknown),
   *   `timeout`, `aborted`, `closed`, `frame_too_large`.
   */
  call(method: string, body: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(new RpcError('closed', 'the rpc client is closed', false));
    }
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(abortedError(signal));
    }
    const payloadBytes = UINT_BYTES + stringSize(method) + bytesSize(body);
    if (payloadBytes > this.#maxFrameBytes) {
      return Promise.reject(
        new RpcError(
          'frame_too_large',
          `request of ${payloadBytes} bytes exceeds the frame limit`,
          false,
        ),
      );
    }
    const id = this.#nextId++;
    const frame = allocateFrame(FrameKind.rpcRequest, payloadBytes);
    const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
    w.uint(id);
    w.string(method);
    w.bytes(body);

    if (this.#connection === null || this.#connection.socket.destroyed) {
      this.#connection = this.#connect();
    }
    const connection = this.#connection;
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        if (signal) {
          call.settle(abortedError(signal));
        }
      };
      const timer = setTimeout(() => {
        call.settle(new RpcError('timeout', `${method} got no response in ${timeoutMs} ms`, false));
        // A connection silent for a whole timeout is presumed dead: the next call redials.
        if (Date.now() - connection.lastHeardAt >= timeoutMs) {
          connection.socket.destroy(new Error(`no response for ${timeoutMs} ms`));
        }
      }, timeoutMs);
      const call: PendingCall = {
        settle: (outcome) => {
          if (!connection.pending.delete(id)) {
            return;
          }
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (outcome instanceof Uint8Array) {
            resolve(outcome);
          } else {
            reject(outcome);
          }
        },
      };
      connection.pending.set(id, call);
      signal?.addEventListener('abort', onAbort, { once: true });
      writeCoalesced(connection.socket, frame);
    });
  }

  /** Closes the connection; outstanding calls reject with `closed`. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const connection = this.#connection;
      this.#connection = null;
      if (connection === null || connection.socket.closed) {
        resolve();
        return;
      }
      for (const call of [...connection.pending.values()]) {
        call.settle(new RpcError('closed', 'the rpc client was closed', false));
      }
      connection.socket.once('close', () => resolve());
      connection.socket.destroy();
    });
    return this.#closed;
  }

  #connect(): ClientConnection {
    const socket = tls.connect(mutualTlsClientOptions(this.#tlsContext, this.#address));
    const connection: ClientConnection = { socket, pending: new Map(), lastHeardAt: Date.now() };
    const decoder = new FrameDecoder({ maxFrameBytes: this.#maxFrameBytes });
    let lastError: unknown = null;
    // Until the handshake completes no request byte can reach the server's handlers.
    let secured = false;

    socket.setTimeout(this.#connectTimeoutMs, () =>
      socket.destroy(new Error(`connect timed out after ${this.#connectTimeoutMs} ms`)),
    );
    socket.once('secureConnect', () => {
      secured = true;
      socket.setTimeout(0);
      socket.setNoDelay(true);
    });
    socket.on('data', (chunk: Buffer) => {
      connection.lastHeardAt = Date.now();
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
        for (const frame of frames) {
          if (frame.kind !== FrameKind.rpcResponse) {
            throw new FrameError(`unexpected frame kind ${frame.kind}`);
          }
          const { id, outcome } = decodeResponse(frame.payload);
          connection.pending.get(id)?.settle(outcome);
        }
      } catch (error) {
        this.#logger.warn('closing an rpc connection: malformed response', {
          ...this.#address,
          error: errorMessage(error),
        });
        socket.destroy(error instanceof Error ? error : new Error(errorMessage(error)));
      }
    });
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      if (this.#connection === connection) {
        this.#connection = null;
      }
      if (connection.pending.size === 0) {
        return;
      }
      const reason = lastError === null ? 'connection closed' : errorMessage(lastError);
      this.#logger.debug('rpc connection lost with calls outstanding', {
        ...this.#address,
        outstanding: connection.pending.size,
        error: reason,
      });
      for (const call of [...connection.pending.values()]) {
        call.settle(
          new RpcError(
            secured ? 'unavailable' : 'unreachable',
            `rpc server ${this.#address.host}:${this.#address.port} ${secured ? 'unavailable' : 'unreachable'}: ${reason}`,
            false,
            undefined,
            {
              cause: lastError ?? undefined,
            },
          ),
        );
      }
    });
    return connection;
  }
}

interface PendingCall {
  settle(outcome: Uint8Array | RpcError): void;
}

interface ClientConnection {
  readonly socket: TLSSocket;
  readonly pending: Map<number, PendingCall>;
  lastHeardAt: number;
}

/** Writes are corked until the end of the current tick, so pipelined calls share writes. */
function writeCoalesced(socket: TLSSocket, frame: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(frame);
}

function abortedError(signal: AbortSignal): RpcError {
  return new RpcError('aborted', 'the call was aborted', false, undefined, {
    cause: signal.reason,
  });
}

/** The `code`, message and details a handler's error carries, or null if it has no code. */
function typedError(error: unknown): { code: string; message: string; details: unknown } | null {
  if (typeof error !== 'object' || error === null || !('code' in error)) {
    return null;
  }
  const { code } = error;
  if (typeof code !== 'string' || code === '') {
    return null;
  }
  const message = error instanceof Error ? error.message : code;
  const details = 'details' in error ? error.details : undefined;
  return { code, message, details };
}

function decodeRequest(payload: Uint8Array): { id: number; method: string; body: Uint8Array } {
  const r = new ByteReader(payload);
  const id = r.uint('request id');
  const method = r.string('method');
  const body = r.bytes('body');
  r.end('rpc request');
  return { id, method, body };
}

function encodeSuccess(id: number, body: Uint8Array): Uint8Array {
  const frame = allocateFrame(FrameKind.rpcResponse, UINT_BYTES + U8_BYTES + bytesSize(body));
  const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
  w.uint(id);
  w.u8(STATUS_OK);
  w.bytes(body);
  return frame;
}

function encodeError(id: number, code: string, message: string, details: unknown): Uint8Array {
  let detailsJson: string | undefined;
  if (details !== undefined) {
    try {
      detailsJson = JSON.stringify(details);
    } catch {
      // Details that cannot be serialised (cycles, BigInt) are left out rather than
      // turning a typed error into an untyped one.
      detailsJson = undefined;
    }
  }
  const size =
    UINT_BYTES +
    U8_BYTES +
    stringSize(code) +
    stringSize(message) +
    U8_BYTES +
    (detailsJson === undefined ? 0 : stringSize(detailsJson));
  const frame = allocateFrame(FrameKind.rpcResponse, size);
  const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
  w.uint(id);
  w.u8(STATUS_ERROR);
  w.string(code);
  w.string(message);
  w.bool(detailsJson !== undefined);
  if (detailsJson !== undefined) {
    w.string(detailsJson);
  }
  return frame;
}

function decodeResponse(payload: Uint8Array): { id: number; outcome: Uint8Array | RpcError } {
  const r = new ByteReader(payload);
  const id = r.uint('response id');
  const status = r.u8('response status');
  let outcome: Uint8Array | RpcError;
  if (status === STATUS_OK) {
    outcome = r.bytes('response body');
  } else if (status === STATUS_ERROR) {
    const code = r.string('error code');
    const message = r.string('error message');
    let details: unknown;
    if (r.bool('has details')) {
      const json = r.string('error details');
      try {
        details = JSON.parse(json);
      } catch (error) {
        throw new CodecError('error details are not JSON', { cause: error });
      }
    }
    outcome = new RpcError(code, message, true, details);
  } else {
    throw new CodecError(`unknown response status ${status}`);
  }
  r.end('rpc response');
  return { id, outcome };
}
