/**
 * The gateway's API (server/protocol/api.ts) as typed methods: one per route, with the
 * route's request and answer types. Request bodies are checked against the API's own
 * schemas before anything is sent, so bad input fails fast with the field at fault; names,
 * ids and usernames are escaped into paths here and nowhere else.
 */
import type { z } from 'zod';
import { InvalidInput } from '../../server/errors.js';
import {
  AcceptRequest,
  AddMemberRequest,
  CreateEventRequest,
  CreateGroupRequest,
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
  constructor(readonly gateway: GatewayClient) {}

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

  listEvents(interval: QueryInterval): Promise<EventsAnswer> {
    return this.gateway.json(
      { method: 'GET', path: '/events', query: { ...interval }, authenticated: true },
      'events',
    );
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

  agendas(
    targets: { readonly group: string } | { readonly users: readonly string[] },
    interval: QueryInterval,
  ): Promise<AgendasAnswer> {
    const query =
      'group' in targets
        ? { group: targets.group, ...interval }
        : { users: targets.users.join(','), ...interval };
    return this.gateway.json(
      { method: 'GET', path: '/agendas', query, authenticated: true },
      'agendas',
    );
  }

  conflicts(interval: QueryInterval): Promise<ConflictsAnswer> {
    return this.gateway.json(
      { method: 'GET', path: '/conflicts', query: { ...interval }, authenticated: true },
      'conflicts',
    );
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
