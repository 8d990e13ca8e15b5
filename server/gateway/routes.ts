/**
 * The API of server/protocol/api.ts as a table: for each route, who may call it, which query
 * parameters it takes, and how the request becomes an op and the op's result an answer.
 * The HTTP mechanics (authentication, bodies, deadlines, errors) live in gateway.ts behind
 * {@link ApiCall}, so this file reads as the route → op mapping and nothing else.
 */
import { z } from 'zod';
import { parseInstant, validateTimeZone } from '../domain/index.js';
import { Internal } from '../errors.js';
import {
  AcceptRequest,
  AddMemberRequest,
  API_PREFIX,
  ChangeLevelRequest,
  CreateEventRequest,
  CreateGroupRequest,
  LoginRequest,
  RegisterRequest,
  UpdateEventRequest,
  type FeedAnswer,
} from '../protocol/api.js';
import type { Op } from '../protocol/ops.js';
import type { CommandBody, QueryBody } from '../store/protocol.js';
import {
  agendaViewQuery,
  createEventCommand,
  exportQuery,
  freeTimeQuery,
  pathParameter,
  updateEventCommand,
  type QueryParameters,
} from './requests.js';
import { Router } from './router.js';

/**
 * Who may call a route: anyone (`none`), a user with a session token (`user`), or the
 * holder of a feed token carried in the path (`feed`).
 */
/**
 * Who may call a route: anyone, a user (session token), a feed token's user, or an operator
 * (a client certificate from the cluster's CA, as Prometheus or the lab's operator presents).
 */
export type Authentication = 'none' | 'user' | 'feed' | 'operator';

/** What a route answers; gateway.ts writes it out. */
export type Answer =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'text'; readonly contentType: string; readonly body: string }
  | { readonly kind: 'stream' };

/** One request as a route handler sees it: validated pieces and the means to act. */
export interface ApiCall {
  /** Path parameters, percent-decoded (not yet validated). */
  readonly params: Readonly<Record<string, string>>;
  /** The query string, already checked against the route's accepted parameters. */
  readonly query: QueryParameters;
  /** The authenticated user; null on `none` routes. */
  readonly actor: string | null;
  /** The JSON body validated by `schema`; with `optional`, no body means `{}`. */
  json<T>(schema: z.ZodType<T>, options?: { readonly optional?: boolean }): Promise<T>;
  /** The `text/calendar` body. */
  calendar(): Promise<string>;
  /** Sends `op` to the service `serviceFor(op)` names and waits for its result. */
  dispatch(op: Op): Promise<unknown>;
  /** Counts a login attempt for `username`; throws `RateLimited` past the limits. */
  throttleLogin(username: string): void;
  /** `path` (from `/`) as an absolute URL of this gateway, as clients reach it. */
  absoluteUrl(path: string): string;
  /** Turns the connection into the caller's live update stream, once subscribed. */
  stream(): Promise<Answer>;
}

export interface ApiRoute {
  readonly auth: Authentication;
  /** Query parameters the route accepts; any other is refused. */
  readonly query?: readonly string[];
  handle(call: ApiCall): Promise<Answer>;
}

const ok = (body: unknown): Answer => ({ kind: 'json', status: 200, body });
const created = (body: unknown): Answer => ({ kind: 'json', status: 201, body });
const calendarText = (body: string): Answer => ({
  kind: 'text',
  contentType: 'text/calendar; charset=utf-8',
  body,
});

const command = (body: CommandBody): Op => ({ type: 'command', body });
const query = (body: QueryBody): Op => ({ type: 'query', body });

/** Bodies of requests that take none: an empty body or `{}` only. */
const NoFields = z.strictObject({});

const exportResult = z.object({ ics: z.string() });
/** The users service answers the feed's path; the gateway knows the origin clients use. */
const feedResult = z.object({ url: z.string().regex(/^\/v1\/feeds\/[^/]+\/calendar\.ics$/) });

/** Checks the few results the gateway reshapes; a service answering otherwise is a bug. */
function resultOf<T>(schema: z.ZodType<T>, result: unknown, what: string): T {
  const parsed = schema.safeParse(result);
  if (!parsed.success) throw new Internal(`the service answered ${what} in an unexpected shape`);
  return parsed.data;
}

function eventId(call: ApiCall): string {
  return pathParameter('eventId', call.params.eventId);
}

function groupName(call: ApiCall): string {
  return pathParameter('group', call.params.group);
}

function memberName(call: ApiCall): string {
  return pathParameter('username', call.params.username);
}

const v1 = (path: string): string => `${API_PREFIX}${path}`;

/** Every route of api.ts. */
export function apiRoutes(): Router<ApiRoute> {
  return (
    new Router<ApiRoute>()
      // Accounts
      .add('POST', v1('/users'), {
        auth: 'none',
        async handle(call) {
          const { username, password, name } = await call.json(RegisterRequest);
          const op: Op = {
            type: 'account.register',
            username,
            password,
            ...(name === undefined ? {} : { name }),
          };
          return created(await call.dispatch(op));
        },
      })
      .add('POST', v1('/sessions'), {
        auth: 'none',
        async handle(call) {
          const { username, password } = await call.json(LoginRequest);
          call.throttleLogin(username);
          return ok(await call.dispatch({ type: 'account.login', username, password }));
        },
      })
      .add('GET', v1('/me'), {
        auth: 'user',
        handle: async (call) => ok(await call.dispatch({ type: 'account.me' })),
      })
      // Events
      .add('POST', v1('/events'), {
        auth: 'user',
        async handle(call) {
          const body = createEventCommand(await call.json(CreateEventRequest));
          return created(await call.dispatch(command(body)));
        },
      })
      .add('GET', v1('/events'), {
        auth: 'user',
        query: ['from', 'to', 'limit', 'after'],
        handle: async (call) =>
          ok(
            await call.dispatch(
              query({
                type: 'event.list',
                ...call.query.interval(),
                ...call.query.page('event'),
              }),
            ),
          ),
      })
      .add('GET', v1('/events/:eventId'), {
        auth: 'user',
        handle: async (call) =>
          ok(await call.dispatch(query({ type: 'event.show', eventId: eventId(call) }))),
      })
      .add('PATCH', v1('/events/:eventId'), {
        auth: 'user',
        async handle(call) {
          const id = eventId(call);
          const body = updateEventCommand(id, await call.json(UpdateEventRequest));
          return ok(await call.dispatch(command(body)));
        },
      })
      .add('DELETE', v1('/events/:eventId'), {
        auth: 'user',
        query: ['occurrence'],
        handle: async (call) => {
          // With ?occurrence=<start> only that occurrence of a series is cancelled.
          const occurrence = call.query.optional('occurrence');
          return ok(
            await call.dispatch(
              command(
                occurrence === undefined
                  ? { type: 'event.cancel', eventId: eventId(call) }
                  : {
                      type: 'event.cancelOccurrence',
                      eventId: eventId(call),
                      occurrenceStart: parseInstant(occurrence, 'occurrence'),
                    },
              ),
            ),
          );
        },
      })
      // Invitations
      .add('GET', v1('/invitations'), {
        auth: 'user',
        handle: async (call) => ok(await call.dispatch(query({ type: 'invitation.list' }))),
      })
      .add('POST', v1('/invitations/:eventId/accept'), {
        auth: 'user',
        async handle(call) {
          const id = eventId(call);
          const { allowConflict } = await call.json(AcceptRequest, { optional: true });
          return ok(
            await call.dispatch(
              command({
                type: 'invitation.accept',
                eventId: id,
                ...(allowConflict === undefined ? {} : { allowConflict }),
              }),
            ),
          );
        },
      })
      .add('POST', v1('/invitations/:eventId/decline'), {
        auth: 'user',
        async handle(call) {
          const id = eventId(call);
          await call.json(NoFields, { optional: true });
          return ok(await call.dispatch(command({ type: 'invitation.decline', eventId: id })));
        },
      })
      // Groups
      .add('POST', v1('/groups'), {
        auth: 'user',
        async handle(call) {
          const { name, kind } = await call.json(CreateGroupRequest);
          return created(await call.dispatch(command({ type: 'group.create', name, kind })));
        },
      })
      .add('GET', v1('/groups'), {
        auth: 'user',
        handle: async (call) => ok(await call.dispatch(query({ type: 'group.list' }))),
      })
      .add('GET', v1('/groups/:group'), {
        auth: 'user',
        handle: async (call) =>
          ok(await call.dispatch(query({ type: 'group.show', group: groupName(call) }))),
      })
      .add('POST', v1('/groups/:group/members'), {
        auth: 'user',
        async handle(call) {
          const group = groupName(call);
          const { username, level } = await call.json(AddMemberRequest);
          return ok(
            await call.dispatch(
              command({
                type: 'group.addMember',
                group,
                username,
                ...(level === undefined ? {} : { level }),
              }),
            ),
          );
        },
      })
      .add('PATCH', v1('/groups/:group/members/:username'), {
        auth: 'user',
        async handle(call) {
          const group = groupName(call);
          const username = memberName(call);
          const { level } = await call.json(ChangeLevelRequest);
          return ok(
            await call.dispatch(command({ type: 'group.changeLevel', group, username, level })),
          );
        },
      })
      .add('DELETE', v1('/groups/:group/members/:username'), {
        auth: 'user',
        async handle(call) {
          const group = groupName(call);
          const username = memberName(call);
          return ok(await call.dispatch(command({ type: 'group.removeMember', group, username })));
        },
      })
      .add('POST', v1('/groups/:group/leave'), {
        auth: 'user',
        async handle(call) {
          const group = groupName(call);
          await call.json(NoFields, { optional: true });
          return ok(await call.dispatch(command({ type: 'group.leave', group })));
        },
      })
      // Views of time
      .add('GET', v1('/agendas'), {
        auth: 'user',
        query: ['group', 'users', 'from', 'to', 'limit', 'after'],
        handle: async (call) => ok(await call.dispatch(query(agendaViewQuery(call.query)))),
      })
      .add('GET', v1('/conflicts'), {
        auth: 'user',
        query: ['from', 'to', 'limit', 'after'],
        handle: async (call) =>
          ok(
            await call.dispatch(
              query({
                type: 'conflicts.list',
                ...call.query.interval(),
                ...call.query.page('conflict'),
              }),
            ),
          ),
      })
      .add('GET', v1('/free'), {
        auth: 'user',
        query: ['group', 'from', 'to', 'duration'],
        handle: async (call) => ok(await call.dispatch(query(freeTimeQuery(call.query)))),
      })
      // Interop
      .add('GET', v1('/export'), {
        auth: 'user',
        query: ['from', 'to'],
        async handle(call) {
          const result = await call.dispatch(query(exportQuery(call.query)));
          return calendarText(resultOf(exportResult, result, 'an export').ics);
        },
      })
      .add('POST', v1('/import'), {
        auth: 'user',
        query: ['allowConflict', 'timeZone'],
        async handle(call) {
          const allowConflict = call.query.flag('allowConflict');
          const zone = call.query.optional('timeZone');
          const ics = await call.calendar();
          const op: Op = {
            type: 'agenda.import',
            ics,
            ...(allowConflict === undefined ? {} : { allowConflict }),
            // Times without a zone in the file are read in this one.
            ...(zone === undefined ? {} : { defaultTimeZone: validateTimeZone(zone) }),
          };
          return ok(await call.dispatch(op));
        },
      })
      .add('POST', v1('/feeds'), {
        auth: 'user',
        async handle(call) {
          await call.json(NoFields, { optional: true });
          const { url } = resultOf(
            feedResult,
            await call.dispatch({ type: 'feed.create' }),
            'a feed',
          );
          const answer: FeedAnswer = { url: call.absoluteUrl(url) };
          return ok(answer);
        },
      })
      .add('GET', v1('/feeds/:token/calendar.ics'), {
        auth: 'feed',
        async handle(call) {
          const result = await call.dispatch(query({ type: 'agenda.export' }));
          return calendarText(resultOf(exportResult, result, 'an export').ics);
        },
      })
      // Live updates
      .add('GET', v1('/stream'), {
        auth: 'user',
        handle: (call) => call.stream(),
      })
  );
}
