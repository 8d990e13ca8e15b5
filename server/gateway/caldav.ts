/**
 * CalDAV (RFC 4791, on WebDAV, RFC 4918) on the gateway's HTTPS listener, so people's own
 * calendar apps can read their Agenda: the design is in ./CALDAV.md.
 *
 * Each user has one principal and one calendar, their own agenda:
 *
 *     /.well-known/caldav                 → 301 to /dav/ (RFC 6764)
 *     /dav/                               the root: who you are (current-user-principal)
 *     /dav/principals/<user>/             the principal: where the calendars are
 *     /dav/calendars/<user>/              the calendar home
 *     /dav/calendars/<user>/agenda/       the calendar collection
 *     /dav/calendars/<user>/agenda/<name>.ics one event series with its changed occurrences,
 *                                         named by its UID (calendar-resources.ts)
 *
 * Clients sign in with HTTP Basic: their username and a device's app password
 * (`agenda device add`), never the account password. The users service checks the app
 * password once and answers a short-lived device token, which this gateway keeps for the
 * client's next requests (in memory, by a hash of the credentials); every request then reads
 * the store with that token, and the store refuses it as soon as the device is revoked, the
 * password changed or the account deleted. Wrong passwords count as failed logins
 * (./abuse-limits.ts), and requests as the user's requests.
 *
 * Reads are PROPFIND, REPORT (calendar-query with time-range, calendar-multiget,
 * sync-collection in ./dav-sync.ts), GET and HEAD; writes are PUT of one event (its organizer's import of it, an attendee's answer) and
 * DELETE (cancel or decline), each checking If-Match / If-None-Match inside the store command
 * that writes (server/store/dav-writes.ts). Anything else answers 405 with what is allowed.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  type AgendaError,
  httpStatusFor,
  InvalidInput,
  isAgendaError,
  NotFound,
  Forbidden,
  Unauthenticated,
} from '../../contract/errors.js';
import {
  EARLIEST_INSTANT,
  LATEST_INSTANT,
  MAX_CALENDAR_RESOURCES_PER_READ,
  MAX_IMPORT_CHUNK_BYTES,
} from '../../contract/limits.js';
import { ALLOW_CONFLICT_HINT } from '../domain/index.js';
import type { Op } from '../protocol/ops.js';
import type { PasswordCheck } from './abuse-limits.js';
import type { Identity } from './authentication.js';
import {
  currentSyncToken,
  syncCollection,
  syncResult,
  wantsSyncToken,
  type DavSyncRead,
  type SyncReader,
  type SyncResult,
} from './dav-sync.js';
import {
  CALDAV_NS,
  CALENDARSERVER_NS,
  childNamed,
  DAV_NS,
  davError,
  escapeXmlText,
  isNamed,
  multistatusParts,
  parseXml,
  propertyTag,
  type DavParts,
  type DavResponse,
  type PropStat,
  type XmlElement,
} from './dav-xml.js';

/** Where the CalDAV tree starts; RFC 6764's well-known URL redirects here. */
export const DAV_ROOT = '/dav/';
export const WELL_KNOWN_CALDAV = '/.well-known/caldav';
/** The one calendar of each user: their agenda. */
export const CALENDAR_SEGMENT = 'agenda';

/** The methods answered. */
const ALLOWED = 'OPTIONS, GET, HEAD, PROPFIND, REPORT, PUT, DELETE';
/**
 * The largest calendar object a PUT writes, in bytes: one import request's
 * (`MAX_IMPORT_CHUNK_BYTES`, 1 MiB), which one event with its changed occurrences never
 * needs; past it the gateway answers 413 without reading on.
 */
export const MAX_CALENDAR_OBJECT_BYTES = MAX_IMPORT_CHUNK_BYTES;
/** The namespace of Agenda's own preconditions in DAV:error bodies. */
export const AGENDA_NS = 'https://agenda.invalid/ns/caldav';
/** Longest resource name read from a path: a UID (at most 500 characters) or an event id. */
const MAX_NAME = 500;
/** What OPTIONS says this server speaks. */
const DAV_CLASSES = '1, calendar-access';
/** The realm of the Basic challenge. */
const REALM = 'Basic realm="Agenda", charset="UTF-8"';

/** Sign-ins remembered (by a hash of username and app password), at most. */
const SIGN_IN_CACHE_SIZE = 10_000;
/** A remembered device token is not used this close to its expiry: the client signs in again. */
const SIGN_IN_MARGIN_MS = 60_000;
/** The longest username and app password read from a Basic header. */
const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;

/** Whether the gateway hands `path` to CalDAV. */
export function isDavPath(path: string): boolean {
  return path === WELL_KNOWN_CALDAV || path === '/dav' || path.startsWith(DAV_ROOT);
}

/** One CalDAV request as the gateway hands it over. */
export interface DavRequest {
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The client's address, as the abuse limits count it. */
  readonly address: string;
  /**
   * The body, null when there is none: XML (at most `XML_LIMITS.maxLength`) or, for a PUT,
   * iCalendar (at most {@link MAX_CALENDAR_OBJECT_BYTES}). Another media type is refused.
   */
  body(kind?: 'xml' | 'calendar'): Promise<string | null>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** A complete answer for the gateway to write. */
export interface DavAnswer {
  readonly status: number;
  /**
   * The status line's reason phrase, when it says more than the status's name: printable
   * ASCII only ({@link statusPhrase}).
   */
  readonly reason?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Text, or a multistatus's parts (`multistatusParts`), made as the gateway writes them. */
  readonly body: string | DavParts;
}

/** What CalDAV needs of the gateway. */
export interface CalDavPorts {
  /** Admits a check of `username`'s app password from `address`, counted as a failed login until forgiven. */
  admitPasswordCheck(username: string, address: string): Promise<PasswordCheck>;
  /** Counts one request of `actor`; throws `RateLimited` past the limit. */
  admitRequest(actor: string): Promise<void>;
  /** Checks a device token the users service issued. */
  verifyDeviceToken(token: string): Promise<Identity>;
  /**
   * Sends `op` as `identity` (null: as nobody) and answers the service's result; `write` when
   * it may change something (a lost answer is then not retried blindly).
   */
  call(
    op: Op,
    identity: Identity | null,
    signal: AbortSignal,
    options?: { readonly write: boolean },
  ): Promise<unknown>;
  /** Epoch ms; `Date.now` unless a test says otherwise. */
  readonly clock?: () => number;
}

/** What a request is about, from its path. */
type Target =
  | { readonly kind: 'root' }
  | { readonly kind: 'principal'; readonly user: string }
  | { readonly kind: 'home'; readonly user: string }
  | { readonly kind: 'calendar'; readonly user: string }
  | { readonly kind: 'event'; readonly user: string; readonly name: string };

/** A property's name. */
interface PropName {
  readonly namespace: string;
  readonly name: string;
}

/** What a PROPFIND (or a REPORT's `prop`) asks for. */
export type PropRequest =
  | { readonly kind: 'all' }
  | { readonly kind: 'names' }
  | { readonly kind: 'some'; readonly names: readonly PropName[] };

const signInResult = z.object({ token: z.string().min(1), expiresAt: z.number() });
const calendarResult = z.object({
  ctag: z.string(),
  truncated: z.boolean(),
  resources: z.array(
    z.object({ id: z.string(), name: z.string(), etag: z.string(), ics: z.string().optional() }),
  ),
});
type CalendarRead = z.infer<typeof calendarResult>;
const writeResult = z.union([
  z.object({
    outcome: z.enum(['created', 'updated', 'deleted']),
    name: z.string(),
    etag: z.string().nullable(),
  }),
  z.object({ outcome: z.literal('precondition-failed'), etag: z.string().nullable() }),
  z.object({ outcome: z.literal('elsewhere'), name: z.string() }),
]);
type WriteResult = z.infer<typeof writeResult>;

/** The hrefs of a user's resources. */
export const davHrefs = {
  principal: (user: string) => `${DAV_ROOT}principals/${encodeURIComponent(user)}/`,
  home: (user: string) => `${DAV_ROOT}calendars/${encodeURIComponent(user)}/`,
  calendar: (user: string) => `${davHrefs.home(user)}${CALENDAR_SEGMENT}/`,
  event: (user: string, name: string) =>
    `${davHrefs.calendar(user)}${encodeURIComponent(name)}.ics`,
};

/** Serves CalDAV requests; one per gateway, holding the sign-ins it remembers. */
export class CalDav {
  private readonly signIns = new Map<string, { token: string; expiresAt: number }>();
  /** The sign-in in flight for each set of credentials (by the same key as `signIns`). */
  private readonly signingIn = new Map<string, Promise<{ token: string; expiresAt: number }>>();
  private readonly clock: () => number;

  constructor(private readonly ports: CalDavPorts) {
    this.clock = ports.clock ?? Date.now;
  }

  /** Answers `request`; a refusal is an answer too. Anything else thrown is a bug (500). */
  async handle(request: DavRequest): Promise<DavAnswer> {
    try {
      return await this.answer(request);
    } catch (error) {
      if (error instanceof DavPrecondition) {
        return {
          status: error.status,
          headers: { 'content-type': XML_TYPE },
          body: davError(error.precondition, error.message),
        };
      }
      if (isAgendaError(error) && error.code === 'conflict') {
        // A write the calendar's rules refuse for what is in the way: our own precondition,
        // with the reason naming the occurrences in the way, also on the status line, which
        // is all some clients show (vdirsyncer: "409, message='…'").
        const conflict = conflictReason(error);
        return {
          status: 409,
          reason: conflict.phrase,
          headers: { 'content-type': XML_TYPE },
          body: davError(`<a:no-conflict xmlns:a="${AGENDA_NS}"/>`, conflict.description),
        };
      }
      if (isAgendaError(error)) return refusal(error.code, error.message, error);
      throw error;
    }
  }

  private async answer(request: DavRequest): Promise<DavAnswer> {
    const { method, path } = request;
    if (path === WELL_KNOWN_CALDAV) {
      return { status: 301, headers: { location: DAV_ROOT }, body: '' };
    }
    if (method === 'OPTIONS') {
      return { status: 200, headers: { dav: DAV_CLASSES, allow: ALLOWED }, body: '' };
    }
    const target = targetOf(path);
    // Who asks comes first: a stranger learns nothing about what a request would need.
    const { identity, key } = await this.identify(request);
    await this.ports.admitRequest(identity.actor);
    if (target.kind !== 'root' && target.user !== identity.actor) {
      throw new Forbidden('a device opens only its own user’s calendar');
    }
    const read = (body: DavRead) => this.read(identity, key, body, request.signal);
    const sync = (body: DavSyncRead) => this.syncRead(identity, key, body, request.signal);
    const write = (op: Op) => this.write(identity, key, op, request.signal);
    switch (method) {
      case 'GET':
      case 'HEAD':
        return this.get(target, request, read);
      case 'PROPFIND':
        return this.propfind(target, identity.actor, request, read, sync);
      case 'REPORT':
        return this.report(target, identity.actor, request, read, sync);
      case 'PUT':
        return this.put(target, identity.actor, request, write);
      case 'DELETE':
        return this.delete(target, request, write);
      default:
        return {
          status: 405,
          headers: { allow: ALLOWED, 'content-type': 'text/plain; charset=utf-8' },
          body: `${method} is not allowed here: events are written with PUT and removed with DELETE; calendars are not made, moved or changed over CalDAV\n`,
        };
    }
  }

  /** A write as the device; a refused token forgets the sign-in. */
  private async write(
    identity: Identity,
    key: string,
    op: Op,
    signal: AbortSignal,
  ): Promise<WriteResult> {
    let answer: unknown;
    try {
      answer = await this.ports.call(op, identity, signal, { write: true });
    } catch (error) {
      if (isAgendaError(error) && error.code === 'unauthenticated') this.signIns.delete(key);
      throw error;
    }
    const parsed = writeResult.safeParse(answer);
    if (!parsed.success) throw new Error('the service answered a write in an unexpected shape');
    return parsed.data;
  }

  /**
   * PUT of one event to `<name>.ics`: 201 when it made the resource, 204 when it changed it
   * (or found nothing to change), with its ETag; 412 when a precondition fails in the store;
   * 308 to its UID's name when a new event is written elsewhere.
   */
  private async put(
    target: Target,
    actor: string,
    request: DavRequest,
    write: Writer,
  ): Promise<DavAnswer> {
    if (target.kind !== 'event') return notAResource('PUT');
    const ics = await request.body('calendar');
    if (ics === null) throw new InvalidInput('a PUT carries the event as text/calendar');
    const result = await write({
      type: 'dav.put',
      name: target.name,
      ics,
      ...conditions(request),
    });
    if (result.outcome === 'precondition-failed') return preconditionRefusal(result.etag);
    if (result.outcome === 'elsewhere') {
      // 308 keeps the method and the body (RFC 9110 §15.4.9): clients that follow it
      // (vdirsyncer's aiohttp, python-caldav's requests) write the event where it lives and
      // keep the href they were answered from. The others are told where, as a refusal.
      const href = davHrefs.event(actor, result.name);
      return {
        status: 308,
        headers: { location: href, 'content-type': 'text/plain; charset=utf-8' },
        body: `a new event lives at its UID's name: this one's UID is "${result.name}", so it is written to ${href}\n`,
      };
    }
    return {
      status: result.outcome === 'created' ? 201 : 204,
      headers: result.etag === null ? {} : { etag: result.etag },
      body: '',
    };
  }

  /** DELETE of `<name>.ics`: the organizer cancels the event, an attendee declines it. */
  private async delete(target: Target, request: DavRequest, write: Writer): Promise<DavAnswer> {
    if (target.kind !== 'event') return notAResource('DELETE');
    const { ifMatch } = conditions(request);
    const result = await write({
      type: 'command',
      body: {
        type: 'dav.delete',
        name: target.name,
        ...(ifMatch === undefined ? {} : { ifMatch }),
      },
    });
    if (result.outcome === 'precondition-failed') return preconditionRefusal(result.etag);
    return { status: 204, headers: {}, body: '' };
  }

  /**
   * The device identity of the request's Basic credentials: a remembered sign-in, or a new
   * one through the users service, admitted and counted as a login is.
   */
  private async identify(request: DavRequest): Promise<{ identity: Identity; key: string }> {
    const { username, password } = basicCredentials(request.header('authorization'));
    const key = createHash('sha256').update(`${username}\0${password}`, 'utf8').digest('base64');
    const known = this.signIns.get(key);
    if (known !== undefined) {
      if (known.expiresAt - SIGN_IN_MARGIN_MS > this.clock()) {
        try {
          return { identity: await this.ports.verifyDeviceToken(known.token), key };
        } catch {
          // Signed again below.
        }
      }
      this.signIns.delete(key);
    }
    // Requests with the same credentials share one check. Each check counts as a failed
    // guess until its answer forgives it, so a calendar app's first sync (16 requests at
    // once, all with the right password) had its 11th refused as "too many failed logins",
    // with a retry-after of 15 minutes (outside attack).
    const pending = this.signingIn.get(key);
    if (pending !== undefined) {
      try {
        const signIn = await pending;
        return { identity: await this.ports.verifyDeviceToken(signIn.token), key };
      } catch (error) {
        // What the check said of these credentials holds for this request too; a check
        // that ended for another reason (its own client left, no service answered) is
        // tried again for this one.
        if (isAgendaError(error) && ['unauthenticated', 'rate_limited'].includes(error.code)) {
          throw error;
        }
      }
    }
    const signingIn = this.signIn(username, password, request);
    this.signingIn.set(key, signingIn);
    try {
      const signIn = await signingIn;
      if (this.signIns.size >= SIGN_IN_CACHE_SIZE) {
        const oldest = this.signIns.keys().next().value;
        if (oldest !== undefined) this.signIns.delete(oldest);
      }
      this.signIns.set(key, signIn);
      return { identity: await this.ports.verifyDeviceToken(signIn.token), key };
    } finally {
      if (this.signingIn.get(key) === signingIn) this.signingIn.delete(key);
    }
  }

  /** One check of a device's app password, counted as a failed login unless right. */
  private async signIn(
    username: string,
    password: string,
    request: DavRequest,
  ): Promise<{ token: string; expiresAt: number }> {
    const check = await this.ports.admitPasswordCheck(username, request.address);
    try {
      let answer: unknown;
      try {
        answer = await this.ports.call(
          { type: 'device.authenticate', username, password },
          null,
          request.signal,
        );
      } catch (error) {
        // Only a wrong password is a failed guess.
        if (!(isAgendaError(error) && error.code === 'unauthenticated')) await check.forgive();
        throw error;
      }
      await check.forgive();
      const signIn = signInResult.safeParse(answer);
      if (!signIn.success)
        throw new Error('the users service answered a sign-in in an unexpected shape');
      return signIn.data;
    } finally {
      check.end();
    }
  }

  /** Reads the calendar as the device; a refused token forgets the sign-in. */
  private async read(
    identity: Identity,
    key: string,
    body: DavRead,
    signal: AbortSignal,
  ): Promise<CalendarRead> {
    let answer: unknown;
    try {
      answer = await this.ports.call(
        { type: 'query', body: { type: 'dav.calendar', ...body } },
        identity,
        signal,
      );
    } catch (error) {
      if (isAgendaError(error) && error.code === 'unauthenticated') this.signIns.delete(key);
      throw error;
    }
    const parsed = calendarResult.safeParse(answer);
    if (!parsed.success)
      throw new Error('the service answered the calendar in an unexpected shape');
    return parsed.data;
  }

  /** What changed since a sync token (./dav-sync.ts), as the device; as {@link read}. */
  private async syncRead(
    identity: Identity,
    key: string,
    body: DavSyncRead,
    signal: AbortSignal,
  ): Promise<SyncResult> {
    let answer: unknown;
    try {
      answer = await this.ports.call(
        { type: 'query', body: { type: 'dav.sync', ...body } },
        identity,
        signal,
      );
    } catch (error) {
      if (isAgendaError(error) && error.code === 'unauthenticated') this.signIns.delete(key);
      throw error;
    }
    const parsed = syncResult.safeParse(answer);
    if (!parsed.success) throw new Error('the service answered a sync in an unexpected shape');
    return parsed.data;
  }

  private async get(target: Target, request: DavRequest, read: Reader): Promise<DavAnswer> {
    if (target.kind !== 'event') {
      return {
        status: 405,
        headers: {
          allow: 'OPTIONS, PROPFIND, REPORT',
          'content-type': 'text/plain; charset=utf-8',
        },
        body: 'a collection has no body to GET: list it with PROPFIND or REPORT\n',
      };
    }
    const { resources } = await read({ names: [target.name], data: true });
    const resource = resources[0];
    if (resource?.ics === undefined) throw new NotFound(`no event ${target.name} in this calendar`);
    const headers = { etag: resource.etag };
    if (matchesAny(request.header('if-none-match'), resource.etag)) {
      return { status: 304, headers, body: '' };
    }
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'text/calendar; charset=utf-8' },
      body: resource.ics,
    };
  }

  private async propfind(
    target: Target,
    actor: string,
    request: DavRequest,
    read: Reader,
    sync: SyncReader,
  ): Promise<DavAnswer> {
    const depth = depthOf(request.header('depth'));
    if (depth === 'infinity') {
      return preconditionFailed(
        403,
        '<d:propfind-finite-depth/>',
        'PROPFIND with Depth: infinity is refused; ask with Depth 0 or 1',
      );
    }
    const asked = parsePropfind(await request.body());
    // DAV:sync-token costs a pass over the user's events: read only when asked for.
    const syncToken = async () =>
      wantsSyncToken(asked) ? await currentSyncToken(sync) : undefined;
    const responses: DavResponse[] = [];
    switch (target.kind) {
      case 'root':
        responses.push(respond(DAV_ROOT, rootProperties(actor), asked));
        await read({ names: [], data: false });
        break;
      case 'principal':
        responses.push(respond(davHrefs.principal(actor), principalProperties(actor), asked));
        await read({ names: [], data: false });
        break;
      case 'home': {
        responses.push(respond(davHrefs.home(actor), homeProperties(actor), asked));
        const { ctag } = await read({ names: [], data: false });
        if (depth === '1') {
          responses.push(
            respond(
              davHrefs.calendar(actor),
              calendarProperties(actor, ctag, await syncToken()),
              asked,
            ),
          );
        }
        break;
      }
      case 'calendar': {
        const listing =
          depth === '1' ? await read({ data: false }) : await read({ names: [], data: false });
        responses.push(
          respond(
            davHrefs.calendar(actor),
            calendarProperties(actor, listing.ctag, await syncToken()),
            asked,
          ),
        );
        for (const resource of listing.resources) {
          responses.push(
            respond(davHrefs.event(actor, resource.name), eventProperties(resource), asked),
          );
        }
        if (listing.truncated) responses.push(truncatedResponse(actor));
        break;
      }
      case 'event': {
        const { resources } = await read({ names: [target.name], data: false });
        const resource = resources[0];
        if (resource === undefined) throw new NotFound(`no event ${target.name} in this calendar`);
        responses.push(
          respond(davHrefs.event(actor, resource.name), eventProperties(resource), asked),
        );
        break;
      }
    }
    return multistatusAnswer(responses);
  }

  private async report(
    target: Target,
    actor: string,
    request: DavRequest,
    read: Reader,
    sync: SyncReader,
  ): Promise<DavAnswer> {
    if (target.kind !== 'calendar') {
      return preconditionFailed(
        403,
        '<d:supported-report/>',
        'reports are answered on the calendar collection only',
      );
    }
    const text = await request.body();
    if (text === null) throw new InvalidInput('a REPORT needs an XML body');
    const root = parseXml(text);
    if (isNamed(root, DAV_NS, 'sync-collection')) return syncCollection(root, actor, sync);
    if (isNamed(root, CALDAV_NS, 'calendar-query')) {
      const asked = reportProperties(root);
      const filter = parseCalendarFilter(root);
      if (filter.kind === 'none') return multistatusAnswer([]);
      const listing = await read({
        ...(filter.window === null ? {} : { from: filter.window.start, to: filter.window.end }),
        data: wantsData(asked),
      });
      // Made as the answer is written (multistatusParts): each resource's text is escaped
      // when its part is due, not all of a read's megabytes in one turn of the event loop.
      function* responses(): Generator<DavResponse> {
        for (const r of listing.resources) {
          yield respond(davHrefs.event(actor, r.name), eventProperties(r), asked);
        }
        if (listing.truncated) yield truncatedResponse(actor);
      }
      return multistatusAnswer(responses());
    }
    if (isNamed(root, CALDAV_NS, 'calendar-multiget')) {
      const asked = reportProperties(root);
      const hrefs = root.children
        .filter((c) => isNamed(c, DAV_NS, 'href'))
        .map((c) => c.text.trim());
      if (hrefs.length > MAX_CALENDAR_RESOURCES_PER_READ) {
        throw new InvalidInput(
          `a calendar-multiget asks for at most ${MAX_CALENDAR_RESOURCES_PER_READ} resources, not ${hrefs.length}`,
        );
      }
      const names = new Map<string, string>();
      for (const href of hrefs) {
        const name = eventNameOf(href, actor);
        if (name !== null) names.set(href, name);
      }
      // A read stops at its size limit (`truncated`): the names it did not reach are read
      // again, until all are answered or one read reaches none of them. A name the store
      // did not reach is not missing: answered 404, a syncing client would delete it.
      const byName = new Map<string, CalendarRead['resources'][number]>();
      let pending = [...new Set(names.values())];
      let unreached = new Set<string>();
      while (pending.length > 0) {
        const listing = await read({ names: pending, data: wantsData(asked) });
        // Answered under the name asked for: an old id-named href is an alias (the store's).
        for (const resource of listing.resources) byName.set(resource.name, resource);
        const left = pending.filter((name) => !byName.has(name));
        if (!listing.truncated) break;
        if (left.length === pending.length) {
          unreached = new Set(left);
          break;
        }
        pending = left;
      }
      function* responses(): Generator<DavResponse> {
        for (const href of hrefs) {
          const name = names.get(href);
          const resource = name === undefined ? undefined : byName.get(name);
          if (resource !== undefined) {
            yield respond(davHrefs.event(actor, resource.name), eventProperties(resource), asked);
          } else if (name !== undefined && unreached.has(name)) {
            yield { href, status: 507, error: '<d:number-of-matches-within-limits/>' };
          } else yield { href, status: 404 };
        }
      }
      return multistatusAnswer(responses());
    }
    return preconditionFailed(
      403,
      '<d:supported-report/>',
      `the ${root.name} report is not supported: ask with calendar-query, calendar-multiget or sync-collection`,
    );
  }
}

/** What the calendar read asks the store (the `dav.calendar` query, less its type). */
type DavRead = {
  readonly from?: number;
  readonly to?: number;
  readonly names?: readonly string[];
  readonly data: boolean;
};
type Reader = (body: DavRead) => Promise<CalendarRead>;
type Writer = (op: Op) => Promise<WriteResult>;

/** A write aimed at a collection: only events are written. */
function notAResource(method: string): DavAnswer {
  return {
    status: 405,
    headers: {
      allow: 'OPTIONS, PROPFIND, REPORT',
      'content-type': 'text/plain; charset=utf-8',
    },
    body: `${method} writes an event, <name>.ics in the calendar, not a collection\n`,
  };
}

/** 412, saying which tag the resource has (or that there is none). */
function preconditionRefusal(etag: string | null): DavAnswer {
  return {
    status: 412,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body:
      etag === null
        ? 'the precondition failed: there is no such event (If-Match names a tag it does not have)\n'
        : `the precondition failed: the event's tag is now ${etag} (it changed since you read it, or it exists already)\n`,
  };
}

/**
 * The conditions of a write, from If-Match and If-None-Match: lists of entity tags (weak
 * ones compared as strong, RFC 9110 lets a server) or `*`, checked by the store.
 */
function conditions(request: DavRequest): {
  ifMatch?: readonly string[];
  ifNoneMatch?: readonly string[];
} {
  const tags = (name: string): readonly string[] | undefined => {
    const header = request.header(name);
    if (header === undefined) return undefined;
    const list = header
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .filter((t) => t !== '');
    if (list.length === 0 || list.length > 20 || list.some((t) => !ENTITY_TAG.test(t))) {
      throw new InvalidInput(
        `${name} holds * or up to 20 quoted entity tags, like "0123456789abcdef"`,
      );
    }
    return list;
  };
  const ifMatch = tags('if-match');
  const ifNoneMatch = tags('if-none-match');
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
  };
}

/** `*` or a quoted entity tag (RFC 9110 §8.8.3), at most 200 characters. */
const ENTITY_TAG = /^(\*|"[\x21\x23-\x7e]{0,198}")$/;

// ---------------------------------------------------------------------------------------
// Requests

/**
 * The username and password of a Basic `authorization` header.
 * @throws Unauthenticated (answered 401 with the Basic challenge) when there are none.
 */
function basicCredentials(header: string | undefined): { username: string; password: string } {
  if (header === undefined) {
    throw new Unauthenticated(
      'CalDAV signs in with your username and a device app password (agenda device add)',
    );
  }
  const encoded = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)?.[1];
  if (encoded === undefined) {
    throw new Unauthenticated('CalDAV signs in with HTTP Basic: a username and an app password');
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? '' : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  if (
    username === '' ||
    password === '' ||
    username.length > MAX_USERNAME ||
    password.length > MAX_PASSWORD
  ) {
    throw new Unauthenticated('the Basic credentials need a username and an app password');
  }
  return { username, password };
}

/** The target a path names; 404 for anything else. */
function targetOf(path: string): Target {
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new InvalidInput('the path is not percent-encoded UTF-8');
      }
    });
  const [dav, area, user, calendar, file, ...rest] = segments;
  const missing = () => new NotFound(`nothing at ${path.slice(0, 200)}`);
  if (dav !== 'dav' || rest.length > 0) throw missing();
  if (area === undefined) return { kind: 'root' };
  if (user === undefined) throw missing();
  if (area === 'principals' && calendar === undefined) return { kind: 'principal', user };
  if (area !== 'calendars') throw missing();
  if (calendar === undefined) return { kind: 'home', user };
  if (calendar !== CALENDAR_SEGMENT) throw missing();
  if (file === undefined) return { kind: 'calendar', user };
  // A UID (any text but controls, which iCalendar allows in one) or an event id.
  const name = file.endsWith('.ics') ? file.slice(0, -'.ics'.length) : '';
  if (name === '' || name.length > MAX_NAME || CONTROL.test(name)) throw missing();
  return { kind: 'event', user, name };
}

// Control characters (C0, DEL, C1): never in a resource name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The resource name an href of a multiget names in `actor`'s calendar, or null. */
function eventNameOf(href: string, actor: string): string | null {
  let path = href;
  const absolute = /^https?:\/\/[^/]+(\/.*)$/i.exec(href);
  if (absolute?.[1] !== undefined) path = absolute[1];
  try {
    const target = targetOf(path);
    return target.kind === 'event' && target.user === actor ? target.name : null;
  } catch {
    return null;
  }
}

/** The `depth` header: `0`, `1` or `infinity`; absent reads as `0` (clients always send one). */
function depthOf(header: string | undefined): '0' | '1' | 'infinity' {
  const value = (header ?? '0').trim().toLowerCase();
  if (value === '0' || value === '1' || value === 'infinity') return value;
  throw new InvalidInput(`Depth is 0, 1 or infinity, not "${value.slice(0, 20)}"`);
}

/** Whether an `if-none-match` header names `etag` (or `*`). */
function matchesAny(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

/** A PROPFIND body: no body asks for every property (RFC 4918 §9.1). */
function parsePropfind(text: string | null): PropRequest {
  if (text === null || text.trim() === '') return { kind: 'all' };
  const root = parseXml(text);
  if (!isNamed(root, DAV_NS, 'propfind')) {
    throw new InvalidInput('a PROPFIND body is a DAV:propfind element');
  }
  return propRequestOf(root) ?? failPropfind();
}

function failPropfind(): never {
  throw new InvalidInput('a DAV:propfind holds DAV:prop, DAV:allprop or DAV:propname');
}

function propRequestOf(parent: XmlElement): PropRequest | null {
  if (childNamed(parent, DAV_NS, 'allprop') !== undefined) return { kind: 'all' };
  if (childNamed(parent, DAV_NS, 'propname') !== undefined) return { kind: 'names' };
  const prop = childNamed(parent, DAV_NS, 'prop');
  if (prop === undefined) return null;
  return {
    kind: 'some',
    names: prop.children.map((c) => ({ namespace: c.namespace, name: c.name })),
  };
}

/** A report's properties; none asked reads as every one. */
export function reportProperties(root: XmlElement): PropRequest {
  return propRequestOf(root) ?? { kind: 'all' };
}

export function wantsData(asked: PropRequest): boolean {
  return (
    asked.kind === 'all' ||
    (asked.kind === 'some' &&
      asked.names.some((n) => n.namespace === CALDAV_NS && n.name === 'calendar-data'))
  );
}

/**
 * A calendar-query's filter, of what this calendar holds (VEVENTs in one VCALENDAR): all
 * events, those reaching a time range, or nothing (a filter on VTODO, VJOURNAL…). Property
 * and parameter filters are refused (CALDAV:supported-filter).
 */
function parseCalendarFilter(
  root: XmlElement,
):
  | { readonly kind: 'events'; readonly window: { start: number; end: number } | null }
  | { readonly kind: 'none' } {
  const filter = childNamed(root, CALDAV_NS, 'filter');
  const calendar = filter === undefined ? undefined : childNamed(filter, CALDAV_NS, 'comp-filter');
  if (calendar === undefined || calendar.attributes.get('name')?.toUpperCase() !== 'VCALENDAR') {
    throw new InvalidInput('a calendar-query filters with a comp-filter on VCALENDAR');
  }
  const inner = calendar.children.filter((c) => !isNamed(c, CALDAV_NS, 'comp-filter'));
  if (inner.length > 0) unsupportedFilter(inner[0]?.name ?? '');
  const components = calendar.children.filter((c) => isNamed(c, CALDAV_NS, 'comp-filter'));
  if (components.length === 0) return { kind: 'events', window: null };
  if (components.length > 1) unsupportedFilter('several comp-filters');
  const component = components[0] as XmlElement;
  if (component.attributes.get('name')?.toUpperCase() !== 'VEVENT') return { kind: 'none' };
  let window: { start: number; end: number } | null = null;
  for (const child of component.children) {
    if (!isNamed(child, CALDAV_NS, 'time-range')) unsupportedFilter(child.name);
    const start = child.attributes.get('start');
    const end = child.attributes.get('end');
    if (start === undefined && end === undefined) {
      throw new InvalidInput('a time-range has a start, an end or both');
    }
    window = {
      start: start === undefined ? EARLIEST_INSTANT : utcInstant(start),
      end: end === undefined ? LATEST_INSTANT : utcInstant(end),
    };
    if (window.start >= window.end) throw new InvalidInput('a time-range ends after it starts');
  }
  return { kind: 'events', window };
}

function unsupportedFilter(what: string): never {
  throw new DavPrecondition(
    403,
    '<c:supported-filter/>',
    `this calendar filters by component and time-range only, not by ${what}`,
  );
}

/** An iCalendar UTC date-time (`20260302T090000Z`) as epoch ms, clamped to Agenda's range. */
function utcInstant(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text.trim());
  if (m === null)
    throw new InvalidInput(`"${text.slice(0, 40)}" is not a UTC date-time like 20260302T090000Z`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const at = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(at)) throw new InvalidInput(`"${text.slice(0, 40)}" is not a date-time`);
  return Math.min(Math.max(at, EARLIEST_INSTANT), LATEST_INSTANT);
}

// ---------------------------------------------------------------------------------------
// Properties

/** A resource's properties, by `namespace name`, as written XML. */
type Properties = ReadonlyMap<string, string>;

const keyOf = (namespace: string, name: string) => `${namespace} ${name}`;

function properties(entries: readonly [string, string, string][]): Properties {
  return new Map(
    entries.map(([ns, name, content]) => [keyOf(ns, name), propertyTag(ns, name, content)]),
  );
}

const hrefXml = (href: string) => `<d:href>${escapeXmlText(href)}</d:href>`;

/** The user's calendar address, as the export writes their ATTENDEE (server/domain/icalendar.ts). */
function calendarUserAddress(actor: string): string {
  return `mailto:${actor}@agenda.invalid`;
}

function rootProperties(actor: string): Properties {
  return properties([
    [DAV_NS, 'resourcetype', '<d:collection/>'],
    [DAV_NS, 'displayname', 'Agenda'],
    [DAV_NS, 'current-user-principal', hrefXml(davHrefs.principal(actor))],
    [DAV_NS, 'principal-collection-set', hrefXml(`${DAV_ROOT}principals/`)],
  ]);
}

function principalProperties(actor: string): Properties {
  return properties([
    [DAV_NS, 'resourcetype', '<d:principal/>'],
    [DAV_NS, 'displayname', escapeXmlText(actor)],
    [DAV_NS, 'current-user-principal', hrefXml(davHrefs.principal(actor))],
    [DAV_NS, 'principal-URL', hrefXml(davHrefs.principal(actor))],
    [CALDAV_NS, 'calendar-home-set', hrefXml(davHrefs.home(actor))],
    // The address the user's ATTENDEE has in the events' text: how a client knows which
    // attendee is its user, and so offers to answer (RFC 6638 §2.4.1).
    [CALDAV_NS, 'calendar-user-address-set', hrefXml(calendarUserAddress(actor))],
  ]);
}

function homeProperties(actor: string): Properties {
  return properties([
    [DAV_NS, 'resourcetype', '<d:collection/>'],
    [DAV_NS, 'displayname', escapeXmlText(`Calendars of ${actor}`)],
    [DAV_NS, 'current-user-principal', hrefXml(davHrefs.principal(actor))],
    [DAV_NS, 'owner', hrefXml(davHrefs.principal(actor))],
  ]);
}

/** The calendar's properties; DAV:sync-token only when read (`syncToken`, ./dav-sync.ts). */
function calendarProperties(actor: string, ctag: string, syncToken?: string): Properties {
  return properties([
    [DAV_NS, 'resourcetype', '<d:collection/><c:calendar/>'],
    [DAV_NS, 'displayname', escapeXmlText(`Agenda of ${actor}`)],
    [DAV_NS, 'current-user-principal', hrefXml(davHrefs.principal(actor))],
    [DAV_NS, 'owner', hrefXml(davHrefs.principal(actor))],
    [CALDAV_NS, 'supported-calendar-component-set', '<c:comp name="VEVENT"/>'],
    [
      DAV_NS,
      'supported-report-set',
      '<d:supported-report><d:report><c:calendar-query/></d:report></d:supported-report>' +
        '<d:supported-report><d:report><c:calendar-multiget/></d:report></d:supported-report>' +
        '<d:supported-report><d:report><d:sync-collection/></d:report></d:supported-report>',
    ],
    // Events are read, written and removed (bind, unbind); the calendar's own properties
    // are not changed (no PROPPATCH, so no write-properties) and there are no ACLs.
    [
      DAV_NS,
      'current-user-privilege-set',
      '<d:privilege><d:read/></d:privilege><d:privilege><d:write-content/></d:privilege>' +
        '<d:privilege><d:bind/></d:privilege><d:privilege><d:unbind/></d:privilege>',
    ],
    [CALENDARSERVER_NS, 'getctag', escapeXmlText(ctag)],
    ...(syncToken === undefined
      ? []
      : ([[DAV_NS, 'sync-token', escapeXmlText(syncToken)]] as [string, string, string][])),
  ]);
}

export function eventProperties(resource: { etag: string; ics?: string | undefined }): Properties {
  return properties([
    [DAV_NS, 'resourcetype', ''],
    [DAV_NS, 'getetag', escapeXmlText(resource.etag)],
    [DAV_NS, 'getcontenttype', 'text/calendar; charset=utf-8; component=vevent'],
    ...(resource.ics === undefined
      ? []
      : ([[CALDAV_NS, 'calendar-data', escapeXmlText(resource.ics)]] as [
          string,
          string,
          string,
        ][])),
  ]);
}

/** One resource's `<d:response>`: what was asked, found (200) or not (404). */
export function respond(href: string, found: Properties, asked: PropRequest): DavResponse {
  switch (asked.kind) {
    case 'all':
      return { href, propstats: [{ status: 200, properties: [...found.values()] }] };
    case 'names':
      return {
        href,
        propstats: [
          {
            status: 200,
            properties: [...found.keys()].map((k) => {
              const space = k.indexOf(' ');
              return propertyTag(k.slice(0, space), k.slice(space + 1));
            }),
          },
        ],
      };
    case 'some': {
      const ok: string[] = [];
      const missing: string[] = [];
      for (const { namespace, name } of asked.names) {
        const value = found.get(keyOf(namespace, name));
        if (value === undefined) missing.push(propertyTag(namespace, name));
        else ok.push(value);
      }
      const propstats: PropStat[] = [
        { status: 200, properties: ok },
        { status: 404, properties: missing },
      ];
      return { href, propstats };
    }
  }
}

/** The collection's own response when a listing was cut (RFC 4918 §16's precondition). */
function truncatedResponse(actor: string): DavResponse {
  return {
    href: davHrefs.calendar(actor),
    status: 507,
    error: '<d:number-of-matches-within-limits/>',
  };
}

// ---------------------------------------------------------------------------------------
// Answers

const XML_TYPE = 'application/xml; charset=utf-8';

function multistatusAnswer(responses: Iterable<DavResponse>): DavAnswer {
  return {
    status: 207,
    headers: { 'content-type': XML_TYPE },
    body: { parts: multistatusParts(responses) },
  };
}

/** A refusal naming a DAV or CalDAV precondition, answered as a `<d:error>` body. */
class DavPrecondition extends Error {
  constructor(
    readonly status: number,
    readonly precondition: string,
    message: string,
  ) {
    super(message);
  }
}

export function preconditionFailed(status: number, precondition: string, reason: string): never {
  throw new DavPrecondition(status, precondition, reason);
}

/** A conflict's reason for a CalDAV client, and the status line's shorter one. */
function conflictReason(error: AgendaError): { description: string; phrase: string } {
  const wire = error.toWire();
  const conflicts = wire.code === 'conflict' ? wire.details.conflicts : [];
  const message = error.message.endsWith(ALLOW_CONFLICT_HINT)
    ? error.message.slice(0, -ALLOW_CONFLICT_HINT.length)
    : error.message;
  if (conflicts.length === 0) return { description: message, phrase: 'Conflict' };
  const first = new Map<string, (typeof conflicts)[number]>();
  for (const c of conflicts) if (!first.has(c.id)) first.set(c.id, c);
  const named = [...first.values()]
    .slice(0, 3)
    .map((c) => `"${c.title}" ${spanOf(c.start, c.end)}`)
    .join(', ');
  const more = first.size > 3 ? ` and ${first.size - 3} more` : '';
  // CalDAV has no way to allow a conflict: the event is moved, or shown as free.
  return {
    description: `${message}. In the way: ${named}${more}. Move the event or make it free (TRANSP:TRANSPARENT), then write it again`,
    phrase: statusPhrase(`Conflict with ${named}${more}`),
  };
}

/** `2027-02-17 09:00-10:00 UTC`, or both dates when it spans days. */
function spanOf(start: string, end: string): string {
  const at = (iso: string) => new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
  const [from, to] = [at(start), at(end)];
  return `${from}-${from.slice(0, 10) === to.slice(0, 10) ? to.slice(11) : to} UTC`;
}

/**
 * A reason phrase for the status line: printable ASCII (anything else becomes `?`, as the
 * line is not UTF-8), at most 200 characters.
 */
export function statusPhrase(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= 200 ? ascii : `${ascii.slice(0, 197)}...`;
}

/** A refusal as CalDAV clients read it: the status, a Basic challenge on 401, the reason as text. */
function refusal(
  code: Parameters<typeof httpStatusFor>[0],
  message: string,
  error?: unknown,
): DavAnswer {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (code === 'unauthenticated') headers['www-authenticate'] = REALM;
  if (code === 'rate_limited' && isAgendaError(error)) {
    const retryAfterMs = (error.toWire().details as { retryAfterMs?: number }).retryAfterMs;
    if (retryAfterMs !== undefined)
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  return { status: httpStatusFor(code), headers, body: `${message}\n` };
}
