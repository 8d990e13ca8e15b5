/**
 * bin/undici-for-daemons.mjs, what the daemons' bundles get for `undici` (bin/build.js): the
 * same Agent and buildConnector as undici's, and a `request` that behaves as undici's. The
 * tests run the sources, which import undici itself, so this is where the stand-in is tried.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import * as undici from 'undici';
import { REPO } from '../../base/entry-points.js';

type Undici = Pick<typeof undici, 'Agent' | 'buildConnector' | 'request'>;

const forDaemons = async (): Promise<Undici> =>
  (await import(pathToFileURL(join(REPO, 'bin/undici-for-daemons.mjs')).href)) as Undici;

test("the daemons' undici is undici's own Agent and buildConnector", async (t) => {
  const shim = await forDaemons();
  t.is(shim.Agent, undici.Agent);
  t.is(shim.buildConnector, undici.buildConnector);
});

test("the daemons' undici requests as undici does, through the Agent it is given", async (t) => {
  const shim = await forDaemons();
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new shim.Agent({ keepAliveTimeout: 1_000 });
  try {
    const origin = `http://127.0.0.1:${port}`;
    for (const make of [shim.request, undici.request]) {
      const get = await make(`${origin}/v1/status?x=1`, { dispatcher: agent });
      t.is(get.statusCode, 200);
      t.deepEqual(await get.body.json(), { method: 'GET', url: '/v1/status?x=1' });
      const post = await make(`${origin}/v1/commands`, { dispatcher: agent, body: '{}' });
      t.deepEqual(await post.body.json(), { method: 'PUT', url: '/v1/commands' });
    }
    t.throws(() => void shim.request('', { dispatcher: agent }), { message: 'invalid url' });
  } finally {
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
