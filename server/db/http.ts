/**
 * The few HTTP helpers the DB service needs beyond `base/http-answer.ts`: bounded JSON bodies
 * and uniform JSON errors.
 * Every refusal is `{"error":{"code","message","details"?}}` with a status from the one
 * mapping in contract/errors.ts, so a malformed request gets a reason, never a crash.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../base/http-answer.js';
import { httpStatusFor, type ErrorCode } from '../../contract/errors.js';

/** A refusal at the HTTP layer (before or around the store). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  static of(code: ErrorCode, message: string, details?: Record<string, unknown>): HttpError {
    return new HttpError(httpStatusFor(code), code, message, details);
  }
}

/** Reads a JSON body of at most `limit` bytes; refuses other content types and bad JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'invalid', 'the body must be JSON (content-type: application/json)');
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(413, 'invalid', `the body is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.destroy();
      throw new HttpError(413, 'invalid', `the body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw HttpError.of('invalid', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendError(
  res: ServerResponse,
  err: HttpError,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(
    res,
    err.status,
    {
      error: {
        code: err.code,
        message: err.message,
        ...(err.details ? { details: err.details } : {}),
      },
    },
    headers,
  );
}
