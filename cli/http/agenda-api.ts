/**
 * The gateway's API as the CLI calls it: {@link AgendaApi.call} sends any route declared in
 * contract/api-routes.ts, with the path parameters, query, body and answer types the
 * declaration gives it, so a request the gateway would not route, or an answer read as the
 * wrong type, does not compile. The named methods are the commands' vocabulary on top of it.
 * Request bodies are checked against the API's own schemas before anything is sent, so bad
 * input fails fast with the field at fault; path parameters are escaped here and nowhere else.
 */
import type { z } from 'zod';
import { joinAgendaPages } from '../../contract/paging.js';
import { Internal, InvalidInput } from '../../contract/errors.js';
import { MAX_PAGE_SIZE as LIST_PAGE_MAX_ITEMS } from '../../contract/limits.js';
import type {
  AcceptRequest,
  AddMemberRequest,
  ChangePasswordRequest,
  CreateDeviceRequest,
  CreateFeedRequest,
  CreateEventRequest,
  CreateGroupRequest,
  DeclineGroupRequest,
  DeleteAccountRequest,
  LoginRequest,
  RegisterRequest,
  UpdateEventRequest,
} from '../../contract/api.js';
import type {
  AccountDeletedAnswer,
  AgendasAnswer,
  ConflictsAnswer,
  DeclineGroupAnswer,
  EventAnswer,
  EventsAnswer,
  DeviceAnswer,
  DeviceRevokedAnswer,
  DevicesAnswer,
  FeedAnswer,
  FeedRevokedAnswer,
  FeedsAnswer,
  FreeAnswer,
  GroupAnswer,
  GroupsAnswer,
  ImportAnswer,
  InvitationsAnswer,
  LoginAnswer,
  LogoutAnswer,
  ScheduledAnswer,
  UserAnswer,
} from '../../contract/api.js';
import type { Visibility } from '../../contract/views.js';
import {
  API_ROUTES,
  type AnswerOf,
  type ApiRoutes,
  type OptionalQuery,
  type PathParams,
  type RequestSchema,
  type RequestSchemaName,
  type RequiredQuery,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import type { GatewayCall, GatewayClient, ReadDeadline } from './gateway-client.js';

/** An interval of a query, as ISO instants with offsets. */
export interface QueryInterval {
  readonly from: string;
  readonly to: string;
}

/** A list as the CLI shows it: every page of the answer, concatenated, without `next`. */
export type WholeList<A extends { readonly next: string | null }> = Omit<A, 'next'>;

export interface AgendaApiOptions {
  /**
   * Items asked for per page of a list (1 to `LIST_PAGE_MAX_ITEMS`); the gateway's default
   * when absent. Tests set it small (the CLI reads `AGENDA_PAGE_SIZE`) to see lists paged.
   */
  readonly pageSize?: number;
}

/** The routes answered with one document; the live stream is followed by ./live-updates.ts. */
export type CallableRoute = {
  [K in RouteName]: ApiRoutes[K]['answer'] extends { readonly kind: 'events' } ? never : K;
}[RouteName];

/** The routes whose answers are pages of a list. */
export type PagedRoute = {
  [K in RouteName]: ApiRoutes[K] extends { readonly paged: string } ? K : never;
}[RouteName];

// A part a route does not have is typed `never`, so sending it anyway does not compile.
type ParamsPart<R extends RouteDeclaration> =
  unknown extends PathParams<R['path']>
    ? { readonly params?: never }
    : { readonly params: PathParams<R['path']> };

type QueryValues<R> = { readonly [N in RequiredQuery<R>]: string } & {
  readonly [N in OptionalQuery<R>]?: string | undefined;
};
type QueryPart<R> = [RequiredQuery<R> | OptionalQuery<R>] extends [never]
  ? { readonly query?: never }
  : [RequiredQuery<R>] extends [never]
    ? { readonly query?: QueryValues<R> }
    : { readonly query: QueryValues<R> };

type BodyPart<R> = R extends {
  readonly body: { readonly kind: 'json'; readonly schema: infer N extends RequestSchemaName };
}
  ? R['body'] extends { readonly optional: true }
    ? { readonly body?: z.input<RequestSchema<N>>; readonly calendar?: never }
    : { readonly body: z.input<RequestSchema<N>>; readonly calendar?: never }
  : R extends { readonly body: { readonly kind: 'calendar' } }
    ? { readonly calendar: string; readonly body?: never }
    : { readonly body?: never; readonly calendar?: never };

/** What a request to route `K` carries, as its declaration says. */
export type RequestOf<K extends RouteName> = ParamsPart<ApiRoutes[K]> &
  QueryPart<ApiRoutes[K]> &
  BodyPart<ApiRoutes[K]>;

/** How one call is made, beyond what the route declares. */
export interface CallOptions {
  /** For a write the caller may retry across calls; see `GatewayCall.idempotencyKey`. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  /** See `GatewayCall.quickConnect`. */
  readonly quickConnect?: boolean;
  /** See `GatewayCall.renewal`. */
  readonly renewal?: boolean;
  /** See `GatewayCall.within`. */
  readonly within?: ReadDeadline;
}

/** Any route's request, once its type has done its work. */
interface RequestParts {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly calendar?: string;
}

/**
 * `value` if the API's schema named `name` accepts it; else the first problem, naming its
 * field. The schemas, and zod, load with the first body checked: a read never loads them.
 */
async function checked(name: RequestSchemaName, value: unknown): Promise<unknown> {
  const { requestSchema } = await import('../../contract/request-schemas.js');
  const parsed = requestSchema(name).safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  const message = issue?.message ?? 'invalid request';
  throw new InvalidInput(field === '' ? message : `${field}: ${message}`, {
    ...(field === '' ? {} : { field }),
  });
}

/** A path template with its parameters escaped into it. */
function pathOf(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Internal(`no value for :${name} in ${template}`);
    return encodeURIComponent(value);
  });
}

/** The media type a route's answer comes in, for `accept`. */
const ACCEPT: Readonly<Record<RouteDeclaration['answer']['kind'], string>> = {
  json: 'application/json',
  calendar: 'text/calendar',
  text: 'text/plain',
  events: 'text/event-stream',
};

/** Longest a read of a whole document (an iCalendar export) may take over every gateway. */
const DOCUMENT_READ_DEADLINE_MS = 60_000;

/** Every call the CLI makes, on top of a {@link GatewayClient}. */
export class AgendaApi {
  private readonly pageSize: number | undefined;

  constructor(
    readonly gateway: GatewayClient,
    options: AgendaApiOptions = {},
  ) {
    const size = options.pageSize;
    if (
      size !== undefined &&
      !(Number.isInteger(size) && size >= 1 && size <= LIST_PAGE_MAX_ITEMS)
    ) {
      throw new InvalidInput(`a page size is a whole number from 1 to ${LIST_PAGE_MAX_ITEMS}`, {
        field: 'pageSize',
      });
    }
    this.pageSize = size;
  }

  /**
   * Sends `request` to route `name` on the first gateway able to answer, and resolves with
   * its answer: JSON checked to carry the member the route declares, or the document's text.
   * @throws InvalidInput before sending, when the body breaks the route's schema.
   */
  async call<K extends CallableRoute>(
    name: K,
    request: RequestOf<K>,
    options: CallOptions = {},
  ): Promise<AnswerOf<ApiRoutes[K]>> {
    const route: RouteDeclaration = API_ROUTES[name];
    const parts = request as RequestParts;
    const body = route.body ?? { kind: 'none' };
    const json =
      body.kind === 'json' && parts.body !== undefined
        ? await checked(body.schema, parts.body)
        : undefined;
    const call: GatewayCall = {
      method: route.method,
      path: pathOf(route.path, parts.params ?? {}),
      ...(parts.query === undefined ? {} : { query: parts.query }),
      ...(json === undefined ? {} : { json }),
      ...(body.kind === 'calendar' ? { calendar: parts.calendar ?? '' } : {}),
      authenticated: route.auth === 'user',
      // A document (an export) may be megabytes: a read's usual 3 s is for JSON pages.
      ...(route.answer.kind === 'json'
        ? {}
        : { accept: ACCEPT[route.answer.kind], deadlineMs: DOCUMENT_READ_DEADLINE_MS }),
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(options.quickConnect === true ? { quickConnect: true } : {}),
      ...(options.renewal === true ? { renewal: true } : {}),
      ...(options.within === undefined ? {} : { within: options.within }),
    };
    if (route.answer.kind === 'json') {
      return this.gateway.json(call, route.answer.field, options.signal);
    }
    const answer = await this.gateway.call(call, options.signal);
    return answer.body as AnswerOf<ApiRoutes[K]>;
  }

  /**
   * Every page of a list: asks for the first, then follows `next` until it is null (or
   * absent, as gateways from before paging answer), so callers see whole lists.
   */
  private async allPages<K extends PagedRoute>(
    name: K,
    query: Omit<QueryValues<ApiRoutes[K]>, 'limit' | 'after'>,
  ): Promise<AnswerOf<ApiRoutes[K]>[]> {
    const pages: AnswerOf<ApiRoutes[K]>[] = [];
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const limit = this.pageSize === undefined ? undefined : String(this.pageSize);
      // A paged route's query is its declared one plus `limit` and `after`.
      const request: RequestParts = { query: { ...query, limit, after } };
      const page = await this.call(name, request as RequestOf<K>);
      pages.push(page);
      const next = (page as { readonly next?: string | null }).next ?? null;
      if (next === null) return pages;
      // A cursor seen before would loop for ever: a gateway bug, not something to retry.
      if (seen.has(next)) {
        throw new Internal(`the gateway answered the same page of ${API_ROUTES[name].path} twice`);
      }
      seen.add(next);
      after = next;
    }
  }

  register(request: RegisterRequest): Promise<UserAnswer> {
    return this.call('register', { body: request });
  }

  login(request: LoginRequest): Promise<LoginAnswer> {
    return this.call('login', { body: request });
  }

  /**
   * Renews a session: spends its refresh token for a new access token and the next refresh
   * token (cli/http/session-tokens.ts does it when an access token runs out). Sent again
   * with the same `idempotencyKey` and token, it answers the rotation it made.
   */
  refreshSession(
    refreshToken: string,
    signal?: AbortSignal,
    within?: ReadDeadline,
    idempotencyKey?: string,
  ): Promise<LoginAnswer> {
    // A read may be waiting on it: a gateway that cannot be reached costs it a read's
    // connect budget, not a write's, and the whole renewal keeps to the read's deadline.
    return this.call(
      'refreshSession',
      { body: { refreshToken } },
      {
        quickConnect: true,
        renewal: true,
        ...(signal ? { signal } : {}),
        ...(within ? { within } : {}),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      },
    );
  }

  me(): Promise<UserAnswer> {
    return this.call('me', {});
  }

  /** Ends this session on the server: its token is refused from now on, everywhere. */
  logout(): Promise<LogoutAnswer> {
    return this.call('logout', {});
  }

  /** Ends every session and feed of the account; answers a new session. */
  changePassword(request: ChangePasswordRequest): Promise<LoginAnswer> {
    return this.call('changePassword', { body: request });
  }

  /** Deletes the account for good (its password proves it is you); answers what went. */
  deleteAccount(request: DeleteAccountRequest): Promise<AccountDeletedAnswer> {
    return this.call('deleteAccount', { body: request });
  }

  createFeed(request: CreateFeedRequest): Promise<FeedAnswer> {
    return this.call('createFeed', { body: request });
  }

  feeds(): Promise<FeedsAnswer> {
    return this.call('feeds', {});
  }

  revokeFeed(feedId: string): Promise<FeedRevokedAnswer> {
    return this.call('revokeFeed', { params: { feedId } });
  }

  /** A device's app password for CalDAV, shown once. */
  createDevice(request: CreateDeviceRequest): Promise<DeviceAnswer> {
    return this.call('createDevice', { body: request });
  }

  devices(): Promise<DevicesAnswer> {
    return this.call('devices', {});
  }

  revokeDevice(deviceId: string): Promise<DeviceRevokedAnswer> {
    return this.call('revokeDevice', { params: { deviceId } });
  }

  createEvent(request: CreateEventRequest): Promise<ScheduledAnswer> {
    return this.call('createEvent', { body: request });
  }

  /** The caller's occurrences in the interval: every page, in order. */
  async listEvents(interval: QueryInterval): Promise<WholeList<EventsAnswer>> {
    const pages = await this.allPages('listEvents', { ...interval });
    return { events: pages.flatMap((p) => p.events) };
  }

  /**
   * The caller's occurrences in the interval whose event's title, description or location
   * contains `text`: every page, in order.
   */
  async searchEvents(text: string, interval: QueryInterval): Promise<WholeList<EventsAnswer>> {
    const pages = await this.allPages('searchEvents', { q: text, ...interval });
    return { events: pages.flatMap((p) => p.events) };
  }

  showEvent(id: string): Promise<EventAnswer> {
    return this.call('showEvent', { params: { eventId: id } });
  }

  /**
   * Changes the whole event, or only its occurrence starting at `occurrence` (ISO), which
   * becomes an event of its own: the answer is that event.
   */
  updateEvent(
    id: string,
    request: UpdateEventRequest,
    occurrence?: string,
  ): Promise<ScheduledAnswer> {
    return this.call('updateEvent', {
      params: { eventId: id },
      query: { occurrence },
      body: request,
    });
  }

  /** Cancels the whole series, or only the occurrence starting at `occurrence` (ISO). */
  cancelEvent(id: string, occurrence?: string): Promise<EventAnswer> {
    return this.call('cancelEvent', { params: { eventId: id }, query: { occurrence } });
  }

  /** What waits for the caller's answer: every page of event invitations, in order. */
  async invitations(): Promise<WholeList<InvitationsAnswer>> {
    const pages = await this.allPages('invitations', {});
    return {
      invitations: pages.flatMap((p) => p.invitations),
      groupInvitations: pages.flatMap((p) => p.groupInvitations),
    };
  }

  acceptInvitation(eventId: string, request: AcceptRequest): Promise<EventAnswer> {
    return this.call('acceptInvitation', { params: { eventId }, body: request });
  }

  declineInvitation(eventId: string): Promise<EventAnswer> {
    return this.call('declineInvitation', { params: { eventId } });
  }

  createGroup(request: CreateGroupRequest): Promise<GroupAnswer> {
    return this.call('createGroup', { body: request });
  }

  addMember(group: string, request: AddMemberRequest): Promise<GroupAnswer> {
    return this.call('addMember', { params: { group }, body: request });
  }

  removeMember(group: string, username: string): Promise<GroupAnswer> {
    return this.call('removeMember', { params: { group, username } });
  }

  leaveGroup(group: string): Promise<GroupAnswer> {
    return this.call('leaveGroup', { params: { group } });
  }

  joinGroup(group: string): Promise<GroupAnswer> {
    return this.call('joinGroup', { params: { group } });
  }

  declineGroup(group: string, request: DeclineGroupRequest): Promise<DeclineGroupAnswer> {
    return this.call('declineGroup', { params: { group }, body: request });
  }

  unblockGroup(group: string): Promise<DeclineGroupAnswer> {
    return this.call('unblockGroup', { params: { group } });
  }

  groups(): Promise<GroupsAnswer> {
    return this.call('groups', {});
  }

  showGroup(group: string): Promise<GroupAnswer> {
    return this.call('showGroup', { params: { group } });
  }

  /** Each target's agenda over the interval, whole: agendas split over pages are joined. */
  async agendas(
    targets: { readonly group: string } | { readonly users: readonly string[] },
    interval: QueryInterval,
  ): Promise<WholeList<AgendasAnswer>> {
    const query =
      'group' in targets
        ? { group: targets.group, ...interval }
        : { users: targets.users.join(','), ...interval };
    const pages = await this.allPages('agendas', query);
    return { agendas: joinAgendaPages(pages) };
  }

  /** The caller's conflicts in the interval: every page, in order. */
  async conflicts(interval: QueryInterval): Promise<WholeList<ConflictsAnswer>> {
    const pages = await this.allPages('conflicts', { ...interval });
    return { conflicts: pages.flatMap((p) => p.conflicts) };
  }

  /** Free gaps of a group's members, or of the caller and `users`. */
  free(
    who: { readonly group: string } | { readonly users: readonly string[] },
    interval: QueryInterval,
    duration: string,
  ): Promise<FreeAnswer> {
    const target = 'group' in who ? { group: who.group } : { users: who.users.join(',') };
    return this.call('free', { query: { ...target, ...interval, duration } });
  }

  /** The caller's agenda as iCalendar text. */
  exportCalendar(interval: Partial<QueryInterval>): Promise<string> {
    return this.call('exportCalendar', { query: { ...interval } });
  }

  /**
   * Imports one request's worth of iCalendar text (see `IMPORT_REQUEST_MAX_EVENTS`).
   * `timeZone` reads the file's times that name no zone; `visibility` is that of the events
   * whose VEVENT says no CLASS (the server's default: public); `idempotencyKey` lets a
   * caller retry the same request without applying it twice.
   */
  importCalendar(
    calendar: string,
    allowConflict: boolean,
    timeZone: string,
    { visibility, ...options }: CallOptions & { readonly visibility?: Visibility } = {},
  ): Promise<ImportAnswer> {
    return this.call(
      'importCalendar',
      {
        query: { allowConflict: allowConflict ? 'true' : undefined, timeZone, visibility },
        calendar,
      },
      options,
    );
  }
}
