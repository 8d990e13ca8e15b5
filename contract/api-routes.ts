/**
 * Every route of the gateway, declared once: method, path with its parameters, query
 * parameters, request body schema, answer, the error codes it may answer, who may call it,
 * and whether it is paged or streamed. The gateway's router (server/gateway/routes.ts) is
 * keyed by these names, so a route without a handler or a handler without a route does not
 * compile; the CLI's client (cli/http/agenda-api.ts) builds its requests from the same
 * entries, so its paths, bodies and answer types cannot drift from the gateway's, and so does
 * the chaos load generator (lab/chaos/load.ts), which speaks HTTP itself.
 *
 * Adding a route is one entry here, one handler in the gateway (which the compiler asks
 * for), and a method in the CLI only when a command wants a friendlier name than
 * `AgendaApi.call('<route>', …)`.
 *
 * The schemas and answer types themselves, and the conventions every route follows (instants,
 * durations, idempotency keys, the error body), are in ./api.ts. A route names its body's
 * schema rather than holding it, so that this table loads without zod: the CLI reads it for
 * every command, and checks a body (./request-schemas.ts, which loads zod) only when it sends
 * one — a read never pays for zod, about 90 ms of a command's start-up.
 */
import type { z } from 'zod';
import type { ListKind } from './views.js';
import type { ErrorCode } from './errors.js';
import type * as Api from './api.js';
import type {
  AccountDeletedAnswer,
  AgendasAnswer,
  DeviceAnswer,
  DeviceRevokedAnswer,
  DevicesAnswer,
  ConflictsAnswer,
  DeclineGroupAnswer,
  EventAnswer,
  EventsAnswer,
  FeedAnswer,
  FeedRevokedAnswer,
  FeedsAnswer,
  LogoutAnswer,
  FreeAnswer,
  GroupAnswer,
  GroupsAnswer,
  HealthAnswer,
  ImportAnswer,
  InvitationsAnswer,
  LiveUpdate,
  LoginAnswer,
  ScheduledAnswer,
  UserAnswer,
} from './api.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: anyone (`none`), a user with a session token (`user`), the holder
 * of a feed token carried in the path as `:token` (`feed`), or an operator presenting a
 * client certificate from the cluster's CA, as Prometheus or the lab's observer does
 * (`operator`).
 */
export type Authentication = 'none' | 'user' | 'feed' | 'operator';

/**
 * The query parameters a route accepts, by name; any other is refused. `required` ones the
 * client must send; the gateway's handler checks them, in its own order, so that the
 * refusal names the parameter a person would fix first.
 */
export type QuerySpec = Readonly<Record<string, 'required' | 'optional'>>;

/** The names of api.ts's request schemas (`CreateEventRequest`, …): what a JSON body names. */
export type RequestSchemaName = {
  [K in keyof typeof Api]: (typeof Api)[K] extends z.ZodType ? K : never;
}[keyof typeof Api];

/** The schema api.ts exports as `N`, as a type. */
export type RequestSchema<N extends RequestSchemaName> = (typeof Api)[N];

/** What a request carries: nothing (a body sent anyway is not read), JSON, or iCalendar. */
export type RequestBody =
  | { readonly kind: 'none' }
  /**
   * JSON checked against api.ts's schema named `schema` (./request-schemas.ts); with
   * `optional`, no body at all reads as `{}`.
   */
  | { readonly kind: 'json'; readonly schema: RequestSchemaName; readonly optional: boolean }
  /** `text/calendar`, required. */
  | { readonly kind: 'calendar' };

declare const answerType: unique symbol;

/**
 * A JSON answer with `status`. `A` exists only for the compiler: it is the type the client
 * receives and the handler must return. `field` is a member every answer carries, which the
 * client checks before trusting the rest.
 */
export interface JsonAnswer<A> extends JsonAnswerSpec {
  readonly field: keyof A & string;
  readonly [answerType]?: A;
}

/** A JSON answer whatever its type, as code that does not care about `A` sees it. */
export interface JsonAnswerSpec {
  readonly kind: 'json';
  readonly status: 200 | 201;
  readonly field: string;
}

/** What a route answers: JSON, an iCalendar document, operator text, or a live stream. */
export type AnswerSpec =
  | JsonAnswerSpec
  /** 200 with a `text/calendar` document. */
  | { readonly kind: 'calendar' }
  /** 200 with text whose media type the gateway chooses (Prometheus exposition). */
  | { readonly kind: 'text' }
  /** 200 and server-sent events, each `update` carrying a {@link LiveUpdate}. */
  | { readonly kind: 'events'; readonly [answerType]?: LiveUpdate };

export interface RouteDeclaration {
  readonly method: HttpMethod;
  /** The path template; `:name` is a parameter, one whole segment, percent-encoded. */
  readonly path: string;
  readonly auth: Authentication;
  readonly query?: QuerySpec;
  /**
   * A paged list, and the kind of cursor its `next` and `after` carry: the route also
   * accepts `limit` and `after`, and answers `next` (see `LIST_PAGE_MAX_ITEMS` in api.ts).
   */
  readonly paged?: ListKind;
  readonly body?: RequestBody;
  readonly answer: AnswerSpec;
  /**
   * The codes this route answers besides {@link ANY_ROUTE_ERRORS}, on routes that need a
   * caller `unauthenticated`, and on a user's routes `rate_limited`. The gateway logs a
   * refusal outside them: either the route or this list is wrong.
   */
  readonly errors: readonly ErrorCode[];
}

/** What any route may answer: a malformed request, a system that cannot answer in time, a bug. */
export const ANY_ROUTE_ERRORS: readonly ErrorCode[] = ['invalid', 'unavailable', 'internal'];

/** Every code `route` may answer. */
export function errorsOf(route: RouteDeclaration): ReadonlySet<ErrorCode> {
  return new Set<ErrorCode>([
    ...ANY_ROUTE_ERRORS,
    ...(route.auth === 'none' ? [] : (['unauthenticated'] as const)),
    // A user's requests are counted: past their request rate (or open streams) they are refused.
    ...(route.auth === 'user' || route.auth === 'feed' ? (['rate_limited'] as const) : []),
    ...route.errors,
  ]);
}

/** The names `route` accepts in its query string, declared ones first, then paging's. */
export function queryNames(route: RouteDeclaration): readonly string[] {
  const names = Object.keys(route.query ?? {});
  return route.paged === undefined ? names : [...names, 'limit', 'after'];
}

const json = <A>(status: 200 | 201, field: keyof A & string): JsonAnswer<A> => ({
  kind: 'json',
  status,
  field,
});
function jsonBody<N extends RequestSchemaName>(
  schema: N,
): { readonly kind: 'json'; readonly schema: N; readonly optional: false };
function jsonBody<N extends RequestSchemaName>(
  schema: N,
  optional: true,
): { readonly kind: 'json'; readonly schema: N; readonly optional: true };
function jsonBody(schema: RequestSchemaName, optional = false): RequestBody {
  return { kind: 'json', schema, optional };
}
/** Declares a route keeping its literal path and parts, from which the types below read. */
const route = <const R extends RouteDeclaration>(declaration: R): R => declaration;

/** An interval query: `from` and `to`, ISO instants with offsets, both required. */
const interval = { from: 'required', to: 'required' } as const;

/**
 * The routes, in matching order (which also orders the `allow` header of a 405). Their
 * names are what `AgendaApi.call` takes, and the names of the CLI's methods where it has one.
 */
export const API_ROUTES = {
  // Accounts
  /**
   * Creates an account. `conflict` when the username is taken (which tells anyone that the
   * name exists: unavoidable, hence the limit); `rate_limited` past the registrations allowed
   * from one client address.
   */
  register: route({
    method: 'POST',
    path: '/v1/users',
    auth: 'none',
    body: jsonBody('RegisterRequest'),
    answer: json<UserAnswer>(201, 'user'),
    errors: ['conflict', 'rate_limited'],
  }),
  /**
   * A session: an access token and a refresh token. `rate_limited` past the attempts
   * allowed from one address, the failures allowed for one username from one address, or,
   * while the username is under attack from elsewhere, more than one attempt per spacing
   * window from this address.
   */
  login: route({
    method: 'POST',
    path: '/v1/sessions',
    auth: 'none',
    body: jsonBody('LoginRequest'),
    answer: json<LoginAnswer>(200, 'token'),
    errors: ['unauthenticated', 'rate_limited'],
  }),
  /**
   * Renews a session: a new access token and a new refresh token for the current refresh
   * token, which is spent. `unauthenticated` when the session has ended or expired, or when
   * the refresh token was spent before (which ends the session: someone else holds a copy);
   * `rate_limited` as a login, past the attempts allowed from one address.
   */
  refreshSession: route({
    method: 'POST',
    path: '/v1/sessions/refresh',
    auth: 'none',
    body: jsonBody('RefreshRequest'),
    answer: json<LoginAnswer>(200, 'token'),
    errors: ['unauthenticated', 'rate_limited'],
  }),
  me: route({
    method: 'GET',
    path: '/v1/me',
    auth: 'user',
    answer: json<UserAnswer>(200, 'user'),
    errors: ['not_found'],
  }),
  /**
   * Logs the calling session out on the server: its tokens are refused from now on by every
   * gateway, and its live streams close.
   */
  logout: route({
    method: 'DELETE',
    path: '/v1/sessions/current',
    auth: 'user',
    answer: json<LogoutAnswer>(200, 'loggedOut'),
    errors: [],
  }),
  /**
   * Changes the password (the current one proves it is you) and ends every session, calendar
   * feed and device app password of the account; answers a new session, as a login does. A wrong current
   * password counts as a failed login for the account: `rate_limited` past the failures a
   * login allows, or while another check of its password from this address is running.
   */
  changePassword: route({
    method: 'POST',
    path: '/v1/account/password',
    auth: 'user',
    body: jsonBody('ChangePasswordRequest'),
    answer: json<LoginAnswer>(200, 'token'),
    errors: ['unauthenticated', 'conflict'],
  }),
  /**
   * Deletes the caller's account (the current password proves it is them): their events,
   * attendance, groups (an owned group passes to another member, or dissolves when they were
   * its last), invitations, blocks, feeds, devices and sessions; every token of theirs is refused
   * from then on and their live streams close. The username is retired. `unauthenticated`
   * for a wrong password, which counts as a failed login: `rate_limited` as for a password
   * change.
   */
  deleteAccount: route({
    method: 'POST',
    path: '/v1/account/delete',
    auth: 'user',
    body: jsonBody('DeleteAccountRequest'),
    answer: json<AccountDeletedAnswer>(200, 'deleted'),
    errors: ['unauthenticated'],
  }),

  // Events
  /** Schedules an event; a conflict for the organizer is refused unless `allowConflict`. */
  createEvent: route({
    method: 'POST',
    path: '/v1/events',
    auth: 'user',
    body: jsonBody('CreateEventRequest'),
    answer: json<ScheduledAnswer>(201, 'event'),
    errors: ['conflict', 'not_found', 'forbidden', 'too_complex'],
  }),
  /** One page of the caller's occurrences expanded inside the interval. */
  listEvents: route({
    method: 'GET',
    path: '/v1/events',
    auth: 'user',
    query: interval,
    paged: 'event',
    answer: json<EventsAnswer>(200, 'events'),
    errors: ['too_complex'],
  }),
  /**
   * One page of the caller's occurrences in the interval, as `listEvents` lists them, whose
   * event's title, description or location contains `q` (case-insensitively, at most
   * `SEARCH_TEXT_MAX_LENGTH` characters). Bounded as the list is: by the interval (at most
   * `MAX_QUERY_SPAN_MS`) and the page; only events the caller is on the list of are searched.
   */
  searchEvents: route({
    method: 'GET',
    path: '/v1/search',
    auth: 'user',
    query: { q: 'required', ...interval },
    paged: 'event',
    answer: json<EventsAnswer>(200, 'events'),
    errors: ['too_complex'],
  }),
  showEvent: route({
    method: 'GET',
    path: '/v1/events/:eventId',
    auth: 'user',
    answer: json<EventAnswer>(200, 'event'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),
  /**
   * Changes the whole event, or with `occurrence=<instant>` only the occurrence of a series
   * starting then, which becomes an event of its own (answered; no `repeat` nor `with`).
   */
  updateEvent: route({
    method: 'PATCH',
    path: '/v1/events/:eventId',
    auth: 'user',
    query: { occurrence: 'optional' },
    body: jsonBody('UpdateEventRequest'),
    answer: json<ScheduledAnswer>(200, 'event'),
    errors: ['conflict', 'not_found', 'forbidden', 'too_complex'],
  }),
  /**
   * Cancels the whole series, with the occurrences changed on their own, or with
   * `occurrence=<instant>` only the occurrence starting then.
   */
  cancelEvent: route({
    method: 'DELETE',
    path: '/v1/events/:eventId',
    auth: 'user',
    query: { occurrence: 'optional' },
    answer: json<EventAnswer>(200, 'event'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),

  // Invitations
  /** Pending invitations, a page at a time by the event's first start; groups' on the first page. */
  invitations: route({
    method: 'GET',
    path: '/v1/invitations',
    auth: 'user',
    paged: 'invitation',
    answer: json<InvitationsAnswer>(200, 'invitations'),
    errors: ['too_complex'],
  }),
  /** `conflict` when accepting makes one, unless `allowConflict`. */
  acceptInvitation: route({
    method: 'POST',
    path: '/v1/invitations/:eventId/accept',
    auth: 'user',
    body: jsonBody('AcceptRequest', true),
    answer: json<EventAnswer>(200, 'event'),
    errors: ['conflict', 'not_found', 'forbidden', 'too_complex'],
  }),
  declineInvitation: route({
    method: 'POST',
    path: '/v1/invitations/:eventId/decline',
    auth: 'user',
    body: jsonBody('EmptyRequest', true),
    answer: json<EventAnswer>(200, 'event'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),

  // Groups
  createGroup: route({
    method: 'POST',
    path: '/v1/groups',
    auth: 'user',
    body: jsonBody('CreateGroupRequest'),
    answer: json<GroupAnswer>(201, 'group'),
    errors: ['conflict'],
  }),
  /** The caller's groups. */
  groups: route({
    method: 'GET',
    path: '/v1/groups',
    auth: 'user',
    answer: json<GroupsAnswer>(200, 'groups'),
    errors: [],
  }),
  showGroup: route({
    method: 'GET',
    path: '/v1/groups/:group',
    auth: 'user',
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['not_found', 'forbidden'],
  }),
  /**
   * Invites a user to join (membership is by consent): the answer lists them under
   * `invited`; they become a member when they join. `forbidden` when they block the group.
   */
  addMember: route({
    method: 'POST',
    path: '/v1/groups/:group/members',
    auth: 'user',
    body: jsonBody('AddMemberRequest'),
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['conflict', 'not_found', 'forbidden', 'too_complex'],
  }),
  /**
   * Changes a member's level in a hierarchical group: up by the owner or a member above both
   * levels; down only by the member themselves (their consent; server/domain/groups.ts).
   */
  changeLevel: route({
    method: 'PATCH',
    path: '/v1/groups/:group/members/:username',
    auth: 'user',
    body: jsonBody('ChangeLevelRequest'),
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),
  /** Removes a member, or withdraws an invitation not yet answered. */
  removeMember: route({
    method: 'DELETE',
    path: '/v1/groups/:group/members/:username',
    auth: 'user',
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['not_found', 'forbidden'],
  }),
  /** Accepts an invitation to join: the caller becomes a member at the level invited at. */
  joinGroup: route({
    method: 'POST',
    path: '/v1/groups/:group/join',
    auth: 'user',
    body: jsonBody('EmptyRequest', true),
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['conflict', 'not_found', 'too_complex'],
  }),
  /** Declines an invitation to join; `block` also refuses the group's further invitations. */
  declineGroup: route({
    method: 'POST',
    path: '/v1/groups/:group/decline',
    auth: 'user',
    body: jsonBody('DeclineGroupRequest', true),
    answer: json<DeclineGroupAnswer>(200, 'declined'),
    errors: ['conflict', 'not_found'],
  }),
  /** Accepts the group's invitations again after a `block`. */
  unblockGroup: route({
    method: 'DELETE',
    path: '/v1/groups/:group/block',
    auth: 'user',
    answer: json<DeclineGroupAnswer>(200, 'declined'),
    errors: ['not_found'],
  }),
  /**
   * The owner hands the group to another member (`to`); in a hierarchical group the two
   * swap levels, so the new owner is at 0 and nobody else's rank changes.
   */
  transferGroup: route({
    method: 'POST',
    path: '/v1/groups/:group/owner',
    auth: 'user',
    body: jsonBody('TransferGroupRequest'),
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['not_found', 'forbidden'],
  }),
  /** Leaves a group; answers `{ group: null }` when the group dissolved. */
  leaveGroup: route({
    method: 'POST',
    path: '/v1/groups/:group/leave',
    auth: 'user',
    body: jsonBody('EmptyRequest', true),
    answer: json<GroupAnswer>(200, 'group'),
    errors: ['not_found', 'forbidden'],
  }),

  // Views of time
  /** One page of agendas: of a `group`'s members or of the listed `users` (`a,b`), not both. */
  agendas: route({
    method: 'GET',
    path: '/v1/agendas',
    auth: 'user',
    query: { group: 'optional', users: 'optional', ...interval },
    paged: 'agenda',
    answer: json<AgendasAnswer>(200, 'agendas'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),
  conflicts: route({
    method: 'GET',
    path: '/v1/conflicts',
    auth: 'user',
    query: interval,
    paged: 'conflict',
    answer: json<ConflictsAnswer>(200, 'conflicts'),
    errors: ['too_complex'],
  }),
  /**
   * Maximal gaps of at least `duration` in the agendas of a `group`'s members, or of the
   * caller and the listed `users` (`a,b`, each sharing a group with the caller), not both.
   */
  free: route({
    method: 'GET',
    path: '/v1/free',
    auth: 'user',
    query: { group: 'optional', users: 'optional', ...interval, duration: 'required' },
    answer: json<FreeAnswer>(200, 'slots'),
    errors: ['not_found', 'forbidden', 'too_complex'],
  }),

  // Interop
  /** The caller's agenda, optionally bounded by `from` and `to`. */
  exportCalendar: route({
    method: 'GET',
    path: '/v1/export',
    auth: 'user',
    query: { from: 'optional', to: 'optional' },
    answer: { kind: 'calendar' },
    errors: ['too_complex'],
  }),
  /**
   * At most `IMPORT_REQUEST_MAX_EVENTS` events in `IMPORT_REQUEST_MAX_BYTES`; `timeZone`
   * reads the file's times that name no zone; `visibility` (public, busy or private;
   * default public, RFC 5545's) is that of the events whose VEVENT says no CLASS. Events
   * that fail are listed in the answer.
   */
  importCalendar: route({
    method: 'POST',
    path: '/v1/import',
    auth: 'user',
    query: { allowConflict: 'optional', timeZone: 'optional', visibility: 'optional' },
    body: { kind: 'calendar' },
    answer: json<ImportAnswer>(200, 'events'),
    errors: ['too_complex'],
  }),
  /** A subscription URL for calendar apps, served by {@link API_ROUTES.feedCalendar}. */
  /** A calendar feed: its URL (shown once) opens the agenda as iCalendar until revoked. */
  createFeed: route({
    method: 'POST',
    path: '/v1/feeds',
    auth: 'user',
    body: jsonBody('CreateFeedRequest', true),
    answer: json<FeedAnswer>(200, 'url'),
    errors: [],
  }),
  /** The caller's calendar feeds (without their URLs, which are shown only when made). */
  feeds: route({
    method: 'GET',
    path: '/v1/feeds',
    auth: 'user',
    answer: json<FeedsAnswer>(200, 'feeds'),
    errors: [],
  }),
  /** Revokes a feed: its URL stops working at once. */
  revokeFeed: route({
    method: 'DELETE',
    path: '/v1/feeds/:feedId',
    auth: 'user',
    answer: json<FeedRevokedAnswer>(200, 'feed'),
    errors: ['not_found'],
  }),
  /** The feed token's user's agenda; the token is the only authentication. */
  feedCalendar: route({
    method: 'GET',
    path: '/v1/feeds/:token/calendar.ics',
    auth: 'feed',
    answer: { kind: 'calendar' },
    errors: ['too_complex'],
  }),

  /**
   * A device's app password for CalDAV clients (server/gateway/caldav.ts), shown once; the
   * account password never opens CalDAV. `invalid` past `MAX_DEVICES_PER_USER`.
   */
  createDevice: route({
    method: 'POST',
    path: '/v1/devices',
    auth: 'user',
    body: jsonBody('CreateDeviceRequest', true),
    answer: json<DeviceAnswer>(201, 'password'),
    errors: [],
  }),
  /** The caller's devices (without their app passwords, which are shown only when made). */
  devices: route({
    method: 'GET',
    path: '/v1/devices',
    auth: 'user',
    answer: json<DevicesAnswer>(200, 'devices'),
    errors: [],
  }),
  /** Revokes a device: its app password opens nothing from the next request on. */
  revokeDevice: route({
    method: 'DELETE',
    path: '/v1/devices/:deviceId',
    auth: 'user',
    answer: json<DeviceRevokedAnswer>(200, 'device'),
    errors: ['not_found'],
  }),

  // Live updates
  liveUpdates: route({
    method: 'GET',
    path: '/v1/stream',
    auth: 'user',
    answer: { kind: 'events' },
    errors: [],
  }),

  // Operations
  /** The process answers. */
  health: route({
    method: 'GET',
    path: '/healthz',
    auth: 'none',
    answer: json<HealthAnswer>(200, 'ok'),
    errors: [],
  }),
  /** The gateway can serve: its bus and a replica of each service are reachable. */
  readiness: route({
    method: 'GET',
    path: '/readyz',
    auth: 'none',
    answer: json<HealthAnswer>(200, 'ok'),
    errors: [],
  }),
  /**
   * Prometheus metrics. `forbidden` for a certificate of the cluster CA that names another
   * role than the operator's (every daemon holds one).
   */
  metrics: route({
    method: 'GET',
    path: '/metrics',
    auth: 'operator',
    answer: { kind: 'text' },
    errors: ['forbidden'],
  }),
};

export type ApiRoutes = typeof API_ROUTES;
export type RouteName = keyof ApiRoutes;

/** The parameters of a path template, e.g. `{ group, username }`. */
export type PathParams<P extends string> = P extends `${string}/:${infer Name}/${infer Rest}`
  ? { readonly [N in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}/:${infer Name}`
    ? { readonly [N in Name]: string }
    : unknown;

type QueryOf<R> = (R extends { readonly query: infer Q extends QuerySpec } ? Q : unknown) &
  (R extends { readonly paged: ListKind }
    ? { readonly limit: 'optional'; readonly after: 'optional' }
    : unknown);

/** The query parameters of route `R` that are required. */
export type RequiredQuery<R> = {
  [N in keyof QueryOf<R>]: QueryOf<R>[N] extends 'required' ? N : never;
}[keyof QueryOf<R>] &
  string;
/** The query parameters of route `R` that are optional. */
export type OptionalQuery<R> = {
  [N in keyof QueryOf<R>]: QueryOf<R>[N] extends 'optional' ? N : never;
}[keyof QueryOf<R>] &
  string;

/** What the body of route `R` is once read: the schema's output, the iCalendar text, or nothing. */
export type BodyOf<R> = R extends {
  readonly body: { readonly kind: 'json'; readonly schema: infer N extends RequestSchemaName };
}
  ? z.output<RequestSchema<N>>
  : R extends { readonly body: { readonly kind: 'calendar' } }
    ? string
    : never;

/** What route `R` answers, as the client receives it. */
export type AnswerOf<R> = R extends { readonly answer: JsonAnswer<infer A> }
  ? A
  : R extends { readonly answer: { readonly kind: 'calendar' | 'text' } }
    ? string
    : never;
