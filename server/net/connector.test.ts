/**
 * The precise connector against a server that accepts TCP and never answers the TLS
 * handshake: the connect gives up at its bound, not at undici's coarse timer. Ports 30620–30629.
 */
import test from 'ava';
import { Agent, request } from 'undici';
import { preciseConnector } from './connector.js';
import { tcpTestServer } from './test-support.js';

const PORT = 30620;

test('a connect that hangs in the handshake fails at its bound', async (t) => {
  const server = await tcpTestServer(PORT);
  const agent = new Agent({ connect: preciseConnector({ rejectUnauthorized: true }, 200) });
  t.teardown(async () => {
    await agent.close();
    await server.close();
  });
  const started = performance.now();
  const error = await t.throwsAsync(request(`https://127.0.0.1:${PORT}/`, { dispatcher: agent }));
  const tookMs = performance.now() - started;
  t.regex(error.message, /no connection to 127\.0\.0\.1:30620 within 200 ms/);
  // undici's own timer would fire after about a second.
  t.true(tookMs >= 190 && tookMs < 900, `took ${Math.round(tookMs)} ms`);
});
