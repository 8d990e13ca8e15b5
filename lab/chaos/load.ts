/**
 * The client load of a chaos scenario: `clients` concurrent HTTPS clients on the gateway
 * (the VIP), sharing a few users so every user's agenda has concurrent writers and readers.
 * Each client loops: create a one-minute personal event with a unique title, or read the
 * user's agenda over the window the events live in. A create carries an `idempotency-key`
 * and is retried with the same key on connection errors, timeouts, 5xx and 429 until it is
 * acknowledged, so a failover costs time but never a second copy; when the run ends first,
 * its outcome is unknown (it may still have applied), not lost.
 *
 * Attempts time out quickly (a second by default) and retry quickly, so the first success
 * after an outage is seen within tens of milliseconds and unavailability is measured
 * finely. Each finished operation is reported as an {@link OpRecord} as soon as it ends.
 * Runs last longer than an access token (15 minutes): each user's session is renewed with
 * its refresh token as the access token runs out (or a gateway says it has), and logged in
 * again only when the session cannot be renewed.
 * It runs in-process (tests) or behind `load-main.ts` (the lab's client namespace).
 *
 * It speaks HTTP itself, not through the CLI's client, because it needs every attempt's raw
 * outcome and its own timeouts and retries. Its requests are still derived from the API's
 * declaration (contract/api-routes.ts) as the CLI's are: a route's method, path and query
 * names, its request body type (the CLI's `RequestOf`) and the answer fields it reads come
 * from there, so a change of route is a type error here too.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { z } from 'zod';
import { Rng } from '../../base/rng.js';
import { preciseConnector } from '../../server/net/connector.js';
import { LIST_PAGE_MAX_ITEMS } from '../../contract/api.js';
import {
  API_ROUTES,
  type AnswerOf,
  type ApiRoutes,
  type PathParams,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import type { RequestOf } from '../../cli/http/agenda-api.js';
import { monotonicNow, type LoadSpec, type OpRecord, type UserReadBack } from './protocol.js';

/** Events are one minute long, one after another: creates never conflict with each other. */
const SLOT_MS = 60_000;
/** The read window: far more slots than a run creates, within the API's longest query span. */
export const WINDOW_MS = 300 * 24 * 3_600_000;
/** Registration and login before the load starts get this long, healthy system or not. */
const SETUP_TIMEOUT_MS = 30_000;

/** How long a login or registration attempt waits: the gateway's deadline for an answer. */
const PASSWORD_ATTEMPT_TIMEOUT_MS = 10_000;
/** Opening a TLS connection to the VIP takes a few milliseconds when anyone answers. */
const CONNECT_TIMEOUT_MS = 300;

/** The load could not start or could not read the agendas back. */
export class LoadError extends Error {
  readonly code = 'chaos_load_failed' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoadError';
  }
}

/** What one HTTP attempt came to: an answer (any status), or no answer at all. */
type Attempt =
  | { readonly answered: true; readonly status: number; readonly body: unknown }
  | { readonly answered: false; readonly error: string };

interface UserSession {
  readonly name: string;
  readonly password: string;
  /** The access token, null until logged in and once refused. */
  token: string | null;
  /** When the access token runs out (epoch ms, the gateway's word). */
  expiresAt: number;
  /** Renews the session; null until logged in and once the session cannot be renewed. */
  refreshToken: string | null;
  /** A login or a renewal in flight, shared by the user's clients. */
  login: Promise<void> | null;
  /** The next free one-minute slot of this user's window. */
  nextSlot: number;
}

/**
 * The routes the load may call: those a path alone names (no `:parameter`) and that answer
 * JSON. A route that gains a parameter stops being one, so its calls here stop compiling.
 */
type LoadRoute = {
  [K in RouteName]: unknown extends PathParams<ApiRoutes[K]['path']>
    ? ApiRoutes[K]['answer'] extends { readonly kind: 'json' }
      ? K
      : never
    : never;
}[RouteName];

/** A request to any {@link LoadRoute}, once `RequestOf` has checked it. */
interface LoadRequestParts {
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
}

type EventsPage = AnswerOf<ApiRoutes['listEvents']>;
/**
 * What the load reads of a page of `listEvents`, checked before it is trusted; its type is
 * the contract's, so the fields cannot drift. A missing `next` reads as the last page.
 */
const EventsPage = z.object({
  events: z.array(z.object({ title: z.string() })),
  next: z.string().nullable().optional(),
}) satisfies z.ZodType<{
  readonly events: readonly Pick<EventsPage['events'][number], 'title'>[];
  readonly next?: EventsPage['next'] | undefined;
}>;
/** What the load reads of a login's or a renewal's answer: the session's tokens. */
const SessionTokens = z.object({
  token: z.string().min(1),
  expiresAt: z.iso.datetime(),
  refreshToken: z.string().min(1),
}) satisfies z.ZodType<Pick<AnswerOf<ApiRoutes['login']>, 'token' | 'expiresAt' | 'refreshToken'>>;

/** An access token this close to its expiry is renewed before it is sent. */
const EARLY_RENEWAL_MS = 30_000;

/** The path and query string of a request to `route`, query names in the order given. */
function requestPath(route: RouteDeclaration, query: LoadRequestParts['query']): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) search.append(name, value);
  }
  const text = search.toString();
  return text === '' ? route.path : `${route.path}?${text}`;
}

/** Statuses after which the same request may succeed: the system is failing over. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function describeRefusal(status: number, body: unknown): string {
  const parsed = z
    .object({ error: z.object({ code: z.string(), message: z.string() }) })
    .safeParse(body);
  return parsed.success
    ? `${status} ${parsed.data.error.code}: ${parsed.data.error.message}`
    : `${status} without an error body`;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new LoadError(`cannot read the CA file ${path}: ${errorText(error)}`, { cause: error });
  }
}

export class ChaosLoad {
  readonly #spec: LoadSpec;
  readonly #report: (record: OpRecord) => void;
  readonly #agent: Agent;
  readonly #origin: string;
  readonly #windowStart: number;
  readonly #users: UserSession[];
  /** Aborts attempts in flight when the load is closed (not when it is merely stopped). */
  readonly #closing = new AbortController();
  #stopping = false;
  /** Wakes clients sleeping between operations when the load stops. */
  readonly #wake = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #closed: Promise<void> | null = null;

  /** @throws LoadError when the CA file cannot be read. */
  constructor(spec: LoadSpec, report: (record: OpRecord) => void) {
    this.#spec = spec;
    this.#report = report;
    const url = new URL(spec.url);
    this.#origin = url.origin;
    this.#windowStart = Date.parse(spec.windowStart);
    this.#agent = new Agent({
      // A client that notices a moved VIP quickly: a connect whose SYN went to the old owner
      // is abandoned at a precise bound and retried on a new socket (server/net/connector.ts).
      connect: preciseConnector(
        { ca: readCa(spec.caPath) },
        Math.min(CONNECT_TIMEOUT_MS, spec.attemptTimeoutMs),
      ),
      connections: spec.clients + 2,
      keepAliveTimeout: 10_000,
    });
    this.#users = Array.from({ length: spec.users }, (_, index) => ({
      name: `${spec.userPrefix}-u${index}`,
      password: randomBytes(12).toString('base64url'),
      token: null,
      expiresAt: 0,
      refreshToken: null,
      login: null,
      nextSlot: 0,
    }));
  }

  /** The usernames the load acts as. */
  get users(): string[] {
    return this.#users.map((user) => user.name);
  }

  /**
   * Registers and logs in every user (retrying while the system is unavailable, up to
   * 30 s), then starts the clients. Resolves with the instant operations began.
   * @throws LoadError when a user cannot be set up.
   */
  async start(): Promise<number> {
    const deadline = monotonicNow() + SETUP_TIMEOUT_MS;
    for (const user of this.#users) await this.#register(user, deadline);
    await Promise.all(this.#users.map((user) => this.#ensureLogin(user)));
    for (const user of this.#users) {
      if (user.token === null) throw new LoadError(`could not log ${user.name} in`);
    }
    const at = monotonicNow();
    this.#loops = Array.from({ length: this.#spec.clients }, (_, client) =>
      this.#runClient(client),
    );
    return at;
  }

  /**
   * Stops starting operations and retries; resolves once every client has reported its last
   * operation (at most one attempt timeout later), with the instant stopping began.
   */
  async stop(): Promise<number> {
    const at = monotonicNow();
    this.#stopping = true;
    for (const wake of this.#wake) wake();
    await Promise.all(this.#loops);
    return at;
  }

  /**
   * Reads every user's agenda, retrying each until it succeeds or `readBackTimeoutMs`
   * passes; call after the system was restored. Only the successful read is reported.
   * @throws LoadError when an agenda cannot be read in time.
   */
  async readBack(): Promise<UserReadBack[]> {
    const results: UserReadBack[] = [];
    for (const user of this.#users) {
      const deadline = monotonicNow() + this.#spec.readBackTimeoutMs;
      let lastError = 'no attempt';
      for (;;) {
        await this.#ensureLogin(user);
        const call = monotonicNow();
        // Nothing writes any more: the pages of the agenda are one read.
        const read = await this.#read(user, { allPages: true });
        if (read.ok) {
          results.push({ user: user.name, call, return: monotonicNow(), titles: read.titles });
          break;
        }
        lastError = read.error;
        if (monotonicNow() > deadline) {
          throw new LoadError(
            `could not read ${user.name}'s agenda back within ${this.#spec.readBackTimeoutMs} ms: ${lastError}`,
          );
        }
        await this.#pause(this.#spec.retryDelayMs, false);
      }
    }
    return results;
  }

  /** Stops everything at once (attempts in flight are cut) and closes connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopping = true;
      this.#closing.abort();
      for (const wake of this.#wake) wake();
      await Promise.allSettled(this.#loops);
      await this.#agent.close();
    })();
    return this.#closed;
  }

  async #runClient(client: number): Promise<void> {
    const user = this.#users[client % this.#users.length]!;
    const rng = new Rng(this.#spec.seed + client);
    for (let n = 0; !this.#stopping; n++) {
      const started = monotonicNow();
      if (rng.chance(this.#spec.createShare)) await this.#create(client, user, n);
      else await this.#readOp(client, user);
      await this.#pause(this.#spec.paceMs - (monotonicNow() - started), true);
    }
  }

  async #create(client: number, user: UserSession, n: number): Promise<void> {
    const title = `${user.name}-c${client}-${n}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const start = new Date(this.#windowStart + user.nextSlot++ * SLOT_MS).toISOString();
    const body = { title, start, duration: '1m', allowConflict: true };
    const call = monotonicNow();
    let attempts = 0;
    let lastError = 'the run ended before the first attempt';
    for (;;) {
      if (attempts > 0 && this.#stopping) {
        this.#report({
          kind: 'create',
          client,
          user: user.name,
          call,
          title,
          outcome: 'unknown',
          attempts,
          error: lastError,
        });
        return;
      }
      attempts += 1;
      await this.#ensureLogin(user);
      const sent = user.token;
      const answer = await this.#attempt('createEvent', { body }, { user, key: title });
      if (answer.answered && answer.status >= 200 && answer.status < 300) {
        this.#report({
          kind: 'create',
          client,
          user: user.name,
          call,
          title,
          outcome: 'acked',
          return: monotonicNow(),
          attempts,
        });
        return;
      }
      if (answer.answered && !retryable(answer.status) && answer.status !== 401) {
        const error = describeRefusal(answer.status, answer.body);
        this.#report({
          kind: 'create',
          client,
          user: user.name,
          call,
          title,
          outcome: 'refused',
          return: monotonicNow(),
          attempts,
          error,
        });
        return;
      }
      lastError = answer.answered ? describeRefusal(answer.status, answer.body) : answer.error;
      if (answer.answered && answer.status === 401) this.#refused(user, sent);
      else await this.#pause(this.#spec.retryDelayMs, true);
    }
  }

  async #readOp(client: number, user: UserSession): Promise<void> {
    await this.#ensureLogin(user);
    const call = monotonicNow();
    const read = await this.#read(user);
    const at = monotonicNow();
    this.#report(
      read.ok
        ? {
            kind: 'read',
            client,
            user: user.name,
            call,
            outcome: 'ok',
            return: at,
            titles: read.titles,
          }
        : {
            kind: 'read',
            client,
            user: user.name,
            call,
            outcome: 'failed',
            return: at,
            error: read.error,
          },
    );
  }

  /**
   * The user's agenda over the load's window. Lists come a page at a time
   * (`LIST_PAGE_MAX_ITEMS`); pages read one after another are not one atomic read while
   * others write, so during the load an agenda longer than a page is a failed read (the
   * history checker must not see a torn one), and only the read-back, once nothing writes,
   * follows the pages (`allPages`).
   */
  async #read(
    user: UserSession,
    options: { allPages: boolean } = { allPages: false },
  ): Promise<{ ok: true; titles: string[] } | { ok: false; error: string }> {
    const from = new Date(this.#windowStart).toISOString();
    const to = new Date(this.#windowStart + WINDOW_MS).toISOString();
    const titles: string[] = [];
    let after: string | null = null;
    do {
      const query = { from, to, limit: String(LIST_PAGE_MAX_ITEMS), after: after ?? undefined };
      const sent = user.token;
      const answer = await this.#attempt('listEvents', { query }, { user });
      if (!answer.answered) return { ok: false, error: answer.error };
      if (answer.status === 401) this.#refused(user, sent);
      if (answer.status !== API_ROUTES.listEvents.answer.status)
        return { ok: false, error: describeRefusal(answer.status, answer.body) };
      const parsed = EventsPage.safeParse(answer.body);
      if (!parsed.success) return { ok: false, error: 'the agenda answer has no events list' };
      titles.push(...parsed.data.events.map((event) => event.title));
      after = parsed.data.next ?? null;
      if (after !== null && !options.allPages) {
        return { ok: false, error: `the agenda is longer than one page (${titles.length} events)` };
      }
    } while (after !== null);
    return { ok: true, titles };
  }

  async #register(user: UserSession, deadline: number): Promise<void> {
    const body = { username: user.name, password: user.password };
    for (;;) {
      const key = `register-${user.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
      const answer = await this.#attempt('register', { body }, { key });
      if (answer.answered && answer.status === API_ROUTES.register.answer.status) return;
      const error = answer.answered ? describeRefusal(answer.status, answer.body) : answer.error;
      if ((answer.answered && !retryable(answer.status)) || monotonicNow() > deadline) {
        throw new LoadError(`could not register ${user.name}: ${error}`);
      }
      await this.#pause(this.#spec.retryDelayMs, false);
    }
  }

  /**
   * The gateway refused `sent`, the access token a request of `user` carried: it has expired
   * (or its session ended), so the next operation renews the session, or logs in again.
   * A token renewed meanwhile by another client of the user is kept.
   */
  #refused(user: UserSession, sent: string | null): void {
    if (user.token === sent) user.token = null;
  }

  /**
   * Makes sure `user` holds an access token that has not run out: renews the session with
   * its refresh token when it has, and logs in when there is none or the gateway will not
   * renew it. Concurrent callers share one renewal or login.
   */
  async #ensureLogin(user: UserSession): Promise<void> {
    if (this.#closing.signal.aborted) return;
    if (user.token !== null && user.expiresAt - EARLY_RENEWAL_MS > Date.now()) return;
    user.login ??= (async () => {
      if (user.refreshToken !== null && (await this.#renew(user))) return;
      const deadline = monotonicNow() + SETUP_TIMEOUT_MS;
      const body = { username: user.name, password: user.password };
      while (!this.#closing.signal.aborted) {
        const answer = await this.#attempt('login', { body }, {});
        if (answer.answered && answer.status === API_ROUTES.login.answer.status) {
          if (this.#hold(user, answer.body)) return;
        }
        // Between two ops a failed login is just another failed attempt; the op retries it.
        if (monotonicNow() > deadline || this.#stopping) return;
        await this.#pause(this.#spec.retryDelayMs, false);
      }
    })().finally(() => {
      user.login = null;
    });
    await user.login;
  }

  /**
   * One attempt at renewing `user`'s session. False when it must log in again (the session
   * ended or expired); true when renewed, or when the gateway did not answer — then the
   * access token is dropped and the next operation tries again, as after any failed attempt.
   */
  async #renew(user: UserSession): Promise<boolean> {
    const refreshToken = user.refreshToken;
    if (refreshToken === null) return false;
    const answer = await this.#attempt('refreshSession', { body: { refreshToken } }, {});
    if (answer.answered && answer.status === API_ROUTES.refreshSession.answer.status) {
      return this.#hold(user, answer.body);
    }
    if (answer.answered && answer.status === 401) {
      user.refreshToken = null;
      return false;
    }
    user.token = null;
    return true;
  }

  /** Keeps the tokens of a login's or a renewal's answer; false if it holds none. */
  #hold(user: UserSession, body: unknown): boolean {
    const parsed = SessionTokens.safeParse(body);
    if (!parsed.success) return false;
    user.token = parsed.data.token;
    user.expiresAt = Date.parse(parsed.data.expiresAt);
    user.refreshToken = parsed.data.refreshToken;
    return true;
  }

  /**
   * One attempt at route `name` with `request` (typed by the route's declaration), as `user`
   * when given, with `key` as its idempotency key when given.
   */
  async #attempt<K extends LoadRoute>(
    name: K,
    request: RequestOf<K>,
    options: { user?: UserSession; key?: string },
  ): Promise<Attempt> {
    const route: RouteDeclaration = API_ROUTES[name];
    const { query, body: sent } = request as LoadRequestParts;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.user?.token) headers.authorization = `Bearer ${options.user.token}`;
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    if (sent !== undefined) headers['content-type'] = 'application/json';
    // A login and a registration hash a password at OWASP's cost (about half a second of a
    // core here) by design: bounded like the other operations, they timed out under load and
    // each retry queued one more hash, until logins took a minute. They get the users
    // service's own deadline; every other operation keeps the load's attempt bound.
    const timeout =
      name === 'login' || name === 'register'
        ? Math.max(this.#spec.attemptTimeoutMs, PASSWORD_ATTEMPT_TIMEOUT_MS)
        : this.#spec.attemptTimeoutMs;
    try {
      const response = await this.#agent.request({
        origin: this.#origin,
        path: requestPath(route, query),
        method: route.method,
        headers,
        ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.any([AbortSignal.timeout(timeout), this.#closing.signal]),
      });
      const text = await response.body.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { answered: true, status: response.statusCode, body };
    } catch (error) {
      return { answered: false, error: errorText(error) };
    }
  }

  /** Sleeps `ms` (nothing when ≤ 0); `wakeOnStop` ends the sleep as soon as the load stops. */
  #pause(ms: number, wakeOnStop: boolean): Promise<void> {
    if (ms <= 0 || (wakeOnStop && this.#stopping) || this.#closing.signal.aborted) {
      return Promise.resolve();
    }
    const closing = this.#closing.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake.delete(done);
        closing.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // close() wakes every sleeper; stop() only those between operations.
      if (wakeOnStop) this.#wake.add(done);
      closing.addEventListener('abort', done, { once: true });
    });
  }
}
