import test from 'ava';
import type { ExecutionContext } from 'ava';
import { setTimeout as delay } from 'node:timers/promises';
import type { BusConnection } from './connection.js';
import { StaticPrimarySource } from './primary-source.js';
import { requestStream } from './protocol.js';
import { Requester } from './requester.js';
import {
  PortRange,
  RecordingLogger,
  createRedisTls,
  openBus,
  startRedis,
  waitFor,
  waitForReplication,
} from './test-support.js';
import type { RedisTlsFiles } from './test-support.js';
import { RequestWorker } from './worker.js';
import type { RequestHandler } from './worker.js';

/** This file's ports: 28200–28299. */
const ports = new PortRange(28_200, 28_299);
let tls: RedisTlsFiles;

test.before(async () => {
  tls = await createRedisTls();
});
test.after.always(async () => {
  await tls?.remove();
});

/**
 * A stand-in for the DB behind the services: applies each request id once and answers the
 * original result to a repeat, as the real store does. Counts every handler run.
 */
class IdempotentStore {
  readonly applied = new Map<string, { n: number; appliedBy: string }>();
  readonly runs = new Map<string, number>();

  handler(worker: string): RequestHandler {
    return async (request) => {
      this.runs.set(request.id, (this.runs.get(request.id) ?? 0) + 1);
      await delay(2); // the DB round trip
      let result = this.applied.get(request.id);
      if (result === undefined) {
        result = { n: (request.op as { n: number }).n, appliedBy: worker };
        this.applied.set(request.id, result);
      }
      return { ok: true, result };
    };
  }
}

function startWorkers(
  t: ExecutionContext,
  source: StaticPrimarySource,
  store: IdempotentStore,
  logger?: RecordingLogger,
): RequestWorker[] {
  return ['users-1', 'users-2'].map((consumer) => {
    const connection: BusConnection = openBus(t, tls, source, consumer);
    const worker = new RequestWorker({
      connection,
      service: 'users',
      consumer,
      handler: store.handler(consumer),
      concurrency: 8,
      claimIdleMs: 500,
      ...(logger === undefined ? {} : { logger }),
    });
    t.teardown(() => worker.close());
    return worker;
  });
}

test('the primary dies under load: every request gets exactly one answer, applied once', async (t) => {
  const teardown = (stop: () => Promise<void>) => t.teardown(stop);
  const primary = await startRedis({ ports, tls, teardown });
  const replica = await startRedis({ ports, tls, teardown, replicaOf: primary });
  await waitForReplication(replica);

  const source = new StaticPrimarySource(primary.address(1));
  const store = new IdempotentStore();
  startWorkers(t, source, store);
  const gateway = openBus(t, tls, source, 'gateway');
  const requester = new Requester({ connection: gateway, gatewayId: 'gw1', resendAfterMs: 1_000 });
  t.teardown(() => requester.close());

  const total = 400;
  let issued = 0;
  let answered = 0;
  const answers = new Map<number, unknown[]>();
  const failures: unknown[] = [];
  // 16 clients, each sending its next request as soon as the previous one is answered.
  const clients = Array.from({ length: 16 }, async () => {
    while (issued < total) {
      const n = issued++;
      try {
        const reply = await requester.request(
          'users',
          'alice',
          { n },
          { id: `op-${n}`, deadlineMs: 20_000 },
        );
        answers.set(n, [...(answers.get(n) ?? []), reply]);
        answered++;
      } catch (error) {
        failures.push(error);
      }
    }
  });

  await waitFor(
    'a quarter of the load to be answered',
    () => answered >= total / 4 && requester.pending > 0,
  );
  // The supervisor's job, done by hand: the primary crashes, the replica is promoted, and
  // the registry records it under a new epoch.
  await primary.kill();
  await replica.admin().call('REPLICAOF', 'NO', 'ONE');
  source.set(replica.address(2));
  await Promise.all(clients);

  t.deepEqual(failures, []);
  t.is(answers.size, total);
  for (let n = 0; n < total; n++) {
    const replies = answers.get(n) ?? [];
    t.is(replies.length, 1);
    t.like(replies[0], { id: `op-${n}`, ok: true, result: { n } });
  }
  // At least once underneath, exactly once in effect.
  t.is(store.applied.size, total);
  const runs = [...store.runs.values()].reduce((sum, count) => sum + count, 0);
  t.true(runs >= total);
  const stats = requester.stats();
  t.true(stats.resent > 0, 'outstanding requests were re-sent to the new primary');
  t.log(
    `handler runs: ${runs} for ${total} requests; re-sends: ${stats.resent}; duplicate replies dropped: ${stats.strayReplies}`,
  );
  t.is(gateway.epoch, 2);
});

test('a primary that lacks the consumer group (and the stream) gets them back', async (t) => {
  const teardown = (stop: () => Promise<void>) => t.teardown(stop);
  const first = await startRedis({ ports, tls, teardown });
  // Not a replica: like a promoted replica that never received the group.
  const blank = await startRedis({ ports, tls, teardown });
  const source = new StaticPrimarySource(first.address(7));
  const store = new IdempotentStore();
  const logger = new RecordingLogger();
  startWorkers(t, source, store, logger);
  const gateway = openBus(t, tls, source, 'gateway');
  const requester = new Requester({ connection: gateway, gatewayId: 'gw1' });
  t.teardown(() => requester.close());

  t.like(await requester.request('users', 'alice', { n: 1 }, { deadlineMs: 5_000 }), { ok: true });
  source.set(blank.address(8));
  await waitFor('everyone to follow the primary', () => gateway.epoch === 8);
  t.like(await requester.request('users', 'alice', { n: 2 }, { deadlineMs: 10_000 }), {
    ok: true,
    result: { n: 2 },
  });

  // The same primary loses the stream, group included (say, an operator deleted it).
  await blank.admin().del(requestStream('users'));
  t.like(await requester.request('users', 'alice', { n: 3 }, { deadlineMs: 10_000 }), {
    ok: true,
    result: { n: 3 },
  });
  t.true(logger.count('created the consumer group') >= 3);
});
