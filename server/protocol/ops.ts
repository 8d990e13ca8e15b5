/**
 * What the gateway asks the logic services to do: the `op` carried by a bus request
 * (server/bus). Gateways turn HTTPS requests into these after validating them and
 * resolving times; services validate them again at their boundary ({@link parseOp}).
 *
 * Most operations are store commands and queries passed through (`command`, `query`): the
 * service adds fresh ids and the request id, sends them to the DB service, answers, and
 * publishes the resulting notifications. The others need the service's own work: password
 * hashing and tokens (`account.*`), iCalendar parsing (`agenda.import`, CalDAV's `dav.put`),
 * feed tokens, devices' app passwords (`device.*`).
 *
 * Routing: `groups` handles group management and group events (`group.*` commands and
 * queries, `event.create` with a `group`); `users` handles everything else.
 */
import { z } from 'zod';
import { InvalidInput } from '../../contract/errors.js';
import { parseCommand, parseQuery, type CommandBody, type QueryBody } from '../store/protocol.js';

export type ServiceName = 'users' | 'groups';

export type Op =
  | {
      readonly type: 'account.register';
      readonly username: string;
      readonly password: string;
      readonly name?: string;
    }
  | { readonly type: 'account.login'; readonly username: string; readonly password: string }
  /** Renews the session a refresh token names: new access and refresh tokens. */
  | { readonly type: 'account.refresh'; readonly refreshToken: string }
  | { readonly type: 'account.me' }
  | { readonly type: 'command'; readonly body: CommandBody }
  | { readonly type: 'query'; readonly body: QueryBody }
  | {
      readonly type: 'agenda.import';
      readonly ics: string;
      readonly allowConflict?: boolean;
      readonly defaultTimeZone?: string;
      /** The visibility of the events whose VEVENT says no CLASS (default public). */
      readonly defaultVisibility?: 'public' | 'busy' | 'private';
    }
  | { readonly type: 'feed.create'; readonly label?: string }
  | { readonly type: 'feed.list' }
  | { readonly type: 'feed.revoke'; readonly id: string }
  /** A device's app password, made at random and answered once (server/users/device-passwords.ts). */
  | { readonly type: 'device.create'; readonly label?: string }
  | { readonly type: 'device.list' }
  | { readonly type: 'device.revoke'; readonly id: string }
  /**
   * A CalDAV client's PUT of one calendar object to `<name>.ics` (server/store/dav-writes.ts),
   * on the conditions of its If-Match and If-None-Match headers (entity tags, or `*`).
   */
  | {
      readonly type: 'dav.put';
      readonly name: string;
      readonly ics: string;
      readonly ifMatch?: readonly string[];
      readonly ifNoneMatch?: readonly string[];
    }
  /** A CalDAV client's username and app password, answered with a device token. */
  | { readonly type: 'device.authenticate'; readonly username: string; readonly password: string }
  /** Ends the session the request's token names. */
  | { readonly type: 'account.logout' }
  /** Ends every session and starts a new one (answered as a login). */
  | {
      readonly type: 'account.changePassword';
      readonly currentPassword: string;
      readonly newPassword: string;
    }
  /** Deletes the account, after checking its current password (server/domain/accounts.ts). */
  | { readonly type: 'account.delete'; readonly password: string };

const opSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('account.register'),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
    name: z.string().max(200).optional(),
  }),
  z.strictObject({
    type: z.literal('account.login'),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  }),
  z.strictObject({ type: z.literal('account.refresh'), refreshToken: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal('account.me') }),
  z.strictObject({ type: z.literal('command'), body: z.unknown() }),
  z.strictObject({ type: z.literal('query'), body: z.unknown() }),
  z.strictObject({
    type: z.literal('agenda.import'),
    ics: z.string().max(8 << 20),
    allowConflict: z.boolean().optional(),
    defaultTimeZone: z.string().max(100).optional(),
    defaultVisibility: z.enum(['public', 'busy', 'private']).optional(),
  }),
  z.strictObject({ type: z.literal('feed.create'), label: z.string().max(200).optional() }),
  z.strictObject({ type: z.literal('feed.list') }),
  z.strictObject({ type: z.literal('feed.revoke'), id: z.string().min(1).max(64) }),
  z.strictObject({
    type: z.literal('dav.put'),
    name: z.string().min(1).max(500),
    // One calendar object: the gateway reads at most MAX_IMPORT_CHUNK_BYTES of it.
    ics: z.string().max(1 << 20),
    ifMatch: z.array(z.string().min(1).max(200)).min(1).max(20).optional(),
    ifNoneMatch: z.array(z.string().min(1).max(200)).min(1).max(20).optional(),
  }),
  z.strictObject({ type: z.literal('device.create'), label: z.string().max(200).optional() }),
  z.strictObject({ type: z.literal('device.list') }),
  z.strictObject({ type: z.literal('device.revoke'), id: z.string().min(1).max(64) }),
  z.strictObject({
    type: z.literal('device.authenticate'),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  }),
  z.strictObject({ type: z.literal('account.logout') }),
  z.strictObject({
    type: z.literal('account.changePassword'),
    currentPassword: z.string().min(1).max(1024),
    newPassword: z.string().min(1).max(1024),
  }),
  z.strictObject({ type: z.literal('account.delete'), password: z.string().min(1).max(1024) }),
]);

/**
 * Validates an op received from the bus. Store bodies are checked with the store's own
 * schemas (the envelope fields around them are placeholders, checked only for shape).
 * @throws InvalidInput naming the field at fault.
 */
export function parseOp(value: unknown): Op {
  const parsed = opSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'op';
    throw new InvalidInput(`${field}: ${issue?.message ?? 'malformed'}`, { field });
  }
  const op = parsed.data;
  if (op.type === 'command') {
    const cmd = parseCommand({ v: 1, requestId: 'x', actor: null, at: 0, ids: [], body: op.body });
    return { type: 'command', body: cmd.body };
  }
  if (op.type === 'query') {
    const q = parseQuery({ v: 1, actor: null, at: 0, body: op.body });
    return { type: 'query', body: q.body };
  }
  return op;
}

/** Which service handles an op. */
export function serviceFor(op: Op): ServiceName {
  if (op.type === 'command') {
    const t = op.body.type;
    if (t.startsWith('group.')) return 'groups';
    if (t === 'event.create' && op.body.group !== undefined) return 'groups';
    return 'users';
  }
  if (op.type === 'query' && op.body.type.startsWith('group.')) return 'groups';
  return 'users';
}
