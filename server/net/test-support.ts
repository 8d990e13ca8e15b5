/**
 * Test support for clients facing peers that misbehave at the network level: a TCP server
 * on 127.0.0.1 that keeps every socket it accepted (and every one it is given to keep), so
 * closing it also cuts the connections still open.
 */
import { createServer, type Socket } from 'node:net';

export interface TcpTestServer {
  close(): Promise<void>;
}

/**
 * Listens on `port` and hands each connection to `onConnection` (by default: says nothing,
 * so a TLS handshake never completes). `keep` adds another socket for `close` to destroy.
 */
export async function tcpTestServer(
  port: number,
  onConnection: (socket: Socket, keep: (other: Socket) => void) => void = () => {},
): Promise<TcpTestServer> {
  const sockets = new Set<Socket>();
  const keep = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((socket) => {
    keep(socket);
    onConnection(socket, keep);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
