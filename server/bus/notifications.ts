/**
 * Live notifications: the services publish a user's updates on `agenda:notify:<username>`,
 * and each gateway delivers them to that user's open streams.
 *
 * Pub/sub is at most once: an update published while a gateway's subscriber is reconnecting
 * (or moving to a new primary) is lost for that gateway. The subscriptions themselves
 * survive: every channel is subscribed again once the connection is back, and
 * {@link BusConnection.onResubscribed} tells the gateway when that happened, so it can
 * tell its streams to re-read what they show.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInput, Unavailable } from '../../contract/errors.js';
import { boundedSignal, errorMessage, silentBusLogger, untilAborted } from './connection.js';
import type { BusConnection, BusLogger, Unsubscribe } from './connection.js';
import {
  BUS_PROTOCOL_VERSION,
  decodeNotification,
  encodeNotification,
  notificationChannel,
} from './protocol.js';

/** Receives one user's updates, as the services published them. */
export type NotificationListener = (update: unknown) => void;

const MAX_USERNAME_LENGTH = 200;

function checkUsername(username: string): void {
  if (username.length === 0 || username.length > MAX_USERNAME_LENGTH) {
    throw new InvalidInput(`a username has 1 to ${MAX_USERNAME_LENGTH} characters`, {
      field: 'username',
    });
  }
}

/** The services' side: publishes updates to users. */
export class NotificationPublisher {
  constructor(
    private readonly connection: BusConnection,
    private readonly logger: BusLogger = silentBusLogger,
  ) {}

  /**
   * Publishes `update` to every gateway that has a stream of `to` open; resolves with how
   * many received it (0 when the user has no open stream). Retried across reconnects for
   * up to `deadlineMs` (default 1 s, the live-update budget).
   * @throws Unavailable when Redis could not be reached in time.
   */
  async publish(
    to: string,
    update: unknown,
    options: { readonly deadlineMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<number> {
    checkUsername(to);
    const message = encodeNotification({ v: BUS_PROTOCOL_VERSION, to, update });
    const bounded = boundedSignal(options.signal, options.deadlineMs ?? 1_000);
    try {
      return await this.publishUntil(to, message, bounded.signal);
    } finally {
      bounded.dispose();
    }
  }

  private async publishUntil(to: string, message: string, signal: AbortSignal): Promise<number> {
    let backoffMs = 25;
    for (;;) {
      try {
        const redis = await this.connection.commands(signal);
        return await redis.publish(notificationChannel(to), message);
      } catch (error) {
        if (signal.aborted || this.connection.closed) {
          throw new Unavailable(`could not notify ${to}`, { cause: error });
        }
        this.logger.debug('publishing a notification failed; retrying', {
          to,
          error: errorMessage(error),
        });
        try {
          await sleep(backoffMs, undefined, { signal });
        } catch (aborted) {
          throw new Unavailable(`could not notify ${to}`, { cause: aborted });
        }
        backoffMs = Math.min(backoffMs * 2, 250);
      }
    }
  }
}

interface UserSubscription {
  readonly listeners: Set<NotificationListener>;
  /** The one Redis subscription of this user's channel. */
  readonly live: Promise<Unsubscribe>;
}

/**
 * The gateway's side: fans one Redis subscription per user out to all of that user's open
 * streams. The subscription starts with the first listener and ends with the last.
 */
export class NotificationSubscriber {
  private readonly users = new Map<string, UserSubscription>();

  constructor(
    private readonly connection: BusConnection,
    private readonly logger: BusLogger = silentBusLogger,
  ) {}

  /**
   * Delivers `username`'s updates to `listener`; resolves once the subscription is live
   * (an update published after that reaches the listener unless a reconnect intervenes).
   * @throws Unavailable if the signal aborts first or the connection closes.
   */
  async subscribe(
    username: string,
    listener: NotificationListener,
    signal?: AbortSignal,
  ): Promise<Unsubscribe> {
    checkUsername(username);
    let user = this.users.get(username);
    if (user === undefined) {
      const live = this.connection.subscribe(notificationChannel(username), (message) =>
        this.deliver(username, message),
      );
      // A subscription that never went live (connection closed) is reported to the
      // listeners that wait for it, not as an unhandled rejection.
      live.catch(() => undefined);
      user = { listeners: new Set(), live };
      this.users.set(username, user);
    }
    const subscription = user;
    const registration: NotificationListener = (update) => listener(update);
    subscription.listeners.add(registration);
    let active = true;
    const unsubscribe = (): void => {
      if (!active) return;
      active = false;
      subscription.listeners.delete(registration);
      if (subscription.listeners.size > 0 || this.users.get(username) !== subscription) return;
      this.users.delete(username);
      subscription.live.then(
        (end) => end(),
        () => undefined,
      );
    };
    try {
      await untilAborted(subscription.live, signal);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /** Users with at least one listener. */
  get subscribedUsers(): number {
    return this.users.size;
  }

  private deliver(username: string, message: string): void {
    const decoded = decodeNotification(message);
    if (!decoded.ok || decoded.value.to !== username) {
      this.logger.warn('dropped a malformed notification', {
        to: username,
        reason: decoded.ok ? `addressed to ${decoded.value.to}` : decoded.reason,
      });
      return;
    }
    const subscription = this.users.get(username);
    if (subscription === undefined) return;
    for (const listener of [...subscription.listeners]) {
      try {
        listener(decoded.value.update);
      } catch (error) {
        this.logger.warn('a notification listener threw', {
          to: username,
          error: errorMessage(error),
        });
      }
    }
  }
}
