/**
 * The worker's store answers encoded queries with the JSON of what the query answers (UTF-8
 * bytes that own their buffer), and
 * everything else as the calendar store itself does.
 */
import test from 'ava';
import { EncodingStore } from './encoded-queries.js';
import { openStore, StoreClient } from './test-support.js';

test('an encoded query answers the JSON of the query result; the rest passes through', async (t) => {
  const store = await openStore();
  const client = new StoreClient(store);
  client.ok(null, { type: 'user.register', username: 'ada', passwordHash: 'scrypt$x$y' });
  const encoding = new EncodingStore(store);
  const found = {
    v: 1 as const,
    actor: null,
    at: client.now,
    body: { type: 'user.lookup' as const, username: 'ada' },
  };
  const missing = { ...found, body: { ...found.body, username: 'nobody' } };
  for (const query of [found, missing]) {
    const answer = encoding.query({ encode: query });
    if (!('bytes' in answer)) return t.fail('an encoded query is answered in bytes');
    t.is(answer.bytes.byteLength, answer.bytes.buffer.byteLength, 'owning its buffer');
    t.deepEqual(JSON.parse(new TextDecoder().decode(answer.bytes)), store.query(query));
    t.deepEqual(encoding.query(query), store.query(query), 'a plain query is answered as a value');
  }
  t.deepEqual(encoding.snapshot(), store.snapshot());
});
