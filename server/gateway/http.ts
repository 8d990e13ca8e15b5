/**
 * The HTTP edge of the gateway: bounded bodies of the right content type, and every answer —
 * success or refusal — in the API's shape. Refusals are `{"error":{code,message,details?}}`
 * with the status from contract/errors.ts, except the few statuses that only exist at the HTTP
 * layer (405, 413, 415), which {@link HttpRefusal} carries with the nearest error code.
 */
import type { IncomingMessage } from 'node:http';
import type { ErrorAnswer } from '../../contract/api.js';
import {
  httpStatusFor,
  InvalidInput,
  type AgendaError,
  type ErrorCode,
} from '../../contract/errors.js';

/** A refusal decided by the HTTP layer itself, with a status the error codes do not imply. */
export class HttpRefusal extends Error {
  override readonly name = 'HttpRefusal';

  constructor(
    readonly status: 405 | 413 | 415,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** What a refusal looks like on the wire: status, body, extra headers. */
export interface RefusalAnswer {
  readonly status: number;
  readonly body: ErrorAnswer;
  readonly headers: Readonly<Record<string, string>>;
}

/** The answer for an {@link AgendaError}: status from its code, details only when there are any. */
export function refusalOf(error: AgendaError | HttpRefusal): RefusalAnswer {
  if (error instanceof HttpRefusal) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message } },
      headers: error.headers,
    };
  }
  const wire = error.toWire();
  const details = wire.details as Readonly<Record<string, unknown>>;
  const headers: Record<string, string> = {};
  if (wire.code === 'rate_limited' && wire.details.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(wire.details.retryAfterMs / 1000)));
  }
  if (wire.code === 'unauthenticated') {
    // A header carries printable ASCII only, and this one a quoted string.
    const description = wire.message.replace(/[^\x20-\x7e]|["\\]/g, '?');
    headers['www-authenticate'] =
      `Bearer error="invalid_token", error_description="${description}"`;
  }
  return {
    status: httpStatusFor(error.code),
    body: {
      error: {
        code: wire.code,
        message: wire.message,
        ...(Object.keys(details).length > 0 ? { details } : {}),
      },
    },
    headers,
  };
}

/** The media types bodies may have. */
export type BodyType = 'json' | 'calendar' | 'xml';

const MEDIA_TYPES: Readonly<Record<BodyType, RegExp>> = {
  json: /^application\/json\s*(;|$)/i,
  calendar: /^text\/calendar\s*(;|$)/i,
  xml: /^(?:application|text)\/xml\s*(;|$)/i,
};

const MEDIA_TYPE_REFUSALS: Readonly<Record<BodyType, string>> = {
  json: 'the body must be JSON (content-type: application/json)',
  calendar: 'the body must be iCalendar (content-type: text/calendar)',
  xml: 'the body must be XML (content-type: application/xml)',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a whole body of at most `limit` bytes as UTF-8 text, or `null` when there is none.
 * The declared length is checked before reading a byte, and the real one while reading, so
 * a lying or endless upload is cut off at the limit.
 *
 * @throws HttpRefusal 415 for a body of another media type, 413 past the limit.
 * @throws InvalidInput when the bytes are not UTF-8.
 */
export async function readBody(
  req: IncomingMessage,
  type: BodyType,
  limit: number,
): Promise<string | null> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declared === undefined || declared === '0')) return null;
  const contentType = req.headers['content-type'] ?? '';
  if (!MEDIA_TYPES[type].test(contentType)) {
    throw new HttpRefusal(415, 'invalid', MEDIA_TYPE_REFUSALS[type]);
  }
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0) return null;
  try {
    return utf8.decode(Buffer.concat(chunks, size));
  } catch (error) {
    throw new InvalidInput('the body is not UTF-8 text', { cause: error });
  }
}

function tooLarge(limit: number): HttpRefusal {
  return new HttpRefusal(413, 'invalid', `the body is larger than ${limit} bytes`, {
    // The rest of the upload is not read: the connection cannot carry another request.
    connection: 'close',
  });
}
