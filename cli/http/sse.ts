/**
 * A parser for server-sent events (the `text/event-stream` format of the HTML standard):
 * `field: value` lines, messages ended by a blank line, comment lines starting with `:`
 * (the gateway's heartbeats), `\n`, `\r\n` or `\r` line ends, multi-line `data` joined with
 * `\n`. Chunks may split lines, and multi-byte characters, anywhere.
 */
import { StringDecoder } from 'node:string_decoder';

/** One dispatched message. `event` is `message` when the server named none. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  /** The last `id` the stream set, if any (what `Last-Event-ID` resumes from). */
  readonly id: string | undefined;
}

/** Yields each message of the stream as soon as its closing blank line has arrived. */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let lastId: string | undefined;
  let first = true;

  const takeLine = (line: string): ServerSentEvent | undefined => {
    if (line === '') {
      if (data.length === 0) {
        event = '';
        return undefined;
      }
      const message = {
        event: event === '' ? 'message' : event,
        data: data.join('\n'),
        id: lastId,
      };
      event = '';
      data = [];
      return message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        event = value;
        break;
      case 'data':
        data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) lastId = value;
        break;
      default:
        // `retry` and unknown fields: the CLI has its own reconnection policy.
        break;
    }
    return undefined;
  };

  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && buffer.length > 0) {
      // A leading byte-order mark is not part of the first field name.
      if (buffer.startsWith('\uFEFF')) buffer = buffer.slice(1);
      first = false;
    }
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (match === null) break;
      // A lone `\r` at the end may be the first half of `\r\n`: wait for the next chunk.
      if (match[0] === '\r' && match.index === buffer.length - 1) break;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      const message = takeLine(line);
      if (message !== undefined) yield message;
    }
  }
  // An unterminated final message is dropped, as the standard says.
}
