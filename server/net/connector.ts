/**
 * An undici connector whose connect timeout is kept to the millisecond.
 *
 * undici's own connect timeout runs on a coarse timer (a 300 ms timeout fires after about a
 * second), and an abort signal does not interrupt a connect in progress. Against a host that
 * drops packets — crashed, partitioned, or an address whose owner just moved and whose first
 * SYN went to the old MAC — a connect then hangs for seconds, while a fresh one would succeed
 * at once. Clients that must notice a failover quickly give up on the connect at the bound
 * and try again with a new socket (whose SYN goes out now, not at TCP's one-second
 * retransmission).
 *
 * A connect that answers after the bound is closed; undici's coarse timeout still applies
 * underneath, so a socket nobody waits for is torn down eventually.
 */
import { createSecureContext } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';

export class ConnectTimeoutError extends Error {
  readonly code = 'CONNECT_TIMEOUT' as const;

  constructor(host: string, port: string, timeoutMs: number) {
    super(`no connection to ${host}:${port} within ${timeoutMs} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

/**
 * A connector for `new Agent({ connect: preciseConnector(tls, 300) })`. The bound may depend
 * on the destination (`(host, port) => ms`): a client that knows a server is alive and only
 * slow gives its connects the time a busy machine needs, so that a handshake that would
 * succeed is not thrown away and started again, each one costing both sides a full TLS
 * handshake on the machine that is already short of CPU.
 */
export function preciseConnector(
  tls: ConnectionOptions,
  timeoutMs: number | ((host: string, port: string) => number),
): buildConnector.connector {
  const boundFor = typeof timeoutMs === 'number' ? () => timeoutMs : timeoutMs;
  const connect = buildConnector({
    ...withSharedContext(tls),
    // Above any bound given here: it only tears down sockets nobody waits for any more.
    timeout: 30_000,
  });
  return (options, callback) => {
    let settled = false;
    const bound = boundFor(options.hostname, options.port);
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      callback(new ConnectTimeoutError(options.hostname, options.port, bound), null);
    }, bound);
    connect(options, (...args) => {
      const [error, socket] = args;
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (error) callback(error, null);
      else callback(null, socket);
    });
  };
}

/**
 * The options with `ca`, `cert` and `key` read once into a secure context that every
 * connection shares. Given as PEM, they are parsed again for each new socket (0.75 ms
 * each here): after a failover a client opens its whole pool to the new member at once.
 */
export function withSharedContext(tls: ConnectionOptions): ConnectionOptions {
  if (tls.secureContext !== undefined) return tls;
  const { ca, cert, key, ...rest } = tls;
  return { ...rest, secureContext: createSecureContext({ ca, cert, key }) };
}
