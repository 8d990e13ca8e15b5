/**
 * The bus's connections to Redis: mutual TLS, and always to the current primary.
 *
 * A {@link BusConnection} asks its {@link PrimarySource} for the primary when it starts,
 * again whenever one of its connections drops, and every check interval. When the source
 * names a primary with a newer fencing epoch, every connection to the old one is closed at
 * once — pending commands on it fail — before any connection to the new one opens, so
 * nothing is ever written to a primary known to be superseded. Answers with an older epoch
 * are stale reads and are ignored.
 *
 * ioredis needs separate connections for blocking reads, for subscriptions, and for
 * everything else, so each primary gets one command connection, one subscriber connection
 * shared by every subscription of the process, and one connection per blocking lane.
 */
import type { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInput, Unavailable } from '../../contract/errors.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import type { PrimaryAddress, PrimarySource } from './primary-source.js';
import { AclRedis, isAccessRefusal, loginOptions, RefusalLog } from './redis-auth.js';
import type { RedisCredentials } from './redis-auth.js';
import { serverWithRole } from '../net/client-certificate.js';
import { RATE_LIMITER_COMMANDS } from '../limits/shared-limits.js';

/** What the bus needs from a logger; `fields` are plain data. */
export interface BusLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentBusLogger: BusLogger = { debug() {}, info() {}, warn() {} };

/** The message of an unknown thrown value, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a bus call throws when its caller's signal aborts: the wait ended, Redis may be fine. */
export function abandoned(signal: AbortSignal): Unavailable {
  return new Unavailable('stopped waiting for Redis', { cause: signal.reason });
}

/** `promise`, or {@link abandoned} if `signal` aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abandoned(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abandoned(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A signal that aborts when `parent` (if any) does or after `ms`. `dispose` detaches it from
 * `parent` and stops its timer: call it when done, so a long-lived parent does not collect
 * listeners.
 */
export function boundedSignal(
  parent: AbortSignal | undefined,
  ms: number,
): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException('the time limit passed', 'TimeoutError')),
    ms,
  );
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

export interface BusConnectionOptions {
  readonly primary: PrimarySource;
  /** The lab CA, and this process's client certificate and key. */
  readonly tls: MutualTlsMaterial;
  /**
   * The ACL user (its role's: ./acl.ts) and password every connection logs in with; none:
   * Redis's `default` user, as a Redis without ACLs has (the bus's tests).
   */
  readonly auth?: RedisCredentials;
  /** Names this process's connections in `CLIENT LIST` (`<name>:<role>`): letters, digits, `_`, `-`. */
  readonly name: string;
  /** How often the primary source is asked even when all is well. Default 500 ms. */
  readonly checkIntervalMs?: number;
  /** Longest wait for the answer to a non-blocking command. Default 2 s. */
  readonly commandTimeoutMs?: number;
  /** Longest wait for a TCP + TLS connection to open. Default 2 s. */
  readonly connectTimeoutMs?: number;
  readonly logger?: BusLogger;
}

/** Receives the raw messages of one pub/sub channel. */
export type ChannelHandler = (message: string) => void;

/** Ends one subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** Never ask the source more often than this, however many connections drop. */
const MIN_CHECK_GAP_MS = 100;

/** After Redis refused a SUBSCRIBE (ACL), wait this long before asking again. */
const REFUSED_SUBSCRIBE_PAUSE_MS = 1_000;

/** The connections to one primary; retired (all closed) when a newer primary is adopted. */
class Generation {
  readonly blocking = new Map<string, Redis>();
  /** Channels the subscriber confirmed on its current socket. */
  readonly subscribed = new Set<string>();
  /** Channels with a SUBSCRIBE in flight. */
  readonly subscribing = new Set<string>();
  retired = false;

  constructor(
    readonly primary: PrimaryAddress,
    readonly commands: Redis,
    readonly subscriber: Redis,
  ) {}

  clients(): Redis[] {
    return [this.commands, this.subscriber, ...this.blocking.values()];
  }
}

/**
 * Connections to the current Redis primary, for one process. Starts following the primary
 * as soon as it is constructed; {@link close} ends everything.
 */
export class BusConnection {
  private readonly logger: BusLogger;
  private readonly checkIntervalMs: number;
  private generation: Generation | null = null;
  private readonly handlers = new Map<string, Set<ChannelHandler>>();
  private readonly resubscribedListeners = new Set<() => void>();
  private readonly primaryChangedListeners = new Set<(primary: PrimaryAddress) => void>();
  private readonly waiters = new Set<() => void>();
  private readonly closing = new AbortController();
  private wakeWatcher: (() => void) | null = null;
  private recheckRequested = false;
  private sourceFailing = false;
  private sameEpochConflictLogged = false;
  /** Redis's refusals (NOPERM, WRONGPASS), logged once each. */
  private readonly refusals: RefusalLog;
  private readonly watcher: Promise<void>;

  constructor(private readonly options: BusConnectionOptions) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.name)) {
      throw new InvalidInput('a bus connection name uses letters, digits, "_" and "-"', {
        field: 'name',
      });
    }
    this.logger = options.logger ?? silentBusLogger;
    this.checkIntervalMs = options.checkIntervalMs ?? 500;
    this.refusals = new RefusalLog(options.auth?.user ?? 'default', this.logger);
    this.watcher = this.watchPrimary();
  }

  /** The primary this connection talks to, or null until the source has answered once. */
  get primary(): PrimaryAddress | null {
    return this.generation?.primary ?? null;
  }

  /** The fencing epoch of {@link primary}; 0 before the first answer. */
  get epoch(): number {
    return this.generation?.primary.epoch ?? 0;
  }

  /** Commands Redis refused to this connection's ACL user so far (each is logged once). */
  get refused(): number {
    return this.refusals.count;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /**
   * The connection for ordinary (non-blocking) commands to the current primary, once it is
   * ready. The client fails fast rather than queueing while disconnected: retry through
   * this method, which waits for the next ready connection.
   * @throws Unavailable when `signal` aborts first, or once the connection is closed.
   */
  commands(signal?: AbortSignal): Promise<Redis> {
    return this.until(() => {
      const generation = this.generation;
      return generation?.commands.status === 'ready' ? generation.commands : undefined;
    }, signal);
  }

  /**
   * A connection reserved for the blocking reads of one `lane` (a worker's read loop), to
   * the current primary, once ready. Each lane gets its own, so blocking reads never queue
   * behind each other.
   */
  blocking(lane: string, signal?: AbortSignal): Promise<Redis> {
    return this.until(() => {
      const generation = this.generation;
      if (generation === null) return undefined;
      let client = generation.blocking.get(lane);
      if (client === undefined) {
        client = this.openClient(generation.primary, `blocking-${lane}`, false);
        generation.blocking.set(lane, client);
      }
      return client.status === 'ready' ? client : undefined;
    }, signal);
  }

  /** Closes the blocking connection of `lane`: its reader is done with it. */
  releaseBlocking(lane: string): void {
    const generation = this.generation;
    const client = generation?.blocking.get(lane);
    if (generation === null || client === undefined) return;
    generation.blocking.delete(lane);
    client.disconnect();
  }

  /**
   * Delivers the messages of `channel` to `handler` and resolves once the subscription is
   * live on the current primary (so a message published after that is not missed). Many
   * handlers of one channel share one Redis subscription; the last to leave ends it. After a
   * reconnect or a failover every channel is subscribed again, then {@link onResubscribed}
   * listeners run: messages published in between are lost, and they may need re-asking.
   */
  async subscribe(
    channel: string,
    handler: ChannelHandler,
    signal?: AbortSignal,
  ): Promise<Unsubscribe> {
    let channelHandlers = this.handlers.get(channel);
    if (channelHandlers === undefined) {
      channelHandlers = new Set();
      this.handlers.set(channel, channelHandlers);
    }
    // A wrapper per call, so one function subscribed twice is two subscriptions.
    const registration: ChannelHandler = (message) => handler(message);
    channelHandlers.add(registration);
    let active = true;
    const unsubscribe = (): void => {
      if (!active) return;
      active = false;
      this.removeHandler(channel, registration);
    };
    try {
      await this.until(() => {
        const generation = this.generation;
        if (generation === null) return undefined;
        if (generation.subscribed.has(channel)) return true;
        if (generation.subscriber.status === 'ready' && !generation.subscribing.has(channel)) {
          void this.subscribeOn(generation, [channel]);
        }
        return undefined;
      }, signal);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /**
   * Runs `listener` each time the subscriber connection has (re)subscribed every channel,
   * after a reconnect to the same primary or a move to a new one (and on the first connect).
   */
  onResubscribed(listener: () => void): () => void {
    this.resubscribedListeners.add(listener);
    return () => this.resubscribedListeners.delete(listener);
  }

  /** Runs `listener` each time a newer primary is adopted (not for the first one). */
  onPrimaryChanged(listener: (primary: PrimaryAddress) => void): () => void {
    this.primaryChangedListeners.add(listener);
    return () => this.primaryChangedListeners.delete(listener);
  }

  /** Asks the source again now rather than at the next interval (after a suspicious error). */
  recheckPrimary(): void {
    this.recheckRequested = true;
    this.wakeWatcher?.();
  }

  /** Closes every connection; waiting calls fail with {@link Unavailable}. Idempotent. */
  close(): Promise<void> {
    if (!this.closing.signal.aborted) {
      this.closing.abort();
      this.wakeWatcher?.();
      if (this.generation !== null) this.retire(this.generation);
      this.generation = null;
      this.handlers.clear();
      this.notify();
    }
    return this.watcher;
  }

  private async watchPrimary(): Promise<void> {
    const closing = this.closing.signal;
    while (!closing.aborted) {
      const startedAt = Date.now();
      this.recheckRequested = false;
      // A source that hangs (a DB without a leader) must not stop the periodic checks.
      const bounded = boundedSignal(closing, Math.max(2_000, this.checkIntervalMs * 4));
      try {
        this.adopt(
          await untilAborted(this.options.primary.current(bounded.signal), bounded.signal),
        );
        if (this.sourceFailing) this.logger.info('the Redis primary source answers again');
        this.sourceFailing = false;
      } catch (error) {
        if (closing.aborted) break;
        // Logged once per outage: the check repeats every interval.
        if (!this.sourceFailing) {
          this.logger.warn('cannot learn the Redis primary', { error: errorMessage(error) });
        }
        this.sourceFailing = true;
      } finally {
        bounded.dispose();
      }
      await this.pauseBeforeCheck(Math.max(0, MIN_CHECK_GAP_MS - (Date.now() - startedAt)));
    }
  }

  /** Waits for the check interval, or only `minimumMs` once a recheck is requested. */
  private pauseBeforeCheck(minimumMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closing.signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.wakeWatcher = null;
        resolve();
      };
      let timer = setTimeout(done, this.recheckRequested ? minimumMs : this.checkIntervalMs);
      this.wakeWatcher = () => {
        if (this.closing.signal.aborted) return done();
        clearTimeout(timer);
        timer = setTimeout(done, minimumMs);
      };
    });
  }

  /** Switches to `address` if its epoch is newer than the current primary's. */
  private adopt(address: PrimaryAddress): void {
    const current = this.generation;
    if (current !== null) {
      if (address.epoch < current.primary.epoch) return;
      if (address.epoch === current.primary.epoch) {
        const moved =
          address.host !== current.primary.host || address.port !== current.primary.port;
        if (moved && !this.sameEpochConflictLogged) {
          // Fencing relies on one primary per epoch: keep the first one seen.
          this.logger.warn('the primary source names another address under the same epoch', {
            epoch: address.epoch,
            kept: `${current.primary.host}:${current.primary.port}`,
            ignored: `${address.host}:${address.port}`,
          });
          this.sameEpochConflictLogged = true;
        }
        return;
      }
      this.retire(current);
      this.logger.info('the Redis primary moved', {
        from: `${current.primary.host}:${current.primary.port}`,
        to: `${address.host}:${address.port}`,
        epoch: address.epoch,
      });
    }
    this.sameEpochConflictLogged = false;
    this.generation = this.connect(address);
    if (current !== null) {
      for (const listener of [...this.primaryChangedListeners]) {
        this.runListener('primary changed', () => listener(address));
      }
    }
    this.notify();
  }

  private connect(primary: PrimaryAddress): Generation {
    const generation = new Generation(
      primary,
      this.openClient(primary, 'commands', true),
      this.openClient(primary, 'subscriber', false),
    );
    const { subscriber } = generation;
    subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    subscriber.on('ready', () => void this.restoreSubscriptions(generation));
    subscriber.on('close', () => generation.subscribed.clear());
    return generation;
  }

  private openClient(primary: PrimaryAddress, role: string, bounded: boolean): Redis {
    const client = new AclRedis(
      {
        host: primary.host,
        port: primary.port,
        tls: {
          ca: this.options.tls.ca,
          cert: this.options.tls.cert,
          key: this.options.tls.key,
          minVersion: 'TLSv1.3',
          // Only a Redis of the cluster: its certificate names the redis role.
          checkServerIdentity: serverWithRole('redis'),
        },
        connectionName: `${this.options.name}:${role}`,
        // AUTH goes out right before CLIENT SETNAME, neither waiting: no round trip of its own.
        ...loginOptions(this.options.auth),
        connectTimeout: this.options.connectTimeoutMs ?? 2_000,
        ...(bounded ? { commandTimeout: this.options.commandTimeoutMs ?? 2_000 } : {}),
        // The commands issued in one turn of the event loop go out in one write, but for the
        // scripts others define on the client (RATE_LIMITER_COMMANDS).
        enableAutoPipelining: bounded,
        autoPipeliningIgnoredCommands: [...RATE_LIMITER_COMMANDS],
        // Fail fast instead of queueing or replaying: the callers re-send with their ids, to
        // whichever primary is current by then.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        autoResubscribe: false,
        disableClientInfo: true,
        // No INFO before a connection is used: the bus's ACL users may not read it, and a
        // primary (nothing persisted, nothing to load) serves as soon as it accepts.
        enableReadyCheck: false,
        retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
      },
      this.refusals,
    );
    let failing = false;
    client.on('error', (error: Error) => {
      const fields = {
        role,
        user: this.refusals.user,
        primary: `${primary.host}:${primary.port}`,
        error: error.message,
      };
      // One warning per outage: ioredis reports every failed reconnect attempt.
      if (failing) this.logger.debug('Redis connection error', fields);
      else this.logger.warn('Redis connection error', fields);
      failing = true;
    });
    client.on('ready', () => {
      if (failing) {
        this.logger.info('Redis connection restored', {
          role,
          primary: `${primary.host}:${primary.port}`,
        });
      }
      failing = false;
      this.notify();
    });
    client.on('close', () => {
      // A dropped connection may mean a failover: ask where the primary is now.
      if (!this.closing.signal.aborted) this.recheckPrimary();
      this.notify();
    });
    return client;
  }

  private retire(generation: Generation): void {
    generation.retired = true;
    for (const client of generation.clients()) {
      client.disconnect();
      // ioredis ends the socket politely and destroys it only after waiting 2 s for the peer.
      // A retired primary is often one that stopped answering (its host crashed), and the
      // commands waiting on it — the workers' blocking reads — fail only once the socket
      // closes: close it now, so they move to the new primary at once.
      (client.stream as Socket | undefined)?.destroy();
    }
  }

  /** Subscribes `channels` on `generation`; true when the server confirmed them. */
  private async subscribeOn(generation: Generation, channels: readonly string[]): Promise<boolean> {
    for (const channel of channels) generation.subscribing.add(channel);
    try {
      await generation.subscriber.subscribe(...channels);
      for (const channel of channels) {
        if (this.handlers.has(channel)) {
          generation.subscribed.add(channel);
        } else {
          // Every handler left while the SUBSCRIBE was in flight.
          generation.subscriber.unsubscribe(channel).catch(() => undefined);
        }
      }
      return true;
    } catch (error) {
      this.logger.debug('SUBSCRIBE failed', {
        channels: channels.length,
        error: errorMessage(error),
      });
      // Refused by the ACL (logged once by the refusal log): asking again at once would only
      // be refused again, as fast as Redis answers.
      if (isAccessRefusal(errorMessage(error)) && !generation.retired) {
        await sleep(REFUSED_SUBSCRIBE_PAUSE_MS);
      }
      return false;
    } finally {
      for (const channel of channels) generation.subscribing.delete(channel);
      this.notify();
    }
  }

  private async restoreSubscriptions(generation: Generation): Promise<void> {
    if (generation.retired) return;
    const channels = [...this.handlers.keys()].filter((c) => !generation.subscribing.has(c));
    const subscribed = channels.length === 0 || (await this.subscribeOn(generation, channels));
    if (!subscribed || generation.retired || this.generation !== generation) return;
    for (const listener of [...this.resubscribedListeners]) {
      this.runListener('resubscribed', listener);
    }
  }

  private removeHandler(channel: string, handler: ChannelHandler): void {
    const channelHandlers = this.handlers.get(channel);
    if (channelHandlers === undefined || !channelHandlers.delete(handler)) return;
    if (channelHandlers.size > 0) return;
    this.handlers.delete(channel);
    const generation = this.generation;
    if (generation?.subscribed.delete(channel) && generation.subscriber.status === 'ready') {
      generation.subscriber.unsubscribe(channel).catch(() => undefined);
    }
  }

  private dispatch(channel: string, message: string): void {
    const channelHandlers = this.handlers.get(channel);
    if (channelHandlers === undefined) return;
    for (const handler of [...channelHandlers]) {
      this.runListener('channel handler', () => handler(message));
    }
  }

  /** A listener's bug is logged, never allowed to break the connection's own bookkeeping. */
  private runListener(what: string, listener: () => void): void {
    try {
      listener();
    } catch (error) {
      this.logger.warn(`a ${what} threw`, { error: errorMessage(error) });
    }
  }

  /** Resolves with the first defined value of `probe`, re-probing after every state change. */
  private async until<T>(probe: () => T | undefined, signal?: AbortSignal): Promise<T> {
    for (;;) {
      if (this.closing.signal.aborted) throw new Unavailable('the bus connection is closed');
      if (signal?.aborted) throw abandoned(signal);
      const value = probe();
      if (value !== undefined) return value;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
