/** Small constructors for the parts of a {@link Decision}, so every operation builds them alike. */
import type {
  Decision,
  EventChange,
  EventId,
  GroupChange,
  GroupName,
  Mutation,
  Notification,
  Username,
} from './types.js';

export function eventNotice(
  to: Username,
  change: EventChange,
  eventId: EventId,
  by: Username,
): Notification {
  return { kind: 'event', to, change, eventId, by };
}

export function groupNotice(
  to: Username,
  change: GroupChange,
  group: GroupName,
  member: Username,
  by: Username,
): Notification {
  return { kind: 'group', to, change, group, member, by };
}

function noticeKey(n: Notification): string {
  switch (n.kind) {
    case 'event':
      return `event\u0000${n.to}\u0000${n.change}\u0000${n.eventId}`;
    case 'group':
      return `group\u0000${n.to}\u0000${n.change}\u0000${n.group}\u0000${n.member}`;
    case 'session':
      return `session\u0000${n.to}\u0000${n.change}\u0000${n.sid ?? ''}`;
  }
}

/**
 * A decision whose notifications are told once each (per recipient, change and subject),
 * in first-mention order, so live streams never show the same news twice.
 */
export function decide<Result>(
  result: Result,
  mutations: readonly Mutation[],
  notifications: readonly Notification[],
): Decision<Result> {
  const seen = new Set<string>();
  const unique = notifications.filter((n) => {
    const key = noticeKey(n);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { mutations, notifications: unique, result };
}

/**
 * Code-unit order of two strings. Decisions must come out the same on every replica, and
 * locale-aware comparison depends on the ICU data of the process; this does not.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
