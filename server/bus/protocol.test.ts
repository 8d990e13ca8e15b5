import test from 'ava';
import { JsonText, resultValue } from '../../base/json-text.js';
import {
  MAX_ENVELOPE_LENGTH,
  decodeNotification,
  decodeRelayedReply,
  decodeReply,
  decodeRequest,
  encodeNotification,
  encodeProgress,
  encodeReply,
  isProgress,
  encodeRequest,
  notificationChannel,
  replyChannel,
  requestStream,
} from './protocol.js';
import type { BusRequest } from './protocol.js';

const request: BusRequest = {
  v: 1,
  id: 'req-1',
  service: 'groups',
  replyTo: 'gw-a',
  deadline: 1_800_000_000_000,
  actor: 'alice',
  op: { type: 'group.create', name: 'team', kind: 'flat' },
};

test('keys and channels are named after the service, the gateway and the user', (t) => {
  t.is(requestStream('users'), 'agenda:req:users');
  t.is(replyChannel('gw-a'), 'agenda:reply:gw-a');
  t.is(notificationChannel('alice'), 'agenda:notify:alice');
});

test('a request, a reply and a notification survive their encoding', (t) => {
  t.deepEqual(decodeRequest(encodeRequest(request)), { ok: true, value: request });
  const ok = { v: 1, id: 'req-1', ok: true, result: { group: 'team' } } as const;
  t.deepEqual(decodeReply(encodeReply(ok)), { ok: true, value: ok });
  const refused = {
    v: 1,
    id: 'req-1',
    ok: false,
    error: { code: 'conflict', message: 'taken', details: { conflicts: [] } },
  } as const;
  t.deepEqual(decodeReply(encodeReply(refused)), { ok: true, value: refused });
  const notification = { v: 1, to: 'bob', update: { kind: 'invitation' } } as const;
  t.deepEqual(decodeNotification(encodeNotification(notification)), {
    ok: true,
    value: notification,
  });
  t.deepEqual(decodeRequest(encodeRequest({ ...request, actor: null, op: null })), {
    ok: true,
    value: { ...request, actor: null, op: null },
  });
});

test('a relaying decode keeps a result as the JSON text its service wrote, and decodes the rest in full', (t) => {
  const result = { entries: [{ title: 'a "quoted" }, brace', at: 1 }], next: null };
  const decoded = decodeRelayedReply(encodeReply({ v: 1, id: 'req_1-x', ok: true, result }));
  if (!decoded.ok || isProgress(decoded.value) || !decoded.value.ok) return t.fail();
  t.is(decoded.value.id, 'req_1-x');
  const text = decoded.value.result;
  t.true(text instanceof JsonText);
  t.is((text as JsonText).text, JSON.stringify(result));
  t.deepEqual(resultValue(text), result);
  // Written again (a reply holding it, or an answer), it is its value.
  t.is(JSON.stringify({ text }), JSON.stringify({ text: result }));
  t.is(
    encodeReply({ v: 1, id: 'again', ok: true, result: text }),
    encodeReply({ v: 1, id: 'again', ok: true, result }),
  );
  // The same message decoded in full is the same reply.
  t.deepEqual(decodeReply(encodeReply({ v: 1, id: 'req_1-x', ok: true, result })), {
    ok: true,
    value: { v: 1, id: 'req_1-x', ok: true, result },
  });
  // Refusals, progress notices, and anything not in the written shape are decoded in full.
  const refused = {
    v: 1,
    id: 'r',
    ok: false,
    error: { code: 'conflict', message: 'taken' },
  } as const;
  t.deepEqual(decodeRelayedReply(encodeReply(refused)), { ok: true, value: refused });
  t.deepEqual(decodeRelayedReply(encodeProgress('p')), {
    ok: true,
    value: { v: 1, id: 'p', working: true },
  });
  t.like(decodeRelayedReply('{"v":1,"id":"a b","ok":true,"result":1}'), { ok: false });
  t.like(decodeRelayedReply('{"v":1,"id":"x","ok":true,"result":}'), { ok: false });
  t.like(decodeRelayedReply('{"v":2,"id":"x","ok":true,"result":1}'), { ok: false });
  t.like(decodeRelayedReply('{"v":1,"id":"x","ok":true,"result":1'), { ok: false });
  t.like(
    decodeRelayedReply(`{"v":1,"id":"x","ok":true,"result":"${'x'.repeat(MAX_ENVELOPE_LENGTH)}"}`),
    {
      ok: false,
    },
  );
});

const malformedRequests: [string, string[]][] = [
  ['not JSON', ['m', '{']],
  ['another version', ['m', JSON.stringify({ ...request, v: 2 })]],
  ['no envelope field', ['payload', JSON.stringify(request)]],
  ['extra stream fields', ['m', JSON.stringify(request), 'x', '1']],
  ['unknown service', ['m', JSON.stringify({ ...request, service: 'billing' })]],
  ['an id with spaces', ['m', JSON.stringify({ ...request, id: 'a b' })]],
  ['an id too long', ['m', JSON.stringify({ ...request, id: 'x'.repeat(65) })]],
  ['no op', ['m', JSON.stringify({ ...request, op: undefined })]],
  ['a fractional deadline', ['m', JSON.stringify({ ...request, deadline: 1.5 })]],
  ['an unknown field', ['m', JSON.stringify({ ...request, priority: 'high' })]],
  ['an array', ['m', '[]']],
  ['an envelope too large', ['m', 'x'.repeat(MAX_ENVELOPE_LENGTH + 1)]],
];

for (const [what, fields] of malformedRequests) {
  test(`a request entry with ${what} is refused with a reason`, (t) => {
    const decoded = decodeRequest(fields);
    t.false(decoded.ok);
    if (!decoded.ok) t.true(decoded.reason.length > 0);
  });
}

test('replies and notifications that break the protocol are refused with a reason', (t) => {
  t.like(decodeReply('{"v":1,"id":"x","ok":true}'), { ok: false });
  t.like(decodeReply('{"v":1,"id":"x","ok":false,"error":{"message":"no code"}}'), { ok: false });
  t.like(decodeReply('{"v":1,"id":"x","ok":"yes","result":1}'), { ok: false });
  t.like(decodeNotification('{"v":1,"to":"","update":1}'), { ok: false });
  t.like(decodeNotification('{"v":3,"to":"bob","update":1}'), {
    ok: false,
    reason: 'unsupported notification version 3',
  });
});
