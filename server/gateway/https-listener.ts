/**
 * The gateway's HTTPS server and the life of its connections: TLS 1.3 only, client
 * certificates asked for but never required (operators are told apart from users by one),
 * bounds on slow clients, a 400 at the socket for malformed HTTP, and a shutdown that lets
 * requests in flight finish. What a request means is its handler's business.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { NetAddress } from '../../base/host-port.js';
import { listenAt, listeningAddress } from '../../base/listening.js';
import type { GatewayLogger } from './ports.js';

export interface HttpsListenerOptions {
  readonly host: string;
  readonly port: number;
  /** The server certificate chain and key, PEM; `ca` signs the client certificates asked for. */
  readonly tls: { readonly cert: string; readonly key: string; readonly ca?: string };
  /** How long `close()` lets requests in flight finish before cutting them. Default 5 s. */
  readonly closeGraceMs?: number;
  readonly logger: GatewayLogger;
}

/** The address a listener is bound to. */
export type ListenerAddress = NetAddress;

/**
 * Handles one request. `clientGone` aborts when the client goes away before its answer is
 * complete, so that the work behind it can stop.
 */
export type RequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  clientGone: AbortController,
) => void;

/** An HTTPS server that knows which connections are busy, to close idle ones at once. */
export class HttpsListener {
  private readonly server: Server;
  /** Open connections and how many requests each is serving. */
  private readonly connections = new Map<Socket, number>();
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Set the moment `close()` is first called. */
  private stopping = false;

  constructor(
    private readonly options: HttpsListenerOptions,
    handler: RequestHandler,
  ) {
    this.server = createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        // Asked for, never required: users connect without one; operators are told apart.
        ...(options.tls.ca === undefined
          ? {}
          : { ca: options.tls.ca, requestCert: true, rejectUnauthorized: false }),
      },
      (req, res) => handler(req, res, this.track(req, res)),
    );
    // Slow-loris bounds: headers within 15 s, a whole request (an 8 MiB import) within 60 s.
    this.server.headersTimeout = 15_000;
    this.server.requestTimeout = 60_000;
    this.server.on('clientError', (error: Error, socket: Socket) => {
      if (socket.writable && !socket.destroyed) {
        const body = JSON.stringify({
          error: { code: 'invalid', message: `malformed HTTP request: ${error.message}` },
        });
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    });
    // A failed TLS handshake concerns that client only.
    this.server.on('tlsClientError', () => {});
    this.server.on('secureConnection', (socket: Socket) => {
      this.connections.set(socket, 0);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Starts listening; resolves once bound. Idempotent. */
  start(): Promise<void> {
    this.starting ??= listenAt(this.server, this.options).then(() =>
      this.options.logger.info('gateway listening', { ...this.address() }),
    );
    return this.starting;
  }

  address(): ListenerAddress {
    return listeningAddress(this.server);
  }

  /**
   * Stops accepting connections, closes idle ones, lets requests in flight finish (up to
   * `closeGraceMs`), then cuts what remains. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      if (!this.server.listening) return;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      // Connections with no request in progress (some clients open spare ones) go now; the
      // others when their answer is written (see track) or when the grace period ends.
      for (const [socket, active] of this.connections) if (active === 0) socket.destroy();
      const grace = setTimeout(
        () => this.server.closeAllConnections(),
        this.options.closeGraceMs ?? 5_000,
      );
      await closed;
      clearTimeout(grace);
      this.options.logger.info('gateway closed');
    })();
    return this.closing;
  }

  /**
   * Counts the request on its connection until its response closes, and returns what
   * aborts if the client leaves first. Once closing, a connection is cut after its last answer.
   */
  private track(req: IncomingMessage, res: ServerResponse): AbortController {
    const clientGone = new AbortController();
    const socket = req.socket;
    this.connections.set(socket, (this.connections.get(socket) ?? 0) + 1);
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
      const active = this.connections.get(socket);
      if (active === undefined) return; // the connection is gone already
      this.connections.set(socket, active - 1);
      if (active === 1 && this.stopping) socket.destroy();
    });
    return clientGone;
  }
}
