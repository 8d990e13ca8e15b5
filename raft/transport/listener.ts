/**
 * A mutual-TLS listener that knows every socket it accepted, so that closing it is prompt:
 * `net.Server.close` alone waits for open connections (and half-done handshakes) to end.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { TransportClosedError } from './errors.js';
import { errorMessage } from '../../base/log.js';
import type { Logger } from '../../base/log.js';
import type { NetAddress } from '../../base/host-port.js';
import { mutualTlsServerOptions } from '../../base/tls.js';
import type { MutualTlsMaterial } from '../../base/tls.js';

export interface MutualTlsListenerOptions {
  readonly tls: MutualTlsMaterial;
  readonly logger: Logger;
  /** What is listening, for log lines ("peer", "rpc"). */
  readonly role: string;
  /** Called for each connection that completed the handshake with a trusted certificate. */
  readonly onConnection: (socket: TLSSocket) => void;
}

/** Listens once; `close()` ends the listener and every accepted connection. */
export class MutualTlsListener {
  readonly #server: tls.Server;
  readonly #logger: Logger;
  readonly #role: string;
  /** Raw TCP sockets, including those still in the TLS handshake. */
  readonly #sockets = new Set<Socket>();
  #listening: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  constructor(options: MutualTlsListenerOptions) {
    this.#logger = options.logger;
    this.#role = options.role;
    this.#server = tls.createServer(mutualTlsServerOptions(options.tls));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('secureConnection', options.onConnection);
    this.#server.on('tlsClientError', (error, socket) => {
      this.#logger.warn(`refused a ${this.#role} connection during the TLS handshake`, {
        remoteAddress: socket.remoteAddress,
        error: errorMessage(error),
      });
    });
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /**
   * Resolves once listening on `address`; rejects if the address cannot be bound, or with
   * {@link TransportClosedError} after `close()`.
   */
  listen(address: NetAddress): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new TransportClosedError(`${this.#role} listener`));
    }
    this.#listening ??= new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(address.port, address.host, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (error) =>
          this.#logger.warn(`${this.#role} listener error`, { error: errorMessage(error) }),
        );
        this.#logger.info(`listening for ${this.#role} connections`, { ...address });
        resolve();
      });
    });
    return this.#listening;
  }

  /** Stops listening and destroys every accepted connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    // A listen still in progress finishes first, or the server would open after closing.
    await this.#listening?.catch(() => undefined);
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    if (this.#server.listening) {
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
  }
}
