import test from 'ava';
import { parseServerSentEvents } from '../http/sse.js';
import type { ServerSentEvent } from '../http/sse.js';

async function parse(chunks: (string | Buffer)[]): Promise<ServerSentEvent[]> {
  const messages: ServerSentEvent[] = [];
  for await (const message of parseServerSentEvents(chunks)) messages.push(message);
  return messages;
}

test('messages end at a blank line; comments and unknown fields are ignored', async (t) => {
  t.deepEqual(await parse([': heartbeat\n\nevent: update\ndata: {"a":1}\nretry: 10\nfoo\n\n']), [
    { event: 'update', data: '{"a":1}', id: undefined },
  ]);
});

test('data lines join with newlines; a missing event name means "message"', async (t) => {
  t.deepEqual(await parse(['data: one\ndata:two\n\n']), [
    { event: 'message', data: 'one\ntwo', id: undefined },
  ]);
});

test('CRLF, CR and LF all end lines, even when a CRLF is split across chunks', async (t) => {
  t.deepEqual(await parse(['event: a\r', '\ndata: 1\r\r', 'data: 2\n\n']), [
    { event: 'a', data: '1', id: undefined },
    { event: 'message', data: '2', id: undefined },
  ]);
});

test('a multi-byte character split across chunks survives', async (t) => {
  const bytes = Buffer.from('data: café ☕\n\n');
  const [message] = await parse([bytes.subarray(0, 10), bytes.subarray(10)]);
  t.is(message?.data, 'café ☕');
});

test('ids carry over to later messages; an unterminated last message is dropped', async (t) => {
  t.deepEqual(await parse(['id: 7\ndata: a\n\ndata: b\n\ndata: never']), [
    { event: 'message', data: 'a', id: '7' },
    { event: 'message', data: 'b', id: '7' },
  ]);
});

test('an event with no data dispatches nothing', async (t) => {
  t.deepEqual(await parse(['event: update\n\n']), []);
});
