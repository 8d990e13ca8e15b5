/**
 * CalDAV's writes (server/gateway/caldav.ts), decided as every command is: on the leader,
 * against the rows they read, so a precondition is checked where the write is made. A client
 * writes `If-Match: "<tag>"` (or `If-None-Match: *` to create only); the tag is computed here
 * from the rows the decision reads (./dav-resources.ts), and those reads note their keys, so
 * two clients writing over the same tag cannot both pass: the second is decided on the
 * first's rows (or comes back stale and is decided again) and finds another tag.
 *
 * What a write does is the API's own operations, with their rules:
 * - a PUT by the organizer (or of a new UID) is an import of that one event (`event.import`:
 *   validation, conflicts, changed occurrences), without a version to compare: the tags
 *   order CalDAV's writes, not the object's SEQUENCE;
 * - a PUT by an attendee may change their answer only (accept, decline); anything else in
 *   it that differs from the event is refused, naming it;
 * - a DELETE by the organizer cancels the series (`event.cancel`); by an attendee, declines
 *   it (`invitation.decline`).
 */
import { changesByAttendee, validateEventDraft } from '../domain/index.js';
import type { CalendarResource, EventId, Notification, Username } from '../domain/index.js';
import { errorFromWire, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import type { CommandEnvironment, Applied } from './commands.js';
import { resourceNamed } from './dav-resources.js';
import type { CommandOf, CommandResults, DavWriteOutcome } from './protocol.js';

/** The API's operations a CalDAV write is made of, as the command handlers run them. */
export interface DavOperations {
  import(
    body: CommandOf<'event.import'>,
    env: CommandEnvironment,
  ): Applied<CommandResults['event.import']>;
  accept(eventId: EventId, env: CommandEnvironment): Applied<unknown>;
  decline(eventId: EventId, env: CommandEnvironment): Applied<unknown>;
  cancel(eventId: EventId, env: CommandEnvironment): Applied<unknown>;
}

/**
 * Whether the conditions hold for a resource whose tag is `etag` (null: there is none):
 * If-Match names it (or `*` for any), If-None-Match names neither it nor `*` (RFC 9110 §13).
 */
export function preconditionsHold(
  etag: string | null,
  conditions: { readonly ifMatch?: readonly string[]; readonly ifNoneMatch?: readonly string[] },
): boolean {
  const names = (tags: readonly string[]) =>
    etag !== null && tags.some((t) => t === '*' || t === etag);
  if (conditions.ifMatch !== undefined && !names(conditions.ifMatch)) return false;
  if (conditions.ifNoneMatch !== undefined && names(conditions.ifNoneMatch)) return false;
  return true;
}

/** The UID a resource's text carries: its series' (an event made in Agenda: its id). */
function uidOf(resource: CalendarResource): string {
  const head = resource.records[0]?.event;
  return head?.uid ?? head?.id ?? resource.id;
}

/** `dav.put`: see the module comment. */
export function davPut(
  body: CommandOf<'dav.put'>,
  env: CommandEnvironment,
  operations: DavOperations,
): Applied<DavWriteOutcome> {
  const actor = env.actor();
  const before = resourceNamed(env.rows, actor, body.name);
  const etag = before?.etag ?? null;
  if (!preconditionsHold(etag, body)) {
    return { result: { outcome: 'precondition-failed', etag }, notifications: [] };
  }
  const { uid } = body.event;
  if (before === undefined && uid !== body.name) {
    // A new event lives at its UID's name. Clients that name new resources otherwise
    // (vdirsyncer, for a UID with characters it keeps out of hrefs such as `@`, picks a
    // random one) are sent there: nothing is written here, the write is decided again at
    // that name, with its own preconditions.
    return { result: { outcome: 'elsewhere', name: uid }, notifications: [] };
  }
  if (before !== undefined && uid !== uidOf(before)) {
    throw new InvalidInput(
      `the event at ${encodeURIComponent(body.name)}.ics has the UID "${uidOf(before)}", which a write may not change (this one has "${uid}")`,
      { field: 'uid' },
    );
  }
  const notifications: Notification[] = [];
  if (before === undefined || before.records[0]?.event.organizer === actor) {
    const imported = operations.import({ type: 'event.import', events: [body.event] }, env);
    const refusal = imported.result.failed[0];
    if (refusal !== undefined) throw errorFromWire(refusal.error);
    notifications.push(...imported.notifications);
  } else {
    notifications.push(...answerByWriting(body, before, actor, env, operations));
  }
  const after = resourceNamed(env.rows, actor, body.name);
  if (after === undefined && before === undefined) {
    // The UID is an event of theirs that is not in the calendar: a cancelled one, which an
    // import leaves cancelled.
    throw new Forbidden(
      `the event with the UID "${uid}" was cancelled, and a cancelled event does not come back: give the new one another UID`,
    );
  }
  return {
    result: {
      outcome: before === undefined ? 'created' : 'updated',
      name: body.name,
      etag: after?.etag ?? null,
    },
    notifications,
  };
}

/**
 * An attendee's PUT: their answer, if it changed, through the API's accept or decline.
 * @throws Forbidden when the object changes anything else, or takes an answer back.
 */
function answerByWriting(
  body: CommandOf<'dav.put'>,
  resource: CalendarResource,
  actor: Username,
  env: CommandEnvironment,
  operations: DavOperations,
): readonly Notification[] {
  const series = resource.records[0];
  if (series === undefined) return [];
  const occurrences = (body.event.occurrences ?? []).map((o) =>
    'cancelled' in o
      ? o
      : { occurrenceStart: o.occurrenceStart, details: validateEventDraft(o.draft) },
  );
  const change = changesByAttendee(
    resource.records,
    validateEventDraft(body.event.draft),
    occurrences,
  );
  const title = series.event.title;
  if (change !== null) {
    throw new Forbidden(
      `you are an attendee of "${title}", which ${series.event.organizer} organizes: your calendar may change only your answer (PARTSTAT), and this changes ${change}`,
    );
  }
  const now = series.attendees.find((a) => a.username === actor)?.status;
  if (body.answer === null || body.answer === now) return [];
  switch (body.answer) {
    case 'accepted':
      return operations.accept(series.event.id, env).notifications;
    case 'declined':
      return operations.decline(series.event.id, env).notifications;
    case 'pending':
      throw new Forbidden(
        `your answer to "${title}" cannot be taken back (PARTSTAT NEEDS-ACTION): accept or decline it`,
      );
  }
}

/** `dav.delete`: the organizer cancels the resource's series, an attendee declines it. */
export function davDelete(
  body: CommandOf<'dav.delete'>,
  env: CommandEnvironment,
  operations: DavOperations,
): Applied<DavWriteOutcome> {
  const actor = env.actor();
  const resource = resourceNamed(env.rows, actor, body.name);
  if (resource === undefined) {
    throw new NotFound(`no event ${body.name}.ics in your calendar`);
  }
  if (!preconditionsHold(resource.etag, body)) {
    return { result: { outcome: 'precondition-failed', etag: resource.etag }, notifications: [] };
  }
  const series = resource.records[0];
  if (series === undefined) throw new NotFound(`no event ${body.name}.ics in your calendar`);
  const done =
    series.event.organizer === actor
      ? operations.cancel(series.event.id, env)
      : operations.decline(series.event.id, env);
  return {
    result: { outcome: 'deleted', name: body.name, etag: null },
    notifications: done.notifications,
  };
}
