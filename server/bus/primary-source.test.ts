import test from 'ava';
import { Unavailable } from '../../contract/errors.js';
import type { QueryBody, StoreQueryResult } from '../store/protocol.js';
import {
  PRIMARY_REGISTRY_KEY,
  RegistryPrimarySource,
  StaticPrimarySource,
} from './primary-source.js';
import type { RegistryReader } from './primary-source.js';

/** A DB that answers registry reads from a fixed answer and records what was asked. */
function registry(answer: StoreQueryResult): { reader: RegistryReader; asked: QueryBody[] } {
  const asked: QueryBody[] = [];
  const reader: RegistryReader = {
    query: (_actor, body) => {
      asked.push(body);
      return Promise.resolve(answer);
    },
  };
  return { reader, asked };
}

function entry(value: string, epoch: number): StoreQueryResult {
  return { ok: true, result: { entry: { key: PRIMARY_REGISTRY_KEY, value, epoch } } };
}

test('the registry source reads redis/primary and uses the entry epoch as the fencing epoch', async (t) => {
  const { reader, asked } = registry(entry('{"host":"10.0.0.2","port":6380}', 4));
  const source = new RegistryPrimarySource(reader);
  t.deepEqual(await source.current(), { host: '10.0.0.2', port: 6380, epoch: 4 });
  t.deepEqual(asked, [{ type: 'registry.get', key: 'redis/primary' }]);
});

test('no primary recorded, a malformed value or a failed read: unavailable', async (t) => {
  const answers: StoreQueryResult[] = [
    { ok: true, result: { entry: null } },
    entry('not json', 2),
    entry('{"host":"10.0.0.2"}', 2),
    entry('{"host":"10.0.0.2","port":70000}', 2),
    { ok: false, error: { code: 'unavailable', message: 'no leader', details: {} } },
  ];
  for (const answer of answers) {
    await t.throwsAsync(new RegistryPrimarySource(registry(answer).reader).current(), {
      instanceOf: Unavailable,
    });
  }
});

test('a static source answers what it was last given', async (t) => {
  const source = new StaticPrimarySource({ host: '127.0.0.1', port: 28_000, epoch: 1 });
  t.deepEqual(await source.current(), { host: '127.0.0.1', port: 28_000, epoch: 1 });
  source.set({ host: '127.0.0.1', port: 28_001, epoch: 2 });
  t.deepEqual(await source.current(), { host: '127.0.0.1', port: 28_001, epoch: 2 });
});
