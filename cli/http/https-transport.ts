/**
 * One HTTPS request at a time to a gateway, on Node's own `https` (its HTTP parser is part of
 * Node): the CLI's transport. undici did this before; loading it cost every command about
 * 100 ms of its start-up (a megabyte of JavaScript, its HTTP parser in WebAssembly that V8
 * compiled twice), for a program that makes one or two requests.
 *
 * What the gateway client needs from a transport, and undici gave it: kept-alive connections
 * reused across calls; a connect timeout that covers the TLS handshake (a black-holed gateway
 * costs that much, not the answer's timeout); a timeout for the answer's headers; an idle
 * timeout between body chunks (a live-update stream's heartbeats); an abort signal; and
 * errors whose `code` says whether the request can have left (see {@link TransportTimeout}).
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Why a transport timer ended a request, as the error's `code`. */
export type TimeoutCode = 'CONNECT_TIMEOUT' | 'HEADERS_TIMEOUT' | 'BODY_TIMEOUT';

/** A request ended by one of the transport's timers. */
export class TransportTimeout extends Error {
  override readonly name = 'TransportTimeout';

  constructor(
    readonly code: TimeoutCode,
    ms: number,
  ) {
    super(`${DESCRIPTIONS[code]} within ${ms} ms`);
  }
}

const DESCRIPTIONS: Readonly<Record<TimeoutCode, string>> = {
  CONNECT_TIMEOUT: 'no connection (TCP and TLS)',
  HEADERS_TIMEOUT: 'no answer',
  BODY_TIMEOUT: 'nothing more of the answer',
};

export interface TransportRequest {
  readonly origin: string;
  /** Path and query, escaped. */
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  /** Longest from sending until the answer's headers. */
  readonly headersTimeoutMs: number;
  /** Longest silence between two chunks of the answer's body. */
  readonly bodyTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** An answer whose headers have arrived; its body is read (or iterated) by the caller. */
export interface TransportResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as it arrives; fails with a `BODY_TIMEOUT` after a silence. */
  readonly body: IncomingMessage;
}

/** The whole body of `response` as text (UTF-8). */
export async function bodyText(response: TransportResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Kept-alive HTTPS connections to the gateways, trusting `ca` alone when given. */
export class HttpsTransport {
  private readonly agent: Agent;
  private closed = false;

  constructor(
    options: {
      /** PEM of the only CA to trust; absent means the system's roots. */
      readonly ca?: string | undefined;
      /** Longest to establish a new connection, TLS handshake included. */
      readonly connectTimeoutMs: number;
    },
    private readonly connectTimeoutMs = options.connectTimeoutMs,
  ) {
    // Kept-alive sockets are unref'd by the agent between requests: they never hold the
    // process open, so a command ends when its work does.
    this.agent = new Agent({
      keepAlive: true,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
  }

  /** Sends `request`; resolves when the answer's headers have arrived. */
  request(request: TransportRequest): Promise<TransportResponse> {
    if (this.closed) return Promise.reject(new Error('the transport is closed'));
    return new Promise((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const clearTimers = (): void => {
        for (const timer of timers.splice(0)) clearTimeout(timer);
      };
      const fail = (error: Error): void => {
        clearTimers();
        if (settled) return;
        settled = true;
        reject(error);
      };
      const outgoing = httpsRequest(request.origin, {
        agent: this.agent,
        path: request.path,
        method: request.method,
        headers: {
          ...request.headers,
          ...(request.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(request.body)) }),
        },
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      const timeout = (code: TimeoutCode, ms: number): NodeJS.Timeout =>
        setTimeout(() => {
          outgoing.destroy(new TransportTimeout(code, ms));
        }, ms);
      outgoing.on('error', fail);
      outgoing.on('socket', (socket) => {
        // A reused socket is connected already; a new one has the connect budget for TCP
        // and TLS both, after which the answer's budget starts.
        if (outgoing.reusedSocket) return;
        const connecting = timeout('CONNECT_TIMEOUT', this.connectTimeoutMs);
        timers.push(connecting);
        socket.once('secureConnect', () => {
          clearTimeout(connecting);
        });
      });
      timers.push(timeout('HEADERS_TIMEOUT', request.headersTimeoutMs));
      outgoing.on('response', (incoming) => {
        clearTimers();
        if (settled) {
          incoming.destroy();
          return;
        }
        settled = true;
        // Silence between chunks ends the body. (The listener is the answer's, not the
        // socket's; the agent clears the socket's timeout when it goes back to the pool.)
        incoming.setTimeout(request.bodyTimeoutMs, () => {
          incoming.destroy(new TransportTimeout('BODY_TIMEOUT', request.bodyTimeoutMs));
        });
        resolve({
          statusCode: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: incoming,
        });
      });
      outgoing.end(request.body);
    });
  }

  /** Closes every connection. Idempotent. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
