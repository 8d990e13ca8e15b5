/**
 * The messaging protocol between gateways and the logic services, version 1: what travels on
 * Redis, under which keys, and how it is checked at the boundary.
 *
 * - Requests are entries of a per-service stream (`agenda:req:<service>`), one field `m`
 *   holding the JSON of a {@link BusRequest}. The request id is the end-to-end idempotency
 *   key: a re-sent request keeps it, and the services pass it on to the DB as the command's
 *   request id, so handling it twice has the effect of handling it once.
 * - Replies are published on the requesting gateway's channel (`agenda:reply:<gatewayId>`).
 * - Live notifications are published on the user's channel (`agenda:notify:<username>`).
 *
 * Decoding never throws: an entry or message that is not well-formed yields a reason, which
 * the receiver logs before dropping it, so one bad message can never wedge a consumer.
 */
import { z } from 'zod';
import { JsonText } from '../../base/json-text.js';
import type { WireError } from '../../contract/errors.js';

/** The protocol version this module speaks; anything else is refused. */
export const BUS_PROTOCOL_VERSION = 1;

/** The logic services that consume requests. */
export const SERVICE_NAMES = ['users', 'groups'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Longest request or gateway id: the DB's own request ids have the same bound. */
export const MAX_BUS_ID_LENGTH = 64;
/** Largest encoded envelope, in UTF-16 code units: far above any legitimate request. */
export const MAX_ENVELOPE_LENGTH = 4 * 1024 * 1024;
/** The stream entry field that carries the envelope. */
export const ENVELOPE_FIELD = 'm';

/** The stream a service's replicas consume requests from. */
export function requestStream(service: ServiceName): string {
  return `agenda:req:${service}`;
}

/** The consumer group shared by the replicas of a service (one group per stream). */
export function requestGroup(service: ServiceName): string {
  return `${service}-replicas`;
}

/** The pub/sub channel on which a gateway receives its replies. */
export function replyChannel(gatewayId: string): string {
  return `agenda:reply:${gatewayId}`;
}

/** The pub/sub channel carrying one user's live notifications. */
export function notificationChannel(username: string): string {
  return `agenda:notify:${username}`;
}

/**
 * A request from a gateway to a service. `op` is the service-level payload: this layer
 * carries it untouched, and the service validates it.
 */
export interface BusRequest<Op = unknown> {
  readonly v: typeof BUS_PROTOCOL_VERSION;
  /** End-to-end idempotency key; unchanged by re-sends and client retries. */
  readonly id: string;
  readonly service: ServiceName;
  /** The requesting gateway's id; the reply goes to {@link replyChannel}(replyTo). */
  readonly replyTo: string;
  /** Epoch milliseconds after which nobody waits for the answer any more. */
  readonly deadline: number;
  /** The authenticated user, or null for anonymous operations (register, login). */
  readonly actor: string | null;
  /**
   * The token the actor signed in with, as the client sent it: the service verifies it
   * again and takes the actor from it, never from `actor` alone (server/services/
   * service-handler.ts), so writing to Redis is not enough to act as a user. Absent for
   * anonymous operations.
   */
  readonly credential?: BusCredential;
  readonly op: Op;
}

/**
 * A user's token as it travels with a request: a session token, a feed token on its feed, or
 * a device token on CalDAV.
 */
export interface BusCredential {
  readonly kind: 'session' | 'feed' | 'device';
  readonly token: string;
}

/** An error as it crosses the bus: the code decides (see contract/errors.ts), the message explains. */
export interface BusError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What a service answers: a result, or a refusal or failure as an error code. */
export type ReplyOutcome<Result = unknown> =
  | { readonly ok: true; readonly result: Result }
  | { readonly ok: false; readonly error: BusError | WireError };

/** A reply, matched to its request by `id`. */
export type BusReply<Result = unknown> = {
  readonly v: typeof BUS_PROTOCOL_VERSION;
  readonly id: string;
} & ReplyOutcome<Result>;

/**
 * "Still working on it": a service handling a request for longer than its progress interval
 * says so on the reply channel, again every interval, so the gateway knows the request was
 * not lost and does not send it again (which, under load, would only add work).
 */
export interface BusProgress {
  readonly v: typeof BUS_PROTOCOL_VERSION;
  readonly id: string;
  readonly working: true;
}

/** A live update for one user; `update` is the services' business, carried untouched. */
export interface BusNotification<Update = unknown> {
  readonly v: typeof BUS_PROTOCOL_VERSION;
  readonly to: string;
  readonly update: Update;
}

/** Letters, digits, `_` and `-`: safe in Redis keys, logs and DB request ids alike. */
export const busId = z
  .string()
  .min(1)
  .max(MAX_BUS_ID_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'ids use letters, digits, "_" and "-"');

const version = z.literal(BUS_PROTOCOL_VERSION);
const username = z.string().min(1).max(200);
/** Present, whatever it is: `undefined` would vanish in JSON, so it is refused. */
const payload = z.custom<unknown>((value) => value !== undefined, 'required');

const requestSchema = z.strictObject({
  v: version,
  id: busId,
  service: z.enum(SERVICE_NAMES),
  replyTo: busId,
  deadline: z.int().positive(),
  actor: username.nullable(),
  credential: z
    .strictObject({
      kind: z.enum(['session', 'feed', 'device']),
      token: z.string().min(1).max(4096),
    })
    .optional(),
  op: payload,
});

const errorSchema = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(10_000),
  details: z.record(z.string(), z.unknown()).optional(),
});

const replySchema = z.discriminatedUnion('ok', [
  z.strictObject({ v: version, id: busId, ok: z.literal(true), result: payload }),
  z.strictObject({ v: version, id: busId, ok: z.literal(false), error: errorSchema }),
]);

const progressSchema = z.strictObject({ v: version, id: busId, working: z.literal(true) });
const replyOrProgressSchema = z.union([replySchema, progressSchema]);

const notificationSchema = z.strictObject({ v: version, to: username, update: payload });

/** The outcome of decoding: the value, or why it was refused (for the log line). */
export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function decodeJson<T>(schema: z.ZodType<T>, text: string, what: string): Decoded<T> {
  if (text.length > MAX_ENVELOPE_LENGTH) {
    return { ok: false, reason: `the ${what} is larger than ${MAX_ENVELOPE_LENGTH} characters` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, reason: `the ${what} is not JSON` };
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'v' in value &&
    value.v !== BUS_PROTOCOL_VERSION
  ) {
    return { ok: false, reason: `unsupported ${what} version ${JSON.stringify(value.v)}` };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    return { ok: false, reason: `malformed ${what}: ${field}${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, value: parsed.data };
}

/** The stream entry fields of a request. */
export function encodeRequest(request: BusRequest): [typeof ENVELOPE_FIELD, string] {
  return [ENVELOPE_FIELD, JSON.stringify(request)];
}

/**
 * A request from its stream entry fields (a flat `[name, value, …]` list as Redis returns
 * it). Extra fields are refused with the rest: a writer that adds them speaks another protocol.
 */
export function decodeRequest(fields: readonly string[]): Decoded<BusRequest> {
  if (fields.length !== 2 || fields[0] !== ENVELOPE_FIELD || fields[1] === undefined) {
    return { ok: false, reason: `a request entry has exactly one field "${ENVELOPE_FIELD}"` };
  }
  return decodeJson<BusRequest>(requestSchema, fields[1], 'request');
}

// A successful reply is written in exactly this shape, the result last, so that a relaying
// reader finds the result's text without parsing it (see decodeRelayedReply), which it keeps as a
// {@link JsonText}.
const okReplyHead = (id: string) =>
  `{"v":${BUS_PROTOCOL_VERSION},"id":${JSON.stringify(id)},"ok":true,"result":`;
const OK_REPLY_HEAD = new RegExp(
  `^\\{"v":${BUS_PROTOCOL_VERSION},"id":"([A-Za-z0-9_-]{1,${MAX_BUS_ID_LENGTH}})","ok":true,"result":`,
);

/** The pub/sub message of a reply. */
export function encodeReply(reply: BusReply): string {
  // A result that is not JSON (undefined) leaves the field out, and the reply is refused as
  // malformed by its reader, as ever.
  if (!reply.ok || reply.result === undefined) return JSON.stringify(reply);
  const result =
    reply.result instanceof JsonText ? reply.result.text : JSON.stringify(reply.result);
  return `${okReplyHead(reply.id)}${result}}`;
}

/** A reply, or a progress notice, from its pub/sub message. */
export function decodeReply(message: string): Decoded<BusReply | BusProgress> {
  return decodeJson<BusReply | BusProgress>(replyOrProgressSchema, message, 'reply');
}

/**
 * As {@link decodeReply}, but a successful reply's result is its {@link JsonText}, not
 * parsed: the envelope written by {@link encodeReply} is checked, and the result's text is
 * trusted to be the JSON its service wrote (services are the only writers of reply channels:
 * `acl.ts`). Anything else (refusals, progress notices) is decoded in full.
 */
export function decodeRelayedReply(message: string): Decoded<BusReply | BusProgress> {
  if (message.length <= MAX_ENVELOPE_LENGTH && message.endsWith('}')) {
    const head = OK_REPLY_HEAD.exec(message.slice(0, 128));
    if (head?.[1] !== undefined) {
      const text = message.slice(head[0].length, -1);
      if (text.length > 0) {
        return {
          ok: true,
          value: { v: BUS_PROTOCOL_VERSION, id: head[1], ok: true, result: new JsonText(text) },
        };
      }
    }
  }
  return decodeReply(message);
}

/** The pub/sub message of a progress notice. */
export function encodeProgress(id: string): string {
  const progress: BusProgress = { v: BUS_PROTOCOL_VERSION, id, working: true };
  return JSON.stringify(progress);
}

/** Whether a decoded reply message is a progress notice rather than the answer. */
export function isProgress(message: BusReply | BusProgress): message is BusProgress {
  return 'working' in message;
}

/** The pub/sub message of a notification. */
export function encodeNotification(notification: BusNotification): string {
  return JSON.stringify(notification);
}

/** A notification from its pub/sub message. */
export function decodeNotification(message: string): Decoded<BusNotification> {
  return decodeJson<BusNotification>(notificationSchema, message, 'notification');
}
