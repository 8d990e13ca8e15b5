/**
 * CalDAV sync on the gateway (RFC 6578): the `sync-collection` REPORT on the calendar
 * collection and its `DAV:sync-token` property, answered from the store's `dav.sync` query
 * (server/store/dav-sync.ts). The design is in ./CALDAV.md ("Sync"). Kept apart from
 * ./caldav.ts, which calls it for the report and the property.
 */
import { z } from 'zod';
import { InvalidInput } from '../../contract/errors.js';
import { MAX_CALENDAR_RESOURCES } from '../../contract/limits.js';
import {
  davHrefs,
  eventProperties,
  preconditionFailed,
  reportProperties,
  respond,
  wantsData,
  type PropRequest,
} from './caldav.js';
import {
  childNamed,
  DAV_NS,
  multistatusParts,
  type DavParts,
  type DavResponse,
  type XmlElement,
} from './dav-xml.js';

/**
 * What a sync token is: a URI (RFC 6578 §3.2 wants one) naming the store's place in the
 * user's changes. Clients keep it as it is and hand it back.
 */
export const SYNC_TOKEN_PREFIX = 'https://agenda.invalid/sync/';

/** The longest place after the prefix the store writes (a version, a dot, an event id). */
const MAX_PLACE = 100;

/** What the sync read asks the store (the `dav.sync` query, less its type). */
export interface DavSyncRead {
  readonly token: string | null;
  readonly data: boolean;
  readonly limit?: number;
  readonly tokenOnly?: boolean;
}

const resource = z.object({
  id: z.string(),
  name: z.string(),
  etag: z.string(),
  ics: z.string().optional(),
});
export const syncResult = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('synced'),
    token: z.string(),
    truncated: z.boolean(),
    changed: z.array(resource),
    removed: z.array(z.string()),
  }),
  z.object({ outcome: z.literal('invalid-token'), reason: z.string() }),
]);
export type SyncResult = z.infer<typeof syncResult>;
export type SyncReader = (body: DavSyncRead) => Promise<SyncResult>;

/** The collection's DAV:sync-token: what a sync from scratch would answer now. */
export async function currentSyncToken(sync: SyncReader): Promise<string> {
  const answer = await sync({ token: null, data: false, tokenOnly: true });
  if (answer.outcome !== 'synced') throw new Error('the store refused no token');
  return SYNC_TOKEN_PREFIX + answer.token;
}

/**
 * Whether a PROPFIND asks for DAV:sync-token by name (or for the names of all): it is not
 * among `allprop`'s (RFC 6578 §4), and costs a pass over the user's events, so only then.
 */
export function wantsSyncToken(asked: PropRequest): boolean {
  return (
    asked.kind === 'names' ||
    (asked.kind === 'some' &&
      asked.names.some((n) => n.namespace === DAV_NS && n.name === 'sync-token'))
  );
}

/**
 * A `sync-collection` REPORT (RFC 6578 §3.2) on `actor`'s calendar: the members changed
 * since its token (every member without one) with the properties asked for, those removed
 * as 404s, a 507 on the collection when the answer was cut at its limit, and the token to
 * ask from next. A token the calendar does not answer from is 403 DAV:valid-sync-token, so
 * the client syncs from scratch.
 */
export async function syncCollection(
  root: XmlElement,
  actor: string,
  sync: SyncReader,
): Promise<{ status: number; headers: Record<string, string>; body: DavParts }> {
  const token = syncTokenOf(root);
  syncLevelOf(root);
  const limit = limitOf(root);
  const asked = reportProperties(root);
  if (token !== null && !isOurs(token)) invalidToken('this is not a sync token of this calendar');
  const answer = await sync({
    token: token === null ? null : token.slice(SYNC_TOKEN_PREFIX.length),
    data: wantsData(asked),
    ...(limit === undefined ? {} : { limit }),
  });
  if (answer.outcome === 'invalid-token') invalidToken(answer.reason);
  const { changed, removed, truncated } = answer;
  // Made as the answer is written (multistatusParts in ./dav-xml.ts).
  function* responses(): Generator<DavResponse> {
    for (const r of changed) {
      yield respond(davHrefs.event(actor, r.name), eventProperties(r), asked);
    }
    for (const name of removed) yield { href: davHrefs.event(actor, name), status: 404 };
    // RFC 6578 §3.6: the request-URI's own 507 says there is more, from the token given.
    if (truncated) {
      yield {
        href: davHrefs.calendar(actor),
        status: 507,
        error: '<d:number-of-matches-within-limits/>',
      };
    }
  }
  return {
    status: 207,
    headers: { 'content-type': 'application/xml; charset=utf-8' },
    body: { parts: multistatusParts(responses(), SYNC_TOKEN_PREFIX + answer.token) },
  };
}

function isOurs(token: string): boolean {
  return (
    token.startsWith(SYNC_TOKEN_PREFIX) &&
    token.length > SYNC_TOKEN_PREFIX.length &&
    token.length - SYNC_TOKEN_PREFIX.length <= MAX_PLACE
  );
}

function invalidToken(reason: string): never {
  return preconditionFailed(403, '<d:valid-sync-token/>', reason);
}

/** The DAV:sync-token element's token; null when empty (the initial sync). */
function syncTokenOf(root: XmlElement): string | null {
  const element = childNamed(root, DAV_NS, 'sync-token');
  if (element === undefined) {
    throw new InvalidInput('a sync-collection names a DAV:sync-token (empty for everything)');
  }
  const text = element.text.trim();
  return text === '' ? null : text;
}

/**
 * DAV:sync-level: 1, or infinite, which is the same here (RFC 6578 §3.3): the calendar
 * holds no collection, so its members at any depth are its members. Absent reads as 1.
 */
function syncLevelOf(root: XmlElement): void {
  const element = childNamed(root, DAV_NS, 'sync-level');
  if (element === undefined) return;
  const level = element.text.trim().toLowerCase();
  if (level !== '1' && level !== 'infinite') {
    throw new InvalidInput(`DAV:sync-level is 1 or infinite, not "${level.slice(0, 20)}"`);
  }
}

/**
 * DAV:limit's DAV:nresults (RFC 6578 §3.7), at most `MAX_CALENDAR_RESOURCES` (a larger one
 * is honored by answering fewer, with a 507 and a token to go on from).
 */
function limitOf(root: XmlElement): number | undefined {
  const element = childNamed(root, DAV_NS, 'limit');
  if (element === undefined) return undefined;
  const text = childNamed(element, DAV_NS, 'nresults')?.text.trim() ?? '';
  if (!/^[1-9][0-9]{0,8}$/.test(text)) {
    throw new InvalidInput('DAV:limit holds DAV:nresults, a positive number of results');
  }
  return Math.min(Number(text), MAX_CALENDAR_RESOURCES);
}
