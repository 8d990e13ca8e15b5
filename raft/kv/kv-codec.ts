import type { ClientCodec } from '../runtime/client-service.js';
import type { KvQuery, KvReadResult, KvResult } from './kv-state-machine.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The key-value store's queries and results on the client port, as JSON. */
export const kvCodec: ClientCodec<KvResult, KvQuery, KvReadResult> = {
  encodeResult: (r) => encoder.encode(JSON.stringify(r)),
  encodeQueryResult: (r) => encoder.encode(JSON.stringify(r)),
  decodeQuery: (bytes) => {
    const v = JSON.parse(decoder.decode(bytes)) as { op?: unknown; key?: unknown };
    if (v.op !== 'get' || typeof v.key !== 'string')
      throw new Error('expected {"op":"get","key":string}');
    return { op: 'get', key: v.key };
  },
};

export function decodeKvResult(bytes: Uint8Array): KvResult {
  return JSON.parse(decoder.decode(bytes)) as KvResult;
}

export function decodeKvReadResult(bytes: Uint8Array): KvReadResult {
  return JSON.parse(decoder.decode(bytes)) as KvReadResult;
}

export function encodeKvQuery(q: KvQuery): Uint8Array {
  return encoder.encode(JSON.stringify(q));
}
