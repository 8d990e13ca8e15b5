/**
 * A server's listening life: bind it, say where it is bound, stop it at once. One copy for
 * the gateway, the DB members' API, the metrics endpoints and the VIP agents' status server.
 */
import type { Server } from 'node:net';
import type { NetAddress } from './host-port.js';

/** Listens at `address`; resolves once bound, rejects when it cannot (the port is taken). */
export function listenAt(server: Server, address: NetAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Where `server` is bound. @throws Error when it is not listening. */
export function listeningAddress(server: Server): NetAddress {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { host: address.address, port: address.port };
}

/**
 * Stops listening and drops the open connections, requests in flight too; resolves once
 * closed.
 */
export function closeAtOnce(
  server: Pick<Server, 'close'> & { closeAllConnections(): void },
): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
