/**
 * Notifications the store answered with a committed command, turned into the live updates
 * users receive on their open streams (`GET /v1/stream`).
 */
import type { Notification } from '../domain/index.js';
import type { LiveUpdate } from '../../contract/api.js';
import type { ServiceLog, UpdatePublisher } from './ports.js';

/** The live update for a notification's recipient; `at` is when it is sent. */
export function liveUpdateOf(notification: Notification, at: Date): LiveUpdate {
  const when = at.toISOString();
  if (notification.kind === 'event') {
    return {
      kind: 'event',
      change: notification.change,
      eventId: notification.eventId,
      by: notification.by,
      at: when,
    };
  }
  if (notification.kind === 'session') {
    return { kind: 'session', change: notification.change, session: notification.sid, at: when };
  }
  return {
    kind: 'group',
    change: notification.change,
    group: notification.group,
    member: notification.member,
    by: notification.by,
    at: when,
  };
}

/**
 * Publishes each notification to its recipient, all at once, and resolves when every
 * publication has settled. Never rejects: the change is already committed, so a live update
 * that cannot be sent (pub/sub accepts losses; the user sees the change on the next read) is
 * reported to `log`, not turned into a failure of the request.
 */
export async function publishNotifications(
  publisher: UpdatePublisher,
  log: ServiceLog,
  notifications: readonly Notification[],
  at: Date,
): Promise<void> {
  const outcomes = await Promise.allSettled(
    notifications.map((n) => publisher.publish(n.to, liveUpdateOf(n, at))),
  );
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === 'fulfilled') continue;
    const notification = notifications[index];
    log.warn('a live update could not be published', {
      to: notification?.to,
      kind: notification?.kind,
      change: notification?.change,
      error: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason),
    });
  }
}
