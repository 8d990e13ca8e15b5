/**
 * REST input → operation bodies, as pure functions: JSON bodies checked against the API's
 * schemas, query strings and path parameters checked by name, ISO instants (offsets
 * honoured) turned into milliseconds, `duration` into `end`, `repeat` into `recurrence`,
 * `with` into `invite` for updates. Every refusal is an {@link InvalidInput} naming the field.
 */
import type { z } from 'zod';
import {
  LATEST_INSTANT,
  MAX_GROUP_MEMBERS,
  MAX_PAGE_SIZE,
  decodeCursor,
  parseDuration,
  parseInstant,
  validateQueryInterval,
} from '../domain/index.js';
import type { ListKind, Millis } from '../domain/index.js';
import { InvalidInput } from '../../contract/errors.js';
import type { CreateEventRequest, UpdateEventRequest } from '../../contract/api.js';
import type {
  ApiRoutes,
  OptionalQuery,
  RequiredQuery,
  RouteName,
} from '../../contract/api-routes.js';
import { MAX_ID_LENGTH } from '../store/protocol.js';
import type { CommandOf, QueryOf } from '../store/protocol.js';

/** Drops the keys whose value is `undefined`, so op bodies carry only what was given. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The first problem zod found, as a refusal naming the field; unknown fields come first. */
export function describeIssues(error: z.ZodError, where = ''): InvalidInput {
  const unknown = error.issues.find((issue) => issue.code === 'unrecognized_keys');
  const issue = unknown ?? error.issues[0];
  const prefix = where === '' ? '' : `${where}.`;
  const path = issue?.path.map(String).join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => (path === '' ? key : `${path}.${key}`));
    return new InvalidInput(
      `unknown field${fields.length > 1 ? 's' : ''} ${fields.map((f) => JSON.stringify(f)).join(', ')}`,
      { field: `${prefix}${fields[0] ?? ''}`, cause: error },
    );
  }
  const field = path === '' ? undefined : `${prefix}${path}`;
  const reason = issue?.message ?? 'malformed';
  return new InvalidInput(field === undefined ? `the body: ${reason}` : `${field}: ${reason}`, {
    ...(field === undefined ? {} : { field }),
    cause: error,
  });
}

/**
 * Parses and validates a JSON body. `text` null means no body was sent: then the schema is
 * applied to `{}` when the body is optional, and refused otherwise.
 * @throws InvalidInput (no body, not JSON, or not what the schema says).
 */
export function parseJsonBody<T>(
  schema: z.ZodType<T>,
  text: string | null,
  options: { readonly optional: boolean },
): T {
  if (text === null && !options.optional) {
    throw new InvalidInput('this request needs a JSON body');
  }
  let value: unknown = {};
  if (text !== null) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InvalidInput(`the body is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw describeIssues(parsed.error);
  return parsed.data;
}

/**
 * A query string checked against the parameters a route accepts: unknown or repeated
 * parameters are refused rather than ignored, so a typo never silently changes an answer.
 * `R` and `O` are the names the route declares required and optional, so a handler reading
 * a parameter its route does not declare is a type error.
 */
export class QueryParameters<R extends string = string, O extends string = string> {
  constructor(
    private readonly params: URLSearchParams,
    accepted: readonly string[],
  ) {
    const seen = new Set<string>();
    for (const name of params.keys()) {
      if (!accepted.includes(name)) {
        throw new InvalidInput(
          accepted.length === 0
            ? `this request takes no query parameters, not "${name}"`
            : `unknown query parameter "${name}" (accepted: ${accepted.join(', ')})`,
          { field: name },
        );
      }
      if (seen.has(name)) {
        throw new InvalidInput(`the query parameter "${name}" is given twice`, { field: name });
      }
      seen.add(name);
    }
  }

  optional(name: R | O): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  required(name: R): string {
    const value = this.params.get(name);
    if (value === null || value.trim() === '') {
      throw new InvalidInput(`the query parameter "${name}" is required`, { field: name });
    }
    return value;
  }

  /** An ISO instant with offset, in ms. */
  instant(name: R): Millis {
    return parseInstant(this.required(name), name);
  }

  /** `from` and `to`, both required, `from < to`, at most the longest query span apart. */
  interval(this: QueryParameters<'from' | 'to', O>): {
    readonly from: Millis;
    readonly to: Millis;
  } {
    const from = this.instant('from');
    const to = this.instant('to');
    validateQueryInterval(from, to);
    return { from, to };
  }

  /**
   * `limit` (a whole number from 1 to `MAX_PAGE_SIZE`) and `after` (a cursor of a `kind`
   * list, as a previous page answered it in `next`), each only when given.
   */
  page(
    this: QueryParameters<R, 'limit' | 'after'>,
    kind: ListKind,
  ): { readonly limit?: number; readonly after?: string } {
    const limit = this.optional('limit');
    const after = this.optional('after');
    if (limit !== undefined && !/^[1-9][0-9]{0,5}$/.test(limit)) {
      throw new InvalidInput(`"limit" is a whole number from 1 to ${MAX_PAGE_SIZE}`, {
        field: 'limit',
      });
    }
    const size = limit === undefined ? undefined : Number(limit);
    if (size !== undefined && size > MAX_PAGE_SIZE) {
      throw new InvalidInput(`"limit" is at most ${MAX_PAGE_SIZE}`, { field: 'limit' });
    }
    // Checked here too, so a bad cursor costs no trip to the services.
    if (after !== undefined) decodeCursor(kind, after);
    return defined({ limit: size, after });
  }

  /** `true` or `false`; absent is `undefined`. */
  flag(name: O): boolean | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new InvalidInput(`the query parameter "${name}" is true or false, not "${value}"`, {
      field: name,
    });
  }
}

const ID = /^[A-Za-z0-9_-]+$/;
/** Longest names accepted, as in api.ts's bodies; the domain's own rules come after. */
const MAX_NAME_LENGTH = { group: 100, username: 64 } as const;

/**
 * Checks a name given in a path or query string: non-empty and bounded. Its own rules are
 * the domain's business, which refuses with a better reason.
 * @throws InvalidInput naming `field`.
 */
export function checkName(kind: 'group' | 'username', value: string, field: string): string {
  const name = value.trim();
  if (name === '') throw new InvalidInput(`the ${kind} is empty`, { field });
  if (name.length > MAX_NAME_LENGTH[kind]) {
    throw new InvalidInput(`a ${kind} has at most ${MAX_NAME_LENGTH[kind]} characters`, {
      field,
    });
  }
  return name;
}

/**
 * Checks a path parameter: an event id has the store's id syntax, names are as
 * {@link checkName} says.
 * @throws InvalidInput naming the parameter.
 */
export function pathParameter(
  kind: 'eventId' | 'feedId' | 'deviceId' | 'group' | 'username',
  value: string | undefined,
): string {
  if (kind === 'group' || kind === 'username') return checkName(kind, value ?? '', kind);
  if (value === undefined || value.length > MAX_ID_LENGTH || !ID.test(value)) {
    const what =
      kind === 'eventId' ? 'an event id' : kind === 'feedId' ? 'a feed id' : 'a device id';
    throw new InvalidInput(`"${(value ?? '').slice(0, 80)}" is not ${what}`, { field: kind });
  }
  return value;
}

/**
 * `end` from either `end` or `start + duration` (exactly one of them).
 * @throws InvalidInput when both or neither are given, or the end falls past the last instant.
 */
function endOf(start: Millis, end: string | undefined, duration: string | undefined): Millis {
  if (end !== undefined && duration !== undefined) {
    throw new InvalidInput('give either end or duration, not both', { field: 'duration' });
  }
  if (end !== undefined) return parseInstant(end, 'end');
  if (duration === undefined) {
    throw new InvalidInput('an event needs an end or a duration', { field: 'end' });
  }
  const computed = start + parseDuration(duration, 'duration');
  if (computed > LATEST_INSTANT) {
    throw new InvalidInput('the duration makes the event end after the year 2200', {
      field: 'duration',
    });
  }
  return computed;
}

/** ISO instants as milliseconds; undefined stays undefined. */
function instantsOf(texts: readonly string[] | undefined, field: string): Millis[] | undefined {
  return texts?.map((text) => parseInstant(text, field));
}

/** `POST /v1/events` → `event.create`. */
export function createEventCommand(request: CreateEventRequest): CommandOf<'event.create'> {
  const start = parseInstant(request.start, 'start');
  const end = endOf(start, request.end, request.duration);
  return defined({
    type: 'event.create' as const,
    draft: defined({
      title: request.title,
      start,
      end,
      timeZone: request.timeZone,
      description: request.description,
      location: request.location,
      visibility: request.visibility,
      recurrence: request.repeat,
      additions: instantsOf(request.alsoOn, 'alsoOn'),
      reminders: request.reminders,
      transparent: request.transparent,
    }),
    with: request.with,
    group: request.group,
    allowConflict: request.allowConflict,
  });
}

/**
 * `PATCH /v1/events/:id` → `event.update`. A new `duration` counts from the new `start`: the
 * gateway does not know the current one, and moving the start alone already keeps the length.
 */
export function updateEventCommand(
  eventId: string,
  request: UpdateEventRequest,
): CommandOf<'event.update'> {
  const start = request.start === undefined ? undefined : parseInstant(request.start, 'start');
  let end: Millis | undefined;
  if (request.duration !== undefined) {
    if (start === undefined) {
      throw new InvalidInput('a new duration needs the start it counts from (or give an end)', {
        field: 'duration',
      });
    }
    end = endOf(start, request.end, request.duration);
  } else if (request.end !== undefined) {
    end = parseInstant(request.end, 'end');
  }
  return defined({
    type: 'event.update' as const,
    eventId,
    changes: defined({
      title: request.title,
      start,
      end,
      timeZone: request.timeZone,
      description: request.description,
      location: request.location,
      visibility: request.visibility,
      recurrence: request.repeat,
      additions: instantsOf(request.alsoOn, 'alsoOn'),
      reminders: request.reminders,
      transparent: request.transparent,
    }),
    invite: request.with,
    allowConflict: request.allowConflict,
  });
}

/**
 * The command of `PATCH /v1/events/:eventId?occurrence=…`: the changes of
 * {@link updateEventCommand}, for the one occurrence starting at `occurrenceStart`. That
 * occurrence becomes an event of its own, which neither repeats nor takes new invitees.
 */
export function updateOccurrenceCommand(
  eventId: string,
  occurrenceStart: Millis,
  request: UpdateEventRequest,
): CommandOf<'event.updateOccurrence'> {
  if (request.repeat !== undefined || request.alsoOn !== undefined) {
    throw new InvalidInput('one occurrence cannot repeat: change the series to change its rule', {
      field: request.repeat !== undefined ? 'repeat' : 'alsoOn',
    });
  }
  if (request.with !== undefined) {
    throw new InvalidInput(
      'people are invited to the whole series, not to one of its occurrences',
      { field: 'with' },
    );
  }
  const { changes, allowConflict } = updateEventCommand(eventId, request);
  return defined({
    type: 'event.updateOccurrence' as const,
    eventId,
    occurrenceStart,
    changes,
    allowConflict,
  });
}

/** The query parameters of route `K`, typed by its declaration. */
export type QueryParametersOf<K extends RouteName> = QueryParameters<
  RequiredQuery<ApiRoutes[K]>,
  OptionalQuery<ApiRoutes[K]>
>;

/** The `group` or the `users` (`a,b`) of a query that takes either, not both. */
function groupOrUsers(
  group: string | undefined,
  users: string | undefined,
): { group: string } | { users: string[] } {
  if ((group === undefined) === (users === undefined)) {
    throw new InvalidInput('give either group or users', { field: 'group' });
  }
  if (group !== undefined) return { group: checkName('group', group, 'group') };
  const names = (users ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new InvalidInput('users lists no username', { field: 'users' });
  if (names.length > MAX_GROUP_MEMBERS) {
    throw new InvalidInput(`at most ${MAX_GROUP_MEMBERS} users at once`, { field: 'users' });
  }
  return { users: names.map((name) => checkName('username', name, 'users')) };
}

/** `GET /v1/agendas?group=g&from&to[&limit][&after]` or `?users=a,b&…` → `agenda.view`. */
export function agendaViewQuery(query: QueryParametersOf<'agendas'>): QueryOf<'agenda.view'> {
  const targets = groupOrUsers(query.optional('group'), query.optional('users'));
  const { from, to } = query.interval();
  const page = query.page('agenda');
  return { type: 'agenda.view', targets, from, to, ...page };
}

/** `GET /v1/free?(group|users)&from&to&duration` → `free.find`. */
export function freeTimeQuery(query: QueryParametersOf<'free'>): QueryOf<'free.find'> {
  const targets = groupOrUsers(query.optional('group'), query.optional('users'));
  const { from, to } = query.interval();
  const duration = parseDuration(query.required('duration'), 'duration');
  return { type: 'free.find', ...targets, from, to, duration };
}

/** `GET /v1/export[?from][&to]` → `agenda.export`: both bounds optional, ordered when both given. */
export function exportQuery(query: QueryParametersOf<'exportCalendar'>): QueryOf<'agenda.export'> {
  const fromText = query.optional('from');
  const toText = query.optional('to');
  const from = fromText === undefined ? undefined : parseInstant(fromText, 'from');
  const to = toText === undefined ? undefined : parseInstant(toText, 'to');
  if (from !== undefined && to !== undefined && to <= from) {
    throw new InvalidInput('"to" must be after "from"', { field: 'to' });
  }
  return defined({ type: 'agenda.export' as const, from, to });
}
