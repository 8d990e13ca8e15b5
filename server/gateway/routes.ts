/**
 * The gateway's handler for every route declared in contract/api-routes.ts: how the
 * request becomes an op and the op's result an answer. The table is keyed by the declared
 * route names, so a declared route without a handler, or a handler for no declared route,
 * does not compile; method, path, authentication, accepted query parameters, body schema
 * and answer status come from the declaration, never from here. The HTTP mechanics
 * (authentication, bodies, deadlines, errors) live in gateway.ts and the parts it composes,
 * behind {@link ApiCall}, so this file reads as the route → op mapping and nothing else.
 */
import { z } from 'zod';
import { parseInstant, validateSearchText, validateTimeZone } from '../domain/index.js';
import { Internal, InvalidInput, isAgendaError } from '../../contract/errors.js';
import type { Visibility } from '../../contract/views.js';
import type { DeviceAnswer, FeedAnswer } from '../../contract/api.js';
import {
  API_ROUTES,
  type ApiRoutes,
  type BodyOf,
  type JsonAnswer,
  type PathParams,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import { resultValue } from '../../base/json-text.js';
import type { Op } from '../protocol/ops.js';
import type { CommandBody, QueryBody, QueryOf } from '../store/protocol.js';
import {
  agendaViewQuery,
  createEventCommand,
  exportQuery,
  freeTimeQuery,
  pathParameter,
  updateEventCommand,
  updateOccurrenceCommand,
  type QueryParameters,
  type QueryParametersOf,
} from './requests.js';
import type { PasswordCheck, PasswordCheckKind } from './abuse-limits.js';
import { Router } from './router.js';
import { DAV_ROOT } from './caldav.js';

/** What a route answers; gateway.ts writes it out. */
export type Answer =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'text'; readonly contentType: string; readonly body: string }
  /**
   * Text fetched a part at a time and sent as it comes: the first part decides the status
   * (its failure is answered as any refusal); a later part's failure cuts the answer short.
   */
  | { readonly kind: 'parts'; readonly contentType: string; readonly parts: AsyncIterable<string> }
  | { readonly kind: 'stream' };

declare const relayed: unique symbol;
/**
 * A service's result, passed on to the client as the route's answer. The services promise
 * the answer types of api.ts (server/services/ports.ts); the gateway does not look inside.
 */
export interface Relayed {
  readonly [relayed]: true;
}

/** The live stream was opened and answered its own headers. */
export interface StreamOpened {
  readonly kind: 'stream';
}

/** One request as the gateway hands it over, before it is typed by its route. */
export interface RequestContext {
  /** Path parameters, percent-decoded (not yet validated). */
  readonly params: Readonly<Record<string, string>>;
  /** The query string, already checked against the route's accepted parameters. */
  readonly query: QueryParameters;
  /** The authenticated user; null on routes for anyone or operators. */
  readonly actor: string | null;
  /** The body, read and checked as the route declares it. */
  body(): Promise<unknown>;
  /** Sends `op` to the service `serviceFor(op)` names and waits for its result. */
  dispatch(op: Op): Promise<Relayed>;
  /** Counts a registration from the client's address; throws `RateLimited` past the limit. */
  admitRegistration(): Promise<void>;
  /**
   * Admits a check of `username`'s password from the client's address (a login, or a
   * signed-in user's current password), counted as a failed login until forgiven; throws
   * `RateLimited` past the limits, or with too many of a signed-in user's checks in flight.
   */
  admitPasswordCheck(username: string, kind: PasswordCheckKind): Promise<PasswordCheck>;
  /** Counts a session refresh from the client's address; throws `RateLimited` past the limit. */
  admitRefresh(): Promise<void>;
  /** `path` (from `/`) as an absolute URL of this gateway, as clients reach it. */
  absoluteUrl(path: string): string;
  /** Turns the connection into the caller's live update stream, once subscribed. */
  stream(): Promise<StreamOpened>;
}

/**
 * One request to route `K`: its path parameters by their declared names, its query
 * parameters by theirs, and its body (only on routes that declare one) as the schema reads
 * it. Reading the body is left to the handler so that it comes after the path's checks,
 * as a person fixing a request would want the refusals ordered.
 */
export type ApiCall<K extends RouteName> = Omit<RequestContext, 'params' | 'query' | 'body'> & {
  readonly params: PathParams<ApiRoutes[K]['path']>;
  readonly query: QueryParametersOf<K>;
} & (ApiRoutes[K] extends { readonly body: unknown }
    ? { body(): Promise<BodyOf<ApiRoutes[K]>> }
    : unknown);

/** What the handler of route `R` returns, by the kind of answer declared. */
export type Reply<R extends RouteDeclaration> =
  R['answer'] extends JsonAnswer<infer A>
    ? A | Relayed
    : R['answer'] extends { readonly kind: 'calendar' }
      ? AsyncIterable<string>
      : R['answer'] extends { readonly kind: 'text' }
        ? { readonly contentType: string; readonly body: string }
        : StreamOpened;

export type RouteHandler<K extends RouteName> = (call: ApiCall<K>) => Promise<Reply<ApiRoutes[K]>>;

/** A handler for every declared route, and for nothing else. */
export type RouteHandlers = { readonly [K in RouteName]: RouteHandler<K> };

/** The routes that answer from the gateway's own state; gateway.ts handles them. */
export type GatewayStateRoute = 'health' | 'readiness' | 'metrics';

/** A declared route with its handler, as the router holds it. */
export interface BoundRoute {
  readonly name: RouteName;
  readonly declaration: RouteDeclaration;
  handle(request: RequestContext): Promise<Answer>;
}

const CALENDAR_TYPE = 'text/calendar; charset=utf-8';

/** The router of every declared route, in declaration order, each with its handler. */
export function apiRouter(handlers: RouteHandlers): Router<BoundRoute> {
  const router = new Router<BoundRoute>();
  for (const name of Object.keys(API_ROUTES) as RouteName[]) {
    const declaration: RouteDeclaration = API_ROUTES[name];
    router.add(declaration.method, declaration.path, bind(name, declaration, handlers));
  }
  return router;
}

function bind(name: RouteName, declaration: RouteDeclaration, handlers: RouteHandlers): BoundRoute {
  // The router matched this route's template and the gateway built the query and body
  // readers from this declaration, so the request has the shape ApiCall<name> describes.
  const handler = handlers[name] as (request: RequestContext) => Promise<unknown>;
  const answer = declaration.answer;
  return {
    name,
    declaration,
    async handle(request) {
      const reply = await handler(request);
      switch (answer.kind) {
        case 'json':
          return { kind: 'json', status: answer.status, body: reply };
        case 'calendar':
          return {
            kind: 'parts',
            contentType: CALENDAR_TYPE,
            parts: reply as AsyncIterable<string>,
          };
        case 'text':
          return { kind: 'text', ...(reply as { contentType: string; body: string }) };
        case 'events':
          return reply as StreamOpened;
      }
    },
  };
}

/**
 * Sends `op`, which checks `username`'s password, once the abuse limits admit the check
 * (before any scrypt runs). Only a wrong password is a failed guess: the check is forgiven
 * when the service answers otherwise or could not be reached. A signed-in user's wrong
 * current password counts as a failed login for their username, so a stolen access token
 * guesses no faster than a login can.
 */
async function checkingPassword(
  call: Pick<RequestContext, 'admitPasswordCheck' | 'dispatch'>,
  username: string,
  kind: PasswordCheckKind,
  op: Op,
): Promise<Relayed> {
  const check = await call.admitPasswordCheck(username, kind);
  try {
    let answer: Relayed;
    try {
      answer = await call.dispatch(op);
    } catch (error) {
      if (!(isAgendaError(error) && error.code === 'unauthenticated')) await check.forgive();
      throw error;
    }
    await check.forgive();
    return answer;
  } finally {
    check.end();
  }
}

/** The signed-in user of a route that needs one (the gateway authenticated them). */
function signedInActor(call: Pick<RequestContext, 'actor'>): string {
  if (call.actor === null) throw new Internal('a signed-in route was called without an actor');
  return call.actor;
}

const command = (body: CommandBody): Op => ({ type: 'command', body });
const query = (body: QueryBody): Op => ({ type: 'query', body });

const exportPage = z.object({ ics: z.string(), next: z.string().nullable() });

/**
 * How many more times a later export page is asked for when no service answered it: under
 * load one page slower than the bus's deadline cut whole exports of ~2,000 events mid-way.
 */
const EXPORT_PAGE_RETRIES = 1;

/**
 * An export as the store answers it, a page at a time (server/store/export-pages.ts), each
 * page a request of its own with its own deadline: the gateway sends each on as it comes,
 * so no reply holds the whole agenda and a big one starts arriving at once.
 */
async function* exportPages(
  call: Pick<RequestContext, 'dispatch'>,
  first: QueryOf<'agenda.export'>,
): AsyncGenerator<string> {
  let after: string | null = null;
  do {
    const op = query(after === null ? first : { ...first, after });
    let answer: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        answer = await call.dispatch(op);
        break;
      } catch (error) {
        // A later page unanswered would cut a calendar already half sent: its cursor makes
        // it safe to ask again (a read), once. The first page's failure is the answer's.
        const again =
          after !== null &&
          attempt < EXPORT_PAGE_RETRIES &&
          isAgendaError(error) &&
          error.code === 'unavailable';
        if (!again) throw error;
      }
    }
    const page: z.infer<typeof exportPage> = resultOf(exportPage, answer, 'an export page');
    // A page of a narrow window may carry no event (the store reads a bounded number of
    // index entries a page): nothing to send.
    if (page.ics.length > 0) yield page.ics;
    after = page.next;
  } while (after !== null);
}
/** The users service answers the feed's path; the gateway knows the origin clients use. */
const feedResult = z.object({
  url: z.string().regex(/^\/v1\/feeds\/[^/]+\/calendar\.ics$/),
  feed: z.object({
    id: z.string(),
    label: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
  }),
});

/** The users service answers the app password and the device; the gateway adds its URL. */
const deviceResult = z.object({
  password: z.string(),
  username: z.string(),
  device: z.object({ id: z.string(), label: z.string(), createdAt: z.string() }),
});

/** Checks the few results the gateway reshapes; a service answering otherwise is a bug. */
function resultOf<T>(schema: z.ZodType<T>, result: unknown, what: string): T {
  const parsed = schema.safeParse(resultValue(result));
  if (!parsed.success) throw new Internal(`the service answered ${what} in an unexpected shape`);
  return parsed.data;
}

/** How each route of the API becomes an op; gateway.ts adds the {@link GatewayStateRoute}s. */
export const apiHandlers: Omit<RouteHandlers, GatewayStateRoute> = {
  // Accounts
  async register(call) {
    const { username, password, name } = await call.body();
    await call.admitRegistration();
    const op: Op = {
      type: 'account.register',
      username,
      password,
      ...(name === undefined ? {} : { name }),
    };
    return call.dispatch(op);
  },
  async login(call) {
    const { username, password } = await call.body();
    return checkingPassword(call, username, 'login', {
      type: 'account.login',
      username,
      password,
    });
  },
  async refreshSession(call) {
    const { refreshToken } = await call.body();
    await call.admitRefresh();
    return call.dispatch({ type: 'account.refresh', refreshToken });
  },
  me: (call) => call.dispatch({ type: 'account.me' }),
  logout: (call) => call.dispatch({ type: 'account.logout' }),
  async changePassword(call) {
    const { currentPassword, newPassword } = await call.body();
    return checkingPassword(call, signedInActor(call), 'signed-in', {
      type: 'account.changePassword',
      currentPassword,
      newPassword,
    });
  },
  async deleteAccount(call) {
    const { password } = await call.body();
    return checkingPassword(call, signedInActor(call), 'signed-in', {
      type: 'account.delete',
      password,
    });
  },
  // Events
  async createEvent(call) {
    const body = createEventCommand(await call.body());
    return call.dispatch(command(body));
  },
  listEvents: (call) =>
    call.dispatch(
      query({ type: 'event.list', ...call.query.interval(), ...call.query.page('event') }),
    ),
  searchEvents: (call) =>
    call.dispatch(
      query({
        type: 'event.search',
        text: validateSearchText(call.query.required('q')),
        ...call.query.interval(),
        ...call.query.page('event'),
      }),
    ),
  showEvent: (call) =>
    call.dispatch(
      query({ type: 'event.show', eventId: pathParameter('eventId', call.params.eventId) }),
    ),
  async updateEvent(call) {
    const id = pathParameter('eventId', call.params.eventId);
    // With ?occurrence=<start> only that occurrence of a series changes, on its own.
    const occurrence = call.query.optional('occurrence');
    const request = await call.body();
    return call.dispatch(
      command(
        occurrence === undefined
          ? updateEventCommand(id, request)
          : updateOccurrenceCommand(id, parseInstant(occurrence, 'occurrence'), request),
      ),
    );
  },
  cancelEvent(call) {
    const eventId = pathParameter('eventId', call.params.eventId);
    // With ?occurrence=<start> only that occurrence of a series is cancelled.
    const occurrence = call.query.optional('occurrence');
    return call.dispatch(
      command(
        occurrence === undefined
          ? { type: 'event.cancel', eventId }
          : {
              type: 'event.cancelOccurrence',
              eventId,
              occurrenceStart: parseInstant(occurrence, 'occurrence'),
            },
      ),
    );
  },
  // Invitations
  invitations: (call) =>
    call.dispatch(query({ type: 'invitation.list', ...call.query.page('invitation') })),
  async acceptInvitation(call) {
    const eventId = pathParameter('eventId', call.params.eventId);
    const { allowConflict } = await call.body();
    return call.dispatch(
      command({
        type: 'invitation.accept',
        eventId,
        ...(allowConflict === undefined ? {} : { allowConflict }),
      }),
    );
  },
  async declineInvitation(call) {
    const eventId = pathParameter('eventId', call.params.eventId);
    await call.body();
    return call.dispatch(command({ type: 'invitation.decline', eventId }));
  },
  // Groups
  async createGroup(call) {
    const { name, kind } = await call.body();
    return call.dispatch(command({ type: 'group.create', name, kind }));
  },
  groups: (call) => call.dispatch(query({ type: 'group.list' })),
  showGroup: (call) =>
    call.dispatch(query({ type: 'group.show', group: pathParameter('group', call.params.group) })),
  async addMember(call) {
    const group = pathParameter('group', call.params.group);
    const { username, level } = await call.body();
    return call.dispatch(
      command({
        type: 'group.addMember',
        group,
        username,
        ...(level === undefined ? {} : { level }),
      }),
    );
  },
  async changeLevel(call) {
    const group = pathParameter('group', call.params.group);
    const username = pathParameter('username', call.params.username);
    const { level } = await call.body();
    return call.dispatch(command({ type: 'group.changeLevel', group, username, level }));
  },
  removeMember(call) {
    const group = pathParameter('group', call.params.group);
    const username = pathParameter('username', call.params.username);
    return call.dispatch(command({ type: 'group.removeMember', group, username }));
  },
  async joinGroup(call) {
    const group = pathParameter('group', call.params.group);
    await call.body();
    return call.dispatch(command({ type: 'group.join', group }));
  },
  async declineGroup(call) {
    const group = pathParameter('group', call.params.group);
    const { block } = await call.body();
    return call.dispatch(
      command({ type: 'group.decline', group, ...(block === undefined ? {} : { block }) }),
    );
  },
  unblockGroup(call) {
    const group = pathParameter('group', call.params.group);
    return call.dispatch(command({ type: 'group.unblock', group }));
  },
  async transferGroup(call) {
    const group = pathParameter('group', call.params.group);
    const { to } = await call.body();
    return call.dispatch(command({ type: 'group.transferOwnership', group, to }));
  },
  async leaveGroup(call) {
    const group = pathParameter('group', call.params.group);
    await call.body();
    return call.dispatch(command({ type: 'group.leave', group }));
  },
  // Views of time
  agendas: (call) => call.dispatch(query(agendaViewQuery(call.query))),
  conflicts: (call) =>
    call.dispatch(
      query({ type: 'conflicts.list', ...call.query.interval(), ...call.query.page('conflict') }),
    ),
  free: (call) => call.dispatch(query(freeTimeQuery(call.query))),
  // Interop
  exportCalendar: (call) => Promise.resolve(exportPages(call, exportQuery(call.query))),
  async importCalendar(call) {
    const allowConflict = call.query.flag('allowConflict');
    const zone = call.query.optional('timeZone');
    const visibility = call.query.optional('visibility');
    if (visibility !== undefined && !isVisibility(visibility)) {
      throw new InvalidInput(
        `visibility must be public, busy or private (got ${JSON.stringify(visibility.slice(0, 40))})`,
        { field: 'visibility' },
      );
    }
    const ics = await call.body();
    const op: Op = {
      type: 'agenda.import',
      ics,
      ...(allowConflict === undefined ? {} : { allowConflict }),
      // Times without a zone in the file are read in this one.
      ...(zone === undefined ? {} : { defaultTimeZone: validateTimeZone(zone) }),
      // Events whose VEVENT says no CLASS have this one.
      ...(visibility === undefined ? {} : { defaultVisibility: visibility }),
    };
    return call.dispatch(op);
  },
  async createFeed(call) {
    const { label } = await call.body();
    const op: Op = { type: 'feed.create', ...(label === undefined ? {} : { label }) };
    const { url, feed } = resultOf(feedResult, await call.dispatch(op), 'a feed');
    const answer: FeedAnswer = { url: call.absoluteUrl(url), feed };
    return answer;
  },
  feeds: (call) => call.dispatch({ type: 'feed.list' }),
  revokeFeed: (call) =>
    call.dispatch({ type: 'feed.revoke', id: pathParameter('feedId', call.params.feedId) }),
  async createDevice(call) {
    const { label } = await call.body();
    const op: Op = { type: 'device.create', ...(label === undefined ? {} : { label }) };
    const made = resultOf(deviceResult, await call.dispatch(op), 'a device');
    const answer: DeviceAnswer = { ...made, url: call.absoluteUrl(DAV_ROOT) };
    return answer;
  },
  devices: (call) => call.dispatch({ type: 'device.list' }),
  revokeDevice: (call) =>
    call.dispatch({
      type: 'device.revoke',
      id: pathParameter('deviceId', call.params.deviceId),
    }),
  feedCalendar: (call) => Promise.resolve(exportPages(call, { type: 'agenda.export' })),
  // Live updates
  // The session is checked where it can end (the store) before a stream it opens starts.
  async liveUpdates(call) {
    await call.dispatch({ type: 'account.me' });
    return call.stream();
  },
};

/** Whether a query's text is one of the visibilities (`public`, `busy`, `private`). */
function isVisibility(text: string): text is Visibility {
  return text === 'public' || text === 'busy' || text === 'private';
}
