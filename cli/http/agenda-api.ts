/**
 * The gateway's API (server/protocol/api.ts) as typed methods: one per route, with the
 * route's request and answer types. Request bodies are checked against the API's own
 * schemas before anything is sent, so bad input fails fast with the field at fault; names,
 * ids and usernames are escaped into paths here and nowhere else.
 */
import type { z } from 'zod';
import { joinAgendaPages } from '../../server/domain/paging.js';
import { Internal, InvalidInput } from '../../server/errors.js';
import {
  AcceptRequest,
  AddMemberRequest,
  CreateEventRequest,
  CreateGroupRequest,
  LIST_PAGE_MAX_ITEMS,
  LoginRequest,
  RegisterRequest,
  UpdateEventRequest,
} from '../../server/protocol/api.js';
import type {
  AgendasAnswer,
  ConflictsAnswer,
  EventAnswer,
  EventsAnswer,
  FreeAnswer,
  GroupAnswer,
  GroupsAnswer,
  ImportAnswer,
  InvitationsAnswer,
  LoginAnswer,
  ScheduledAnswer,
  UserAnswer,
} from '../../server/protocol/api.js';
import type { GatewayClient } from './gateway-client.js';

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

const segment = encodeURIComponent;

/** `value` if the API's schema accepts it; else the first problem, naming its field. */
function checked<T>(schema: z.ZodType<T>, value: T): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  const message = issue?.message ?? 'invalid request';
  throw new InvalidInput(field === '' ? message : `${field}: ${message}`, {
    ...(field === '' ? {} : { field }),
  });
}

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
   * Every page of a list: asks for the first, then follows `next` until it is null (or
   * absent, as gateways from before paging answer), so callers see whole lists.
   */
  private async allPages<A extends { readonly next: string | null }>(
    path: string,
    query: Readonly<Record<string, string | undefined>>,
    field: string,
  ): Promise<A[]> {
    const pages: A[] = [];
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const limit = this.pageSize === undefined ? undefined : String(this.pageSize);
      const page = await this.gateway.json<A>(
        { method: 'GET', path, query: { ...query, limit, after }, authenticated: true },
        field,
      );
      pages.push(page);
      const next = page.next ?? null;
      if (next === null) return pages;
      // A cursor seen before would loop for ever: a gateway bug, not something to retry.
      if (seen.has(next)) throw new Internal(`the gateway answered the same page of ${path} twice`);
      seen.add(next);
      after = next;
    }
  }

  register(request: RegisterRequest): Promise<UserAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: '/users',
        json: checked(RegisterRequest, request),
        authenticated: false,
      },
      'user',
    );
  }

  login(request: LoginRequest): Promise<LoginAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: '/sessions',
        json: checked(LoginRequest, request),
        authenticated: false,
      },
      'token',
    );
  }

  me(): Promise<UserAnswer> {
    return this.gateway.json({ method: 'GET', path: '/me', authenticated: true }, 'user');
  }

  createEvent(request: CreateEventRequest): Promise<ScheduledAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: '/events',
        json: checked(CreateEventRequest, request),
        authenticated: true,
      },
      'event',
    );
  }

  /** The caller's occurrences in the interval: every page, in order. */
  async listEvents(interval: QueryInterval): Promise<WholeList<EventsAnswer>> {
    const pages = await this.allPages<EventsAnswer>('/events', { ...interval }, 'events');
    return { events: pages.flatMap((p) => p.events) };
  }

  showEvent(id: string): Promise<EventAnswer> {
    return this.gateway.json(
      { method: 'GET', path: `/events/${segment(id)}`, authenticated: true },
      'event',
    );
  }

  updateEvent(id: string, request: UpdateEventRequest): Promise<ScheduledAnswer> {
    return this.gateway.json(
      {
        method: 'PATCH',
        path: `/events/${segment(id)}`,
        json: checked(UpdateEventRequest, request),
        authenticated: true,
      },
      'event',
    );
  }

  /** Cancels the whole series, or only the occurrence starting at `occurrence` (ISO). */
  cancelEvent(id: string, occurrence?: string): Promise<EventAnswer> {
    return this.gateway.json(
      {
        method: 'DELETE',
        path: `/events/${segment(id)}`,
        query: { occurrence },
        authenticated: true,
      },
      'event',
    );
  }

  invitations(): Promise<InvitationsAnswer> {
    return this.gateway.json(
      { method: 'GET', path: '/invitations', authenticated: true },
      'invitations',
    );
  }

  acceptInvitation(eventId: string, request: AcceptRequest): Promise<EventAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: `/invitations/${segment(eventId)}/accept`,
        json: checked(AcceptRequest, request),
        authenticated: true,
      },
      'event',
    );
  }

  declineInvitation(eventId: string): Promise<EventAnswer> {
    return this.gateway.json(
      { method: 'POST', path: `/invitations/${segment(eventId)}/decline`, authenticated: true },
      'event',
    );
  }

  createGroup(request: CreateGroupRequest): Promise<GroupAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: '/groups',
        json: checked(CreateGroupRequest, request),
        authenticated: true,
      },
      'group',
    );
  }

  addMember(group: string, request: AddMemberRequest): Promise<GroupAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: `/groups/${segment(group)}/members`,
        json: checked(AddMemberRequest, request),
        authenticated: true,
      },
      'group',
    );
  }

  removeMember(group: string, username: string): Promise<GroupAnswer> {
    return this.gateway.json(
      {
        method: 'DELETE',
        path: `/groups/${segment(group)}/members/${segment(username)}`,
        authenticated: true,
      },
      'group',
    );
  }

  leaveGroup(group: string): Promise<GroupAnswer> {
    return this.gateway.json(
      { method: 'POST', path: `/groups/${segment(group)}/leave`, authenticated: true },
      'group',
    );
  }

  groups(): Promise<GroupsAnswer> {
    return this.gateway.json({ method: 'GET', path: '/groups', authenticated: true }, 'groups');
  }

  showGroup(group: string): Promise<GroupAnswer> {
    return this.gateway.json(
      { method: 'GET', path: `/groups/${segment(group)}`, authenticated: true },
      'group',
    );
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
    const pages = await this.allPages<AgendasAnswer>('/agendas', query, 'agendas');
    return { agendas: joinAgendaPages(pages) };
  }

  /** The caller's conflicts in the interval: every page, in order. */
  async conflicts(interval: QueryInterval): Promise<WholeList<ConflictsAnswer>> {
    const pages = await this.allPages<ConflictsAnswer>('/conflicts', { ...interval }, 'conflicts');
    return { conflicts: pages.flatMap((p) => p.conflicts) };
  }

  free(group: string, interval: QueryInterval, duration: string): Promise<FreeAnswer> {
    return this.gateway.json(
      {
        method: 'GET',
        path: '/free',
        query: { group, ...interval, duration },
        authenticated: true,
      },
      'slots',
    );
  }

  /** The caller's agenda as iCalendar text. */
  async exportCalendar(interval: Partial<QueryInterval>): Promise<string> {
    const answer = await this.gateway.call({
      method: 'GET',
      path: '/export',
      query: { ...interval },
      accept: 'text/calendar',
      authenticated: true,
    });
    return answer.body;
  }

  /**
   * Imports one request's worth of iCalendar text (see `IMPORT_REQUEST_MAX_EVENTS`).
   * `timeZone` reads the file's times that name no zone; `idempotencyKey` lets a caller
   * retry the same request without applying it twice.
   */
  importCalendar(
    calendar: string,
    allowConflict: boolean,
    timeZone: string,
    options: { readonly idempotencyKey?: string; readonly signal?: AbortSignal } = {},
  ): Promise<ImportAnswer> {
    return this.gateway.json(
      {
        method: 'POST',
        path: '/import',
        query: { allowConflict: allowConflict ? 'true' : undefined, timeZone },
        calendar,
        authenticated: true,
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      },
      'events',
      options.signal,
    );
  }
}
