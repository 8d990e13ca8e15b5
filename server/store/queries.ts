/**
 * Reads, one handler per query type: load the rows the domain query's context names, ask
 * the domain for the view, answer it in the CLI's field names. Queries never write.
 */
import { deviceView, feedView } from './commands.js';
import {
  canViewAgenda,
  conflictWindow,
  conflictsPage,
  decodeCursor,
  eventsShownInDetail,
  findCommonFreeTime,
  freeTimePeople,
  eventsPageOf,
  eventsShownInList,
  eventMatcher,
  expandListing,
  listGroups,
  listGroupInvitations,
  invitationsPage,
  pageLimit,
  mergeIntervals,
  planListingPage,
  showEvent,
  showGroup,
  validateQueryInterval,
  viewAgendasPage,
  MAX_CALENDAR_RESOURCES,
  MAX_CALENDAR_DATA_BYTES,
  RecurrenceBudget,
  resourceReaches,
  resourceText,
} from '../domain/index.js';
import type { CalendarResource, EventRecord, Interval, Millis, Username } from '../domain/index.js';
import { InvalidInput, NotFound } from '../../contract/errors.js';
import { ALL_TIME } from './calendar-rows.js';
import type { CalendarRows } from './calendar-rows.js';
import type {
  DavResourceView,
  QueryOf,
  QueryResults,
  QueryType,
  StoreQuery,
  StoreStatus,
} from './protocol.js';
import { REGISTRY_HISTORY_MAX } from './protocol.js';
import type { Registry } from './registry.js';
import { KEYS } from './effects.js';
import { exportPage } from './export-pages.js';
import { resourceNamed, resourcesOf, resourceView } from './dav-resources.js';
import type { ListingCache } from './listing-cache.js';
import { davSync, type DavSyncRows } from './dav-sync.js';

/** What a query handler works with. */
export interface QueryEnvironment {
  /** The store's clock for this read: `max(at, every applied at)`. */
  readonly now: Millis;
  readonly rows: CalendarRows;
  readonly registry: Registry;
  /** The log index at which `key` (effects.ts `KEYS`) was last written; 0: never. */
  keyVersion(key: string): number;
  /** The log index of the last entry applied: the state this read sees. */
  appliedIndex(): number;
  /** CalDAV sync's reads (dav-sync.ts). */
  readonly davSync: DavSyncRows;
  readonly listings: ListingCache;
  /** The registered user asking. @throws Unauthenticated */
  actor(): Username;
  status(): StoreStatus;
}

type Handler<T extends QueryType> = (body: QueryOf<T>, env: QueryEnvironment) => QueryResults[T];

/** Each record once, by id, in first-seen order. */
function unique(records: readonly EventRecord[]): EventRecord[] {
  const byId = new Map<string, EventRecord>();
  for (const r of records) if (!byId.has(r.event.id)) byId.set(r.event.id, r);
  return [...byId.values()];
}

/** The interval and page fields of a paged list query, as the domain takes them. */
function pageOf(body: {
  readonly from: Millis;
  readonly to: Millis;
  readonly limit?: number;
  readonly after?: string;
}): { from: Millis; to: Millis; limit?: number; after?: string } {
  return {
    from: body.from,
    to: body.to,
    ...(body.limit === undefined ? {} : { limit: body.limit }),
    ...(body.after === undefined ? {} : { after: body.after }),
  };
}

/**
 * What a page of an event or conflict list must load: the query's window from the cursor's
 * start on, since every later item starts (or overlaps) there. The domain checks the cursor
 * again, and refuses a bad one with the same reason.
 */
function resumedWindow(
  body: { readonly from: Millis; readonly to: Millis; readonly after?: string },
  kind: 'event' | 'conflict',
): Interval {
  const window = validateQueryInterval(body.from, body.to);
  if (body.after === undefined) return window;
  const start = Math.min(Math.max(window.start, decodeCursor(kind, body.after).start), window.end);
  return { start, end: window.end };
}

/** The actor's commitments reaching into any of `windows`. */
function commitmentsIn(
  env: QueryEnvironment,
  actor: Username,
  windows: readonly Interval[],
): EventRecord[] {
  return mergeIntervals(windows).flatMap((w) => env.rows.eventsAttending([actor], w, 'accepted'));
}

const HANDLERS: { readonly [T in QueryType]: Handler<T> } = {
  'event.list': (body, env) => {
    const actor = env.actor();
    // Placed from the events' times, expanded once for all the list's pages (listing-cache.ts)
    // once the query is checked; only the events on the page are loaded whole.
    const plan = planListingPage(pageOf(body), (window) =>
      env.listings.expansion(actor, window, env.keyVersion(KEYS.agenda(actor)), () =>
        expandListing(window, env.rows.listing(actor, window)),
      ),
    );
    return eventsPageOf(plan, env.rows.events(eventsShownInList(plan)));
  },

  'event.search': (body, env) => {
    const actor = env.actor();
    const matches = eventMatcher(body.text);
    // The list's own expansion (kept for its pages, as `event.list`'s), cut to the events
    // whose text matches among those reaching what is left after the cursor: the window
    // bounds the search as it bounds the list.
    const plan = planListingPage(pageOf(body), (window, scan) => {
      const expansion = env.listings.expansion(
        actor,
        window,
        env.keyVersion(KEYS.agenda(actor)),
        () => expandListing(window, env.rows.listing(actor, window)),
      );
      const reaching = new Set(env.rows.listing(actor, scan).map((entry) => entry.event.id));
      const matching = new Set(
        [...env.rows.events(reaching).values()].filter(matches).map((event) => event.id),
      );
      return {
        ...expansion,
        rows: expansion.rows.filter((row) => matching.has(row.occurrence.eventId)),
      };
    });
    return eventsPageOf(plan, env.rows.events(eventsShownInList(plan)));
  },

  'event.show': (body, env) => {
    const actor = env.actor();
    const record = env.rows.event(body.eventId);
    const events =
      record === undefined
        ? []
        : commitmentsIn(env, actor, [conflictWindow(record.event, env.now)]);
    return { event: showEvent({ actor, eventId: body.eventId, now: env.now }, { record, events }) };
  },

  'invitation.list': (body, env) => {
    const actor = env.actor();
    const limit = pageLimit(body.limit);
    const after = body.after === undefined ? null : decodeCursor('invitation', body.after);
    // One more than the page, to know whether another follows.
    const candidates = env.rows.pendingInvitationsPage(actor, env.now, after, limit + 1);
    const windows = candidates.map((r) => conflictWindow(r.event, env.now));
    const events = unique([...candidates, ...commitmentsIn(env, actor, windows)]);
    const page = invitationsPage({ actor, now: env.now, limit }, { candidates, events });
    return {
      invitations: page.invitations,
      // Bounded on their own (MAX_PENDING_GROUP_INVITATIONS): all of them, on the first page.
      groupInvitations:
        after === null
          ? listGroupInvitations({ actor }, { groups: env.rows.groupsInviting(actor) })
          : [],
      next: page.next,
    };
  },

  'feed.list': (_body, env) => ({ feeds: env.rows.feedsOf(env.actor()).map(feedView) }),

  'device.list': (_body, env) => ({ devices: env.rows.devicesOf(env.actor()).map(deviceView) }),

  'device.lookup': (body, env) => {
    const device = env.rows.deviceWithPassword(body.username, body.passwordHash);
    const sessionGeneration = env.rows.sessionGeneration(body.username);
    if (device === undefined || sessionGeneration === undefined) {
      throw new NotFound('no device of that user has this app password');
    }
    return { did: device.did, sessionGeneration };
  },

  'dav.calendar': (body, env) => davCalendar(body, env),

  // What changed since a sync token (dav-sync.ts).
  'dav.sync': (body, env) => davSync(body, env),

  'conflicts.list': (body, env) => {
    const actor = env.actor();
    const window = resumedWindow(body, 'conflict');
    return conflictsPage(
      { actor, ...pageOf(body) },
      { events: env.rows.eventsAttending([actor], window, 'accepted') },
    );
  },

  'agenda.view': (body, env) => {
    const viewer = env.actor();
    const window = validateQueryInterval(body.from, body.to);
    const groups = env.rows.groupsOf(viewer);
    let targets: readonly Username[];
    if ('group' in body.targets) {
      const name = body.targets.group;
      const mine = groups.find((g) => g.group.name === name);
      // A group the viewer is not in is still handed over, so the domain can say "forbidden".
      const other = mine === undefined ? env.rows.group(name) : undefined;
      if (other !== undefined) groups.push(other);
      targets = mine?.members.map((m) => m.username) ?? [];
    } else {
      const named = body.targets.users.map((u) => u.trim());
      // Only agendas the viewer may see are worth loading; the domain refuses the others.
      targets = named.filter((u) => canViewAgenda(groups, viewer, u));
    }
    // Agendas before the cursor's owner are not shown again; the domain computes them not.
    // Only the events shown in detail are loaded whole; the others are busy blocks.
    const commitments = env.rows.agendaCommitments(targets, viewer, window);
    const events = env.rows.events(eventsShownInDetail(viewer, groups, commitments));
    return viewAgendasPage(
      { viewer, targets: body.targets, ...pageOf(body) },
      { groups, commitments, events },
    );
  },

  'free.find': (body, env) => {
    const actor = env.actor();
    const window = validateQueryInterval(body.from, body.to);
    const query = {
      actor,
      targets: body.group !== undefined ? { group: body.group } : { users: body.users ?? [] },
      from: body.from,
      to: body.to,
      duration: body.duration,
    };
    const context =
      body.group !== undefined
        ? { group: env.rows.group(body.group) }
        : { groups: env.rows.groupsOf(actor) };
    // Refusals (an outsider, a stranger named) come before anyone's agenda is loaded.
    const people = freeTimePeople(query, { ...context, events: [] });
    return {
      slots: findCommonFreeTime(query, {
        ...context,
        events: env.rows.eventsAttending(people, window, 'accepted'),
      }),
    };
  },

  'group.show': (body, env) => ({
    group: showGroup(
      { actor: env.actor(), group: body.group },
      { group: env.rows.group(body.group) },
    ),
  }),

  'group.list': (_body, env) => {
    const actor = env.actor();
    return { groups: listGroups({ actor }, { groups: env.rows.groupsOf(actor) }) };
  },

  // A page at a time, each O(its events): export-pages.ts.
  'agenda.export': (body, env) => exportPage(env.actor(), body, env),

  'user.lookup': (body, env) => {
    const user = env.rows.user(body.username);
    const passwordHash = env.rows.passwordHash(body.username);
    const sessionGeneration = env.rows.sessionGeneration(body.username);
    if (user === undefined || passwordHash === undefined || sessionGeneration === undefined) {
      throw new NotFound(`no user named ${body.username}`);
    }
    return { user, passwordHash, sessionGeneration };
  },

  'user.beingPurged': (body, env) => ({ usernames: env.rows.accountsBeingPurged(body.limit) }),

  'registry.get': (body, env) => ({ entry: env.registry.get(body.key) }),
  'lease.get': (body, env) => ({ lease: env.registry.lease(body.name, env.now) }),
  'registry.history': (body, env) => ({
    entries: env.registry.history(body.name, body.limit ?? REGISTRY_HISTORY_MAX),
  }),
  'store.status': (_body, env) => env.status(),
};

/**
 * The caller's calendar as CalDAV resources (server/domain/calendar-resources.ts): those
 * reaching into the window, occurrence by occurrence (all of them without one), or those
 * `names` name (./dav-resources.ts: by UID, else by id), each answered under the name asked
 * for. The events are loaded as the export loads them, through the attendee indexes, and
 * each group completed (./dav-resources.ts). A listing answers at most
 * `MAX_CALENDAR_RESOURCES`, and says so when it cut; its expansion shares one recurrence
 * budget.
 */
function davCalendar(
  body: QueryOf<'dav.calendar'>,
  env: QueryEnvironment,
): QueryResults['dav.calendar'] {
  const actor = env.actor();
  // The sync token's version (./dav-sync.ts): it moves with every change to any of the
  // user's resources, another attendee's answer included, which `agenda/<user>` does not.
  const ctag = String(env.davSync.newest(actor));
  if ((body.from === undefined) !== (body.to === undefined)) {
    throw new InvalidInput('a time range has both a start and an end');
  }
  const window: Interval = { start: body.from ?? ALL_TIME.start, end: body.to ?? ALL_TIME.end };
  if (window.start >= window.end) throw new InvalidInput('a time range ends after it starts');
  let resources: CalendarResource[];
  if (body.names !== undefined) {
    resources = [...new Set(body.names)].flatMap((name) => {
      const found = resourceNamed(env.rows, actor, name);
      return found === undefined ? [] : [{ ...found, name }];
    });
  } else {
    resources = resourcesOf(env.rows, actor, env.rows.eventsAttending([actor], window, 'any'));
    if (body.from !== undefined) {
      const budget = new RecurrenceBudget();
      resources = resources.filter((r) => resourceReaches(r, window, budget));
    }
  }
  let truncated = resources.length > MAX_CALENDAR_RESOURCES;
  const views: DavResourceView[] = [];
  let bytes = 0;
  for (const r of resources.slice(0, MAX_CALENDAR_RESOURCES)) {
    if (!body.data) {
      views.push(resourceView(r));
      continue;
    }
    // Each resource's text is written only while the listing has room for it.
    const ics = resourceText(r, env.now);
    bytes += Buffer.byteLength(ics);
    if (views.length > 0 && bytes > MAX_CALENDAR_DATA_BYTES) {
      truncated = true;
      break;
    }
    views.push({ ...resourceView(r), ics });
  }
  return { ctag, truncated, resources: views };
}

/** Runs one query's handler. Refusals are thrown; the caller turns them into results. */
export function runQuery(query: StoreQuery, env: QueryEnvironment): QueryResults[QueryType] {
  // The map is keyed by type, so the handler found is the one for this body.
  const handler = HANDLERS[query.body.type] as Handler<QueryType>;
  return handler(query.body, env);
}
