/**
 * One line per live update, as `agenda watch` prints it for a person:
 * `10:42:03  alice invited you to Standup (Mon 2 Mar 09:00–09:15)`.
 */
import { DateTime } from 'luxon';
import type { EventView } from '../../contract/views.js';
import type { LiveUpdate } from '../../contract/api.js';
import { formatSpan } from './views.js';
import type { ViewContext } from './views.js';

const EVENT_CHANGES: Readonly<Record<string, (by: string) => string>> = {
  created: (by) => `${by} created`,
  invited: (by) => `${by} invited you to`,
  imposed: (by) => `${by} put in your agenda`,
  accepted: (by) => `${by} accepted`,
  declined: (by) => `${by} declined`,
  confirmed: () => 'everyone accepted, confirmed:',
  cancelled: (by) => `${by} cancelled`,
  updated: (by) => `${by} changed`,
  removed: (by) => `${by} removed you from`,
  left: (by) => `${by} left (their account was deleted)`,
};

/** The line for `update`; `event` is the event it is about, when it could be looked up. */
export function describeLiveUpdate(
  update: LiveUpdate,
  event: EventView | undefined,
  context: ViewContext,
): string {
  const { palette } = context;
  const at = DateTime.fromISO(update.at, { zone: context.zone });
  const time = palette.dim(at.isValid ? at.toFormat('HH:mm:ss') : update.at);
  if (update.kind === 'event') {
    const verb = EVENT_CHANGES[update.change]?.(update.by) ?? `${update.by} ${update.change}`;
    const what =
      event === undefined
        ? `event ${update.eventId}`
        : `${palette.bold(event.title)} (${formatSpan(event.start, event.end, context)})`;
    return `${time}  ${verb} ${what}`;
  }
  if (update.kind === 'session') {
    if (update.change === 'deleted') return `${time}  your account was deleted`;
    return update.session === null
      ? `${time}  your password changed: every session ended; log in again`
      : `${time}  this session was logged out`;
  }
  const { by, member, group } = update;
  const name = palette.bold(group);
  switch (update.change) {
    case 'invited':
      return `${time}  ${by} invited you to join ${name} (agenda group join|decline ${group})`;
    case 'invitation_withdrawn':
      return `${time}  ${by} withdrew your invitation to ${name}`;
    case 'invitation_declined':
      return `${time}  ${member} declined to join ${name}`;
    case 'member_joined':
      return `${time}  ${member} joined ${name}`;
    case 'member_added':
      return `${time}  ${by} added ${member} to ${name}`;
    case 'member_removed':
      return `${time}  ${by} removed ${member} from ${name}`;
    case 'member_left':
      return `${time}  ${member} left ${name}`;
    case 'level_changed':
      return `${time}  ${by} changed the level of ${member} in ${name}`;
    case 'owner_changed':
      return `${time}  ${member} now owns ${name}`;
    case 'dissolved':
      return `${time}  ${name} was dissolved`;
    default:
      return `${time}  ${by} ${update.change} ${member} in ${name}`;
  }
}
