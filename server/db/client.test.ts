/**
 * The DB client against members that misbehave at the network level: one that accepts TCP but
 * never finishes the TLS handshake (as a member behind a dropping firewall looks while the
 * connect hangs), next to one that answers. Ports 30600–30622 and 30640–30641.
 *
 * The tests run one at a time: each measures how long calls wait, and several at once in one
 * process (each with members, loops of calls and timers) made them measure each other.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import { tcpTestServer } from '../net/test-support.js';
import { JsonText } from '../../base/json-text.js';
import { DbClient } from './client.js';

const SILENT_PORT = 30600;
const ANSWERING_PORT = 30601;

async function pki() {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'db-2',
    usages: 'server',
    ipAddresses: ['127.0.0.1'],
  });
  const client = await issueCertificate(ca, { name: 'svc', usages: 'client' });
  return { ca: ca.certPem, server, client };
}

test.serial(
  'an attempt on a member that never answers ends at its bound, and the next call skips that member',
  async (t) => {
    const keys = await pki();
    const silent = await tcpTestServer(SILENT_PORT);
    let answered = 0;
    const answering: Server = createHttpsServer(
      { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
      (req, res) => {
        answered++;
        req.resume();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ result: { ok: true, result: { answeredBy: 2 } } }));
      },
    );
    await new Promise<void>((resolve) => answering.listen(ANSWERING_PORT, '127.0.0.1', resolve));
    const client = new DbClient({
      members: new Map([
        [1, { host: '127.0.0.1', port: SILENT_PORT }],
        [2, { host: '127.0.0.1', port: ANSWERING_PORT }],
      ]),
      tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
      deadlineMs: 5_000,
      attemptTimeoutMs: 1_000,
    });
    t.teardown(async () => {
      await client.close();
      await silent.close();
      await new Promise<void>((resolve) => answering.close(() => resolve()));
    });

    const started = performance.now();
    const first = await client.query(null, { type: 'registry.get', key: 'k' });
    const firstMs = performance.now() - started;
    t.deepEqual(first, { ok: true, result: { answeredBy: 2 } });
    // One bounded attempt on the silent member, then the answering one; undici alone would have
    // waited out its connect timeout (seconds).
    t.true(firstMs < 2_500, `first call took ${Math.round(firstMs)} ms`);

    const again = performance.now();
    await client.query(null, { type: 'registry.get', key: 'k' });
    const secondMs = performance.now() - again;
    t.true(
      secondMs < 700,
      `second call took ${Math.round(secondMs)} ms: it asked the silent member first`,
    );
    t.is(answered, 2);
  },
);

test.serial('a short deadline is kept even when the only member never answers', async (t) => {
  const keys = await pki();
  const silent = await tcpTestServer(SILENT_PORT + 2);
  const client = new DbClient({
    members: new Map([[1, { host: '127.0.0.1', port: SILENT_PORT + 2 }]]),
    tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
  });
  t.teardown(async () => {
    await client.close();
    await silent.close();
  });
  const started = performance.now();
  const error = await t.throwsAsync(
    client.query(null, { type: 'registry.get', key: 'k' }, { deadlineMs: 150 }),
  );
  const tookMs = performance.now() - started;
  t.is((error as { code?: string }).code, 'unavailable');
  t.true(tookMs < 2_000, `took ${Math.round(tookMs)} ms for a 150 ms deadline`);
});

test.serial(
  'after a failed attempt every member is asked at once, so two dead members cost one timeout, not two',
  async (t) => {
    const keys = await pki();
    const silentA = await tcpTestServer(SILENT_PORT + 4);
    const silentB = await tcpTestServer(SILENT_PORT + 5);
    const answering: Server = createHttpsServer(
      { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
      (req, res) => {
        req.resume();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ result: { ok: true, result: null } }));
      },
    );
    await new Promise<void>((resolve) =>
      answering.listen(ANSWERING_PORT + 5, '127.0.0.1', resolve),
    );
    const warned: { message: string; fields: Record<string, unknown> }[] = [];
    const client = new DbClient({
      members: new Map([
        [1, { host: '127.0.0.1', port: SILENT_PORT + 4 }],
        [2, { host: '127.0.0.1', port: SILENT_PORT + 5 }],
        [3, { host: '127.0.0.1', port: ANSWERING_PORT + 5 }],
      ]),
      tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
      attemptTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
      logger: { warn: (message, fields = {}) => warned.push({ message, fields }) },
    });
    t.teardown(async () => {
      await client.close();
      await silentA.close();
      await silentB.close();
      await new Promise<void>((resolve) => answering.close(() => resolve()));
    });
    const started = performance.now();
    await client.query(null, { type: 'registry.get', key: 'k' });
    const tookMs = performance.now() - started;
    // One attempt on member 1, then all three at once; one by one would take over 2 s.
    t.true(tookMs < 1_800, `took ${Math.round(tookMs)} ms`);
    // The switch is logged once, naming the member that did not answer.
    t.like(warned, [
      {
        message: 'no answer from the preferred DB member; asking every member',
        fields: { member: 1 },
      },
    ]);
  },
);

type Answer = (
  id: 1 | 2,
  key: string,
  res: { statusCode: number; end(body: string): void },
) => void;

/**
 * Members 1 and 2 on `firstPort` and the next port, each handing the key a registry read asks
 * for to `answer`, and a client of both that starts with member 1; torn down after the test.
 */
async function twoMembers(
  t: ExecutionContext,
  firstPort: number,
  answer: Answer,
  options: { attemptTimeoutMs: number; deadlineMs?: number },
  /** What each member's `/healthz` says its role is; by default neither leads. */
  roles: Readonly<Record<1 | 2, string>> = { 1: 'follower', 2: 'follower' },
): Promise<DbClient> {
  const keys = await pki();
  const servers: Server[] = [];
  for (const id of [1, 2] as const) {
    const server = createHttpsServer(
      { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
      (req, res) => {
        if (req.url === '/healthz') {
          req.resume();
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ ok: true, role: roles[id] }));
          return;
        }
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.setHeader('x-agenda-db-leader', '1');
          answer(id, (JSON.parse(body) as { body: { key: string } }).body.key, res);
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(firstPort + id - 1, '127.0.0.1', resolve));
    servers.push(server);
  }
  const client = new DbClient({
    members: new Map([
      [1, { host: '127.0.0.1', port: firstPort }],
      [2, { host: '127.0.0.1', port: firstPort + 1 }],
    ]),
    tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
    ...options,
  });
  t.teardown(async () => {
    await client.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
  return client;
}

const answeredBy = (id: number) =>
  JSON.stringify({ result: { ok: true, result: { answeredBy: id } } });

test.serial(
  'a member that is slow but keeps answering is waited for, not fanned out around',
  async (t) => {
    /** Calls each member got, by the key the call reads. */
    const asked = new Map<number, string[]>([
      [1, []],
      [2, []],
    ]);
    let answeredBy1 = 0;
    // Member 1 answers everything after 1.8 s (busy, but alive); member 2 answers at once.
    const client = await twoMembers(
      t,
      ANSWERING_PORT + 11,
      (id, key, res) => {
        asked.get(id)?.push(key);
        setTimeout(
          () => {
            if (id === 1) answeredBy1++;
            res.end(answeredBy(id));
          },
          id === 1 ? 1_800 : 0,
        );
      },
      // Alive means an answer within the last 400 ms (a quarter bound). The first calls find
      // member 1 silent and go to member 2 until its first answer, 200 ms later: member 1's
      // answers then skip 200 ms, and a stall of the test machine up to 150 ms more is
      // tolerated. (With a 2 s answer the gap was 400 ms, exactly the window, and the test
      // failed at random.)
      { attemptTimeoutMs: 1_600 },
    );
    const read = (key: string) => client.query(null, { type: 'registry.get', key });
    // A call every 50 ms, each taking 1.8 s, longer than the 1.6 s bound. The first ones find
    // member 1 silent (nothing proves it alive yet) and ask member 2 as well.
    const calls: Promise<unknown>[] = [];
    while (answeredBy1 < 5) {
      calls.push(read('before'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Member 1 now answers a call every 50 ms: it is busy, not gone, so later calls wait for it.
    for (let i = 0; i < 10; i++) {
      calls.push(read('after'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Promise.all(calls);
    t.true(asked.get(2)!.includes('before'), 'member 2 was never asked: the test proves nothing');
    t.deepEqual(
      asked.get(2)!.filter((key) => key === 'after'),
      [],
    );
    t.is(asked.get(1)!.filter((key) => key === 'after').length, 10);
  },
);

test.serial(
  'calls a leader is slow over are waited for while it says it leads, even with no other answer',
  async (t) => {
    const asked = new Map<number, string[]>([
      [1, []],
      [2, []],
    ]);
    // Member 1 leads and takes 2 s over every call (four attempt bounds): a store reading
    // megabytes for each of a burst of reports. No call of this client is answered meanwhile.
    const client = await twoMembers(
      t,
      ANSWERING_PORT + 21,
      (id, key, res) => {
        asked.get(id)?.push(key);
        setTimeout(() => res.end(answeredBy(id)), id === 1 ? 2_000 : 0);
      },
      { attemptTimeoutMs: 500, deadlineMs: 8_000 },
      { 1: 'leader', 2: 'follower' },
    );
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.query(null, { type: 'registry.get', key: `heavy-${i}` }),
      ),
    );
    for (const answer of answers) t.like(answer, { result: { answeredBy: 1 } });
    t.deepEqual(asked.get(2), [], 'no call was copied to the other member');
    t.is(asked.get(1)?.length, 6);
  },
);

test.serial(
  'a slow call on a member that keeps answering others is asked once, however long it takes',
  async (t) => {
    const asked = new Map<number, string[]>([
      [1, []],
      [2, []],
    ]);
    // Member 1 takes 3 s over the slow call — six attempt bounds, as a read queued behind
    // others on a loaded leader does — and answers everything else at once.
    const client = await twoMembers(
      t,
      ANSWERING_PORT + 6,
      (id, key, res) => {
        asked.get(id)?.push(key);
        setTimeout(() => res.end(answeredBy(id)), id === 1 && key === 'slow' ? 3_000 : 0);
      },
      { attemptTimeoutMs: 500, deadlineMs: 8_000 },
    );
    const read = (key: string) => client.query(null, { type: 'registry.get', key });
    await read('first');
    const slow = read('slow');
    let done = false;
    void slow.finally(() => (done = true));
    while (!done) {
      await read('other');
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    t.like(await slow, { result: { answeredBy: 1 } });
    t.deepEqual(
      asked.get(1)!.filter((key) => key === 'slow'),
      ['slow'],
      'the slow call was not sent again',
    );
    t.deepEqual(asked.get(2), []);
  },
);

test.serial(
  'a member that only answers errors is not waited for: a call stuck there goes elsewhere',
  async (t) => {
    const client = await twoMembers(
      t,
      ANSWERING_PORT + 15,
      (id, key, res) => {
        if (id === 2) {
          res.end(answeredBy(2));
        } else if (key !== 'stuck') {
          // Member 1 answers at once, but only with errors; the stuck call it never answers.
          res.statusCode = 503;
          res.end(JSON.stringify({ error: { code: 'unavailable', message: 'no leader' } }));
        }
      },
      { attemptTimeoutMs: 500, deadlineMs: 5_000 },
    );
    const started = performance.now();
    const stuck = client.query(null, { type: 'registry.get', key: 'stuck' });
    // Meanwhile member 1 keeps answering other calls, with errors.
    const others: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      others.push(client.query(null, { type: 'registry.get', key: 'other' }).catch(() => null));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.like(await stuck, { result: { answeredBy: 2 } });
    const tookMs = performance.now() - started;
    t.true(tookMs < 1_500, `the stuck call took ${Math.round(tookMs)} ms`);
    await Promise.all(others);
  },
);

test.serial(
  'a large answer is read whole: the body of the answer that won is never discarded',
  async (t) => {
    // An agenda of a few hundred events is well over 128 KiB, the size above which undici's
    // `body.dump()` destroys a body instead of reading it.
    const titles = Array.from({ length: 4_000 }, (_, i) => `event ${i} `.padEnd(100, '.'));
    const client = await twoMembers(
      t,
      ANSWERING_PORT + 17,
      (_id, _key, res) => res.end(JSON.stringify({ result: { ok: true, result: { titles } } })),
      { attemptTimeoutMs: 2_000 },
    );
    for (let i = 0; i < 5; i++) {
      const answer = await client.query(null, { type: 'registry.get', key: 'big' });
      t.like(answer, { ok: true });
      t.is((answer as unknown as { result: { titles: string[] } }).result.titles.length, 4_000);
    }
  },
);

test.serial(
  'a short call that a slow member answers late leaves its connection open: the next calls reuse it',
  async (t) => {
    const keys = await pki();
    let handshakes = 0;
    let calls = 0;
    const slow: Server = createHttpsServer(
      { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
      (req, res) => {
        calls++;
        req.resume();
        // The first call answers at once (the member is alive), the rest after 1.2 s: a
        // member slowed down, as a DB leader is for a second or two after a partition heals.
        const delay = calls === 1 ? 0 : 1_200;
        setTimeout(() => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ result: { ok: true, result: null } }));
        }, delay);
      },
    );
    slow.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => slow.listen(ANSWERING_PORT, '127.0.0.1', resolve));
    const client = new DbClient({
      members: new Map([[1, { host: '127.0.0.1', port: ANSWERING_PORT }]]),
      tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
    });
    t.teardown(async () => {
      await client.close();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    });

    await client.query(null, { type: 'registry.get', key: 'k' }, { deadlineMs: 120 });
    // Four reads with the VIP agent's 120 ms deadline, each given up on, and each answered
    // before the next is made.
    let givenUp = 0;
    for (let i = 0; i < 4; i++) {
      await client
        .query(null, { type: 'registry.get', key: 'k' }, { deadlineMs: 120 })
        .catch(() => givenUp++);
      await new Promise((r) => setTimeout(r, 1_400));
    }
    t.is(givenUp, 4);
    // Each late answer left its connection for the next call (a second one may open while the
    // first call's is being released). Cutting each call at its deadline (about a second
    // later, on undici's coarse timer) opened one per call.
    t.true(handshakes <= 2, `${handshakes} TLS connections for 5 calls`);
  },
);

test.serial(
  'keeping connections warm opens a few to each member per round, not the whole pool at once',
  async (t) => {
    const keys = await pki();
    const handshakes = [0, 0];
    const servers: Server[] = [];
    for (const index of [0, 1]) {
      const server = createHttpsServer(
        { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
        (req, res) => {
          req.resume();
          res.setHeader('x-agenda-db-leader', '1');
          if (req.url === '/healthz') {
            res.end('ok');
            return;
          }
          res.setHeader('content-type', 'application/json');
          // Calls to the leader take a while, so that sixteen are in flight at once.
          setTimeout(() => res.end(JSON.stringify({ result: { ok: true, result: null } })), 150);
        },
      );
      server.on('secureConnection', () => handshakes[index]!++);
      await new Promise<void>((resolve) => server.listen(30640 + index, '127.0.0.1', resolve));
      servers.push(server);
    }
    const client = new DbClient({
      members: new Map([
        [1, { host: '127.0.0.1', port: 30640 }],
        [2, { host: '127.0.0.1', port: 30641 }],
      ]),
      tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
      warmIntervalMs: 400,
    });
    t.teardown(async () => {
      await client.close();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    // Sixteen reads at once, all to the leader: it now has sixteen connections, and the
    // follower, which a failover would make the next leader, none.
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        client.query(null, { type: 'registry.get', key: `k${i}` }, { deadlineMs: 3_000 }),
      ),
    );
    t.true(handshakes[0]! >= 8, `${handshakes[0]} connections to the leader`);
    const atStart = handshakes[1]!;
    const since = Date.now();
    const seen: number[] = [];
    const bounds: number[] = [];
    for (let round = 0; round < 4; round++) {
      await new Promise((r) => setTimeout(r, 400));
      seen.push(handshakes[1]! - atStart);
      // Timers fire late under load, never early: at most this many rounds have run.
      bounds.push(2 * (Math.floor((Date.now() - since) / 400) + 1));
    }
    // Each round opened at most two more to the follower: a few handshakes per round, never
    // sixteen in one turn of the event loop. And the pool grows toward what was in flight.
    for (let i = 0; i < seen.length; i++) {
      t.true(seen[i]! <= bounds[i]!, `after ${i + 1} checks: ${seen.join(', ')}`);
    }
    t.true(seen.at(-1)! >= 4, `the pool grew: ${seen.join(', ')}`);
  },
);

test.serial(
  'a relayed query keeps the store’s JSON text as it came; a refusal and a plain query are parsed',
  async (t) => {
    const keys = await pki();
    const stored = '{"events":[{"title":"a \\"quoted\\" }} brace"}],"next":null}';
    const answers: Record<string, string> = {
      ok: `{"result":{"ok":true,"result":${stored}}}`,
      refused: '{"result":{"ok":false,"error":{"code":"not_found","message":"no such group"}}}',
    };
    const server: Server = createHttpsServer(
      { key: keys.server.keyPem, cert: keys.server.certPem, ca: keys.ca, requestCert: true },
      (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          const key = (JSON.parse(body) as { body: { key: string } }).body.key;
          res.setHeader('content-type', 'application/json');
          res.end(answers[key]);
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(30602, '127.0.0.1', resolve));
    const client = new DbClient({
      members: new Map([[1, { host: '127.0.0.1', port: 30602 }]]),
      tls: { ca: keys.ca, cert: keys.client.certPem, key: keys.client.keyPem },
      deadlineMs: 5_000,
    });
    t.teardown(async () => {
      await client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const relayed = await client.query(null, { type: 'registry.get', key: 'ok' }, { relay: true });
    t.true(relayed.ok);
    const text: unknown = relayed.ok ? relayed.result : undefined;
    if (!(text instanceof JsonText)) return t.fail('the result is its JSON text');
    t.is(text.text, stored);
    t.deepEqual(await client.query(null, { type: 'registry.get', key: 'ok' }), {
      ok: true,
      result: JSON.parse(stored) as unknown,
    });
    t.like(await client.query(null, { type: 'registry.get', key: 'refused' }, { relay: true }), {
      ok: false,
      error: { code: 'not_found' },
    });
  },
);
