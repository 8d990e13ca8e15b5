/**
 * Complete HTTP answers, written in one go with their length and `cache-control: no-store`
 * (nothing here is cacheable: every answer is the state of the moment). One copy for the
 * gateway, the DB members' API and the VIP agents' status server.
 */
import type { ServerResponse } from 'node:http';

/** Writes a complete JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** {@link sendJson} for a body that is JSON text already. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  payload: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendText(res, status, 'application/json; charset=utf-8', payload, headers);
}

/**
 * A JSON answer written as the bytes of its `parts` in order (one of them the bytes of a
 * document the process did not parse: they go to the socket as they are).
 */
export function sendJsonParts(
  res: ServerResponse,
  status: number,
  parts: readonly Uint8Array[],
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': parts.reduce((n, part) => n + part.byteLength, 0),
    'cache-control': 'no-store',
    ...headers,
  });
  for (const part of parts.slice(0, -1)) res.write(part);
  res.end(parts.at(-1));
}

/** Writes a complete text answer of the given media type. */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
