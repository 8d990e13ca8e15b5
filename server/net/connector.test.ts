/**
 * The precise connector against a server that accepts TCP and never answers the TLS
 * handshake: the connect gives up at its bound, not at undici's coarse timer. Ports 30620–30629.
 */
import test from 'ava';
import { createServer, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { preciseConnector } from './connector.js';

const PORT = 30620;

test('a connect that hangs in the handshake fails at its bound', async (t) => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
  const agent = new Agent({ connect: preciseConnector({ rejectUnauthorized: true }, 200) });
  t.teardown(async () => {
    await agent.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const started = performance.now();
  const error = await t.throwsAsync(request(`https://127.0.0.1:${PORT}/`, { dispatcher: agent }));
  const tookMs = performance.now() - started;
  t.regex(error.message, /no connection to 127\.0\.0\.1:30620 within 200 ms/);
  // undici's own timer would fire after about a second.
  t.true(tookMs >= 190 && tookMs < 900, `took ${Math.round(tookMs)} ms`);
});
