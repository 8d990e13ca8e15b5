/**
 * What the gossip tests on loopback share: waiting for a view to change, and sending one
 * datagram as an outsider would.
 */
import { createSocket } from 'node:dgram';

/** Resolves when `done()` holds, polling; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  done: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `datagram` to `host:port` from a socket of its own. */
export function sendDatagram(
  datagram: Uint8Array,
  port: number,
  host = '127.0.0.1',
): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.send(datagram, port, host, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    });
  });
}
