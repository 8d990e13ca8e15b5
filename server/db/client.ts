/**
 * The client the logic services and supervisors use to reach the DB service: mutual TLS,
 * keep-alive connections to every member, a preference for the member it last saw lead,
 * and retries that are safe because every command carries its request id (the store
 * applies a request id once and answers the original result to a retry).
 *
 * Every attempt ends by its own bound, whatever the network does. A member whose packets are
 * dropped (a partitioned or crashed host) never refuses a connection: undici would wait out
 * its connect timeout (seconds, on a coarse timer, and deaf to abort signals while
 * connecting). So connects have a precise bound of their own (`server/net/connector.ts`),
 * each attempt is raced against a timer, and after a failed attempt the client asks every
 * member at once until one answers: callers with short deadlines (the VIP agent's 100 ms
 * checks) reach a live member on their next call instead of trying dead ones in turn.
 *
 * A slow member is not a dead one. An attempt outlives its bound (up to 6.5 s) while the
 * member keeps answering the client's other calls successfully (one within the last quarter
 * of a bound): it is busy, and asking every member too would multiply the load that made it
 * slow. Before this rule, 64 concurrent group-agenda reads, each a few hundred milliseconds
 * under load, turned into five copies each and the DB service collapsed to 4 reads a second,
 * most timing out.
 */
import { JsonText } from '../../base/json-text.js';
import { Agent, request } from 'undici';
import { ConnectTimeoutError, preciseConnector } from '../net/connector.js';
import {
  Unavailable,
  errorFromWire,
  isAgendaError,
  type AgendaError,
} from '../../contract/errors.js';
import type {
  QueryBody,
  SessionRef,
  StoreCommand,
  StoreQueryResult,
  StoreResult,
  StoreStatus,
} from '../store/protocol.js';
import type { NodeStatus } from '../../raft/runtime/raft-node.js';
import type { NetAddress } from '../../base/host-port.js';
import type { MutualTlsMaterial } from '../../base/tls.js';

export interface DbClientOptions {
  /** API addresses of the DB members by member id; any of them will do. */
  readonly members: ReadonlyMap<number, NetAddress>;
  readonly tls: MutualTlsMaterial;
  /** Overall deadline of one call, retries included. Default 8 s. */
  readonly deadlineMs?: number;
  /** Longest one attempt may take before every member is tried at once. Default 500 ms. */
  readonly attemptTimeoutMs?: number;
  /** Longest a connection (TCP and TLS) to a member may take to open. Default 500 ms. */
  readonly connectTimeoutMs?: number;
  /** Told when the client starts asking every member at once (at most every 5 s). */
  readonly logger?: DbClientLogger;
  /**
   * Commands issued in the same turn of the event loop travel together, in one request to
   * `/v1/command-batch` (default true); see {@link DbClient.command}.
   */
  readonly batchCommands?: boolean;
  /** How often the client keeps its connections to every member open; default 10 s. */
  readonly warmIntervalMs?: number;
}

/** Where the client says that the member it preferred stopped answering. */
export interface DbClientLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A command as callers write it: the DB leader stamps `at`. */
export type CommandInput = Omit<StoreCommand, 'at'>;

export interface DbMemberStatus {
  readonly member: NodeStatus;
  readonly store: StoreStatus | null;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly deadlineMs?: number;
  /**
   * A query's successful result as the {@link JsonText} the store wrote, unparsed: for a
   * service that passes it on as its own answer (`passThrough`). Default false.
   */
  readonly relay?: boolean;
}

// A successful query's answer, as the DB service writes it (`{"result":…}` around the JSON
// the store's worker wrote for `{ ok: true, result }`, calendar-store.ts): the relayed
// result is what lies between.
const RELAYED_HEAD = '{"result":{"ok":true,"result":';
const RELAYED_TAIL = '}}';

/** A member's answer to a call: relayed as {@link CallOptions.relay} says, else parsed. */
function answerOf<T>(text: string, relay: boolean): { result?: T; error?: unknown } {
  if (
    relay &&
    text.startsWith(RELAYED_HEAD) &&
    text.endsWith(RELAYED_TAIL) &&
    text.length > RELAYED_HEAD.length + RELAYED_TAIL.length
  ) {
    const result = new JsonText(text.slice(RELAYED_HEAD.length, -RELAYED_TAIL.length));
    return { result: { ok: true, result } as T };
  }
  return JSON.parse(text) as { result?: T; error?: unknown };
}

/** One item of a `/v1/command-batch` answer: the store's result, or why there is none. */
export type BatchItemAnswer =
  | { readonly result: StoreResult; readonly error?: undefined }
  | { readonly result?: undefined; readonly error: unknown };

/** The most commands one `/v1/command-batch` request carries. */
export const MAX_COMMAND_BATCH = 64;

interface QueuedCommand {
  readonly command: CommandInput;
  readonly opts: CallOptions;
  readonly deadline: number;
  settle(outcome: { result: StoreResult } | { error: Error }): void;
}

export class DbClient {
  private readonly agent: Agent;
  private readonly members: { readonly id: number; readonly address: NetAddress }[];
  private preferred = 0;
  /**
   * Set once an attempt failed, cleared by the next answer: the preferred member may be dead
   * (its host crashed or cut off) and so may the next one, and trying them one by one costs
   * an attempt timeout each. Meanwhile every call goes to every member at once and takes the
   * first answer; followers forward commands to the leader, and the store applies a request
   * id once, so the copies cannot apply twice.
   */
  private fanningOut = false;
  private closed = false;
  /**
   * While asking every member, one call at a time does the asking (the scout); the others
   * wait for its outcome and then ask the member it found. When the leader died under load,
   * every call in flight — a failed batch's commands each retried alone, too — asked all
   * five members at once: each opened a TLS connection to each member, followers forwarded
   * every copy, and a users service spent most of a second in handshakes after the new
   * leader was already serving (a leader kill cost 1.8–3.3 s of unavailability instead of
   * well under 1.5 s).
   */
  private scout: { readonly done: Promise<void>; readonly end: () => void } | null = null;
  /** Attempts in flight now, and the most at once since the last `warm`. */
  private inFlight = 0;
  private peakInFlight = 0;
  /** The peaks of the last few rounds of `warm`: what its pools grow toward. */
  private readonly recentPeaks: number[] = [];
  private readonly warmTimer: NodeJS.Timeout;
  /** When each member (by index) last answered anything: proof that it is alive. */
  private readonly lastAnswerAt = new Map<number, number>();
  /** The {@link leadsAndAnswers} probe in flight to each member. */
  private readonly probes = new Map<number, Promise<boolean>>();
  /** Switches to {@link fanningOut} since the last one logged, and when that was. */
  private fanOuts = 0;
  private fanOutLoggedAt = -Infinity;
  /** Commands waiting for the end of this event-loop turn (see `command`). */
  private queued: QueuedCommand[] = [];
  private flushScheduled: NodeJS.Immediate | null = null;

  constructor(private readonly options: DbClientOptions) {
    if (options.members.size === 0) throw new Error('the DB client needs at least one member');
    this.members = [...options.members].map(([id, address]) => ({ id, address }));
    const connectMs = options.connectTimeoutMs ?? 500;
    const byOrigin = new Map(
      this.members.map((m, i) => [`${m.address.host}:${m.address.port}`, i]),
    );
    this.agent = new Agent({
      connect: preciseConnector(
        {
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
          rejectUnauthorized: true,
        },
        // A member that answered within the last second is busy, not gone: a handshake with
        // it may take longer than the bound on a loaded machine, and giving up on it only
        // starts another (under 64 agenda readers, TLS connects were a third of a users
        // service's CPU). Whether a call waits that long is still up to `bounded`.
        (host, port) => {
          const index = byOrigin.get(`${host}:${port}`);
          const busy = index !== undefined && this.answeredWithin(index, BUSY_WINDOW_MS);
          return busy ? Math.max(connectMs, BUSY_CONNECT_MS) : connectMs;
        },
      ),
      keepAliveTimeout: 30_000,
      connections: 32,
    });
    this.warmTimer = setInterval(() => this.warm(), options.warmIntervalMs ?? WARM_INTERVAL_MS);
    this.warmTimer.unref();
  }

  /**
   * Applies a command and returns the store's result (a domain refusal is a result with
   * `ok: false`, not an exception). Throws {@link Unavailable} when no member could apply it
   * before the deadline; retrying later with the same request id is then safe.
   *
   * Commands issued in the same turn of the event loop go out as one batch (unless the
   * `batchCommands` option is false): one HTTPS request and answer instead of one each, which
   * was a fifth of a DB leader's CPU and of a users service's under load. Each command is
   * still its own log entry with its own result. A command the batch could not settle (the
   * leader changed, the batch request failed) is retried on its own, under its own deadline;
   * its request id makes that safe.
   */
  command(command: CommandInput, opts: CallOptions = {}): Promise<StoreResult> {
    if (this.options.batchCommands === false) {
      return this.call<StoreResult>('/v1/commands', command, opts);
    }
    return new Promise<StoreResult>((resolve, reject) => {
      const { signal } = opts;
      const onAbort = () => item.settle({ error: new Unavailable('the caller gave up') });
      const item: QueuedCommand = {
        command,
        opts,
        deadline: Date.now() + (opts.deadlineMs ?? this.options.deadlineMs ?? 8_000),
        settle: (outcome) => {
          signal?.removeEventListener('abort', onAbort);
          if ('result' in outcome) resolve(outcome.result);
          else reject(outcome.error);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queued.push(item);
      if (this.queued.length >= MAX_COMMAND_BATCH) this.flushCommands();
      else this.flushScheduled ??= setImmediate(() => this.flushCommands());
    });
  }

  /** A linearizable read (or `local`, possibly stale, from whichever member answers). */
  query(
    actor: string | null,
    body: QueryBody,
    opts: CallOptions & { consistency?: 'linearizable' | 'local' } = {},
    session?: SessionRef,
  ): Promise<StoreQueryResult> {
    const path = opts.consistency === 'local' ? '/v1/queries?consistency=local' : '/v1/queries';
    return this.call<StoreQueryResult>(
      path,
      { v: 1, actor, ...(session ? { session } : {}), body },
      opts,
    );
  }

  /** One member's status (no retries: an operator wants to know that member). */
  async status(member: NetAddress, timeoutMs = 2_000): Promise<DbMemberStatus> {
    const res = await request(`https://${member.host}:${member.port}/v1/status`, {
      dispatcher: this.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode !== 200) throw new Unavailable(`member answered ${res.statusCode}`);
    return (await res.body.json()) as DbMemberStatus;
  }

  close(): Promise<void> {
    clearInterval(this.warmTimer);
    this.closed = true;
    this.flushCommands();
    return this.agent.close();
  }

  /** Sends the queued commands: alone as a plain command, together as a batch. */
  private flushCommands(): void {
    if (this.flushScheduled !== null) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    // A caller that gave up was answered already; its command is not sent.
    const items = this.queued.splice(0).filter((item) => item.opts.signal?.aborted !== true);
    if (items.length === 1) this.commandAlone(items[0]!);
    else if (items.length > 1) void this.commandBatch(items);
  }

  private commandAlone(item: QueuedCommand): void {
    const left = item.deadline - Date.now();
    if (left <= 0) {
      item.settle({ error: new Unavailable('no DB member answered before the deadline') });
      return;
    }
    this.call<StoreResult>('/v1/commands', item.command, { ...item.opts, deadlineMs: left }).then(
      (result) => item.settle({ result }),
      (error: unknown) =>
        item.settle({ error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  private async commandBatch(items: readonly QueuedCommand[]): Promise<void> {
    let answers: readonly BatchItemAnswer[] = [];
    try {
      // Bounded by the earliest deadline: whatever is left unsettled then is retried alone.
      const deadlineMs = Math.max(1, Math.min(...items.map((i) => i.deadline)) - Date.now());
      const answer = await this.call<{ results?: readonly BatchItemAnswer[] }>(
        '/v1/command-batch',
        { commands: items.map((i) => i.command) },
        { deadlineMs },
      );
      if (answer.results?.length === items.length) answers = answer.results;
    } catch {
      // Each command is retried alone below.
    }
    items.forEach((item, i) => {
      const answer = answers[i];
      if (answer?.result !== undefined) return item.settle({ result: answer.result });
      const error = answer === undefined ? null : errorFromWire(answer.error);
      if (error !== null && error.code !== 'unavailable') return item.settle({ error });
      this.commandAlone(item);
    });
  }

  private async call<T>(path: string, body: unknown, opts: CallOptions): Promise<T> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.options.deadlineMs ?? 8_000);
    const payload = JSON.stringify(body);
    let backoff = 20;
    let last: AgendaError | null = null;
    while (Date.now() < deadline) {
      if (opts.signal?.aborted) throw new Unavailable('the caller gave up');
      const attemptMs = Math.max(
        1,
        Math.min(deadline - Date.now(), this.options.attemptTimeoutMs ?? 500),
      );
      if (this.fanningOut && this.scout !== null) {
        // Another call is asking every member: wait for what it finds (see `scout`).
        await this.scoutDone(this.scout.done, deadline, opts.signal);
        continue;
      }
      // The preferred member (the leader as last named, else the last one that answered) —
      // or, since an attempt failed, every member at once (see `fanningOut`).
      const scouting = this.fanningOut;
      const targets = scouting ? this.members.map((_, i) => i) : [this.preferred];
      if (scouting) this.scout = startScout();
      let outcome: Outcome<T>;
      try {
        outcome = await firstDecisive(
          targets.map((index) =>
            this.attempt<T>(
              index,
              path,
              payload,
              { attemptMs, deadline, relay: opts.relay === true },
              opts.signal,
            ),
          ),
        );
      } finally {
        if (scouting) {
          this.scout?.end();
          this.scout = null;
        }
      }
      if (outcome.kind === 'result') {
        this.fanningOut = false;
        return outcome.value;
      }
      if (outcome.kind === 'refused') throw outcome.error;
      last = outcome.error;
      // A member that answers other calls but is slow to accept one more connection (a
      // burst of calls opening many at once) is busy, not gone: asking every member would
      // multiply the load that made it slow. Its next attempt reuses or opens a connection.
      if (!this.fanningOut && this.members.length > 1 && outcome.busy !== true) {
        this.fanningOut = true;
        this.noteFanOut(this.members[targets[0] ?? 0]?.id, outcome.error);
      }
      await new Promise((r) =>
        setTimeout(r, Math.min(backoff, Math.max(0, deadline - Date.now()))),
      );
      backoff = Math.min(backoff * 2, 250);
    }
    throw last ?? new Unavailable('no DB member answered before the deadline');
  }

  /**
   * One request to one member: given up after `attemptMs` whatever the network does, unless
   * the member is visibly alive (see the module comment), then waited for up to the deadline.
   */
  private async attempt<T>(
    index: number,
    path: string,
    payload: string,
    bounds: { readonly attemptMs: number; readonly deadline: number; readonly relay: boolean },
    signal: AbortSignal | undefined,
  ): Promise<Outcome<T>> {
    const member = this.members[index]?.address;
    if (!member) return { kind: 'unavailable', error: new Unavailable('no such member') };
    const { attemptMs, deadline } = bounds;
    // The request itself outlives a short call to a member that answers (see `LATE_ANSWER_MS`);
    // `bounded` ends the wait.
    const waitMs = Math.max(attemptMs, deadline - Date.now());
    const requestMs = this.answeredWithin(index, BUSY_WINDOW_MS)
      ? Math.max(waitMs, LATE_ANSWER_MS)
      : waitMs;
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      const pending = request(`https://${member.host}:${member.port}${path}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body: payload,
        // These end the request itself; `bounded` ends the wait even while connecting.
        headersTimeout: requestMs,
        bodyTimeout: requestMs,
        ...(signal ? { signal } : {}),
      });
      // Only a successful answer shows the member does useful work: one that answers every
      // call with an error (say, a read it cannot complete) is no reason to wait for it.
      void pending.then(
        (res) => {
          if (res.statusCode === 200) this.lastAnswerAt.set(index, Date.now());
        },
        () => {},
      );
      const givenUpAt = Date.now() + Math.max(attemptMs, LIVE_MEMBER_WAIT_MS);
      const worthWaiting = () => Date.now() < Math.min(deadline, givenUpAt);
      const res = await bounded(
        pending,
        attemptMs,
        (lateMs) =>
          worthWaiting() && this.answeredWithin(index, attemptMs / ALIVE_FRACTION + lateMs),
        `no answer within ${attemptMs} ms`,
        () => (worthWaiting() ? this.leadsAndAnswers(index) : Promise.resolve(false)),
      );
      const answer = answerOf<T>(await res.body.text(), bounds.relay);
      // Prefer the leader next time (no forwarding hop); else whoever answered.
      const knowsLeader = this.learnLeader(res.headers['x-agenda-db-leader']);
      if (res.statusCode === 200 && answer.result !== undefined) {
        if (!knowsLeader) this.preferred = index;
        return { kind: 'result', value: answer.result };
      }
      const error = errorFromWire(answer.error);
      return error.code === 'unavailable'
        ? { kind: 'unavailable', error }
        : { kind: 'refused', error };
    } catch (err) {
      if (isAgendaError(err) && err.code !== 'unavailable') return { kind: 'refused', error: err };
      // Connection refused or reset, timeout: with request ids, trying another member is safe.
      // But a member that still answers other calls — it is slow to open one more connection,
      // or this call outlasted every extension (`LIVE_MEMBER_WAIT_MS`) while it kept answering — is
      // busy, not gone: asking every member would copy every call in flight five times, on
      // the very machine that is short of CPU (64 agenda reads collapsed to 10 a second so).
      // A member that fell silent (paused, cut off) is still asked around at once.
      return {
        kind: 'unavailable',
        busy:
          (err instanceof ConnectTimeoutError || err instanceof AttemptTimedOut) &&
          this.answeredWithin(index, attemptMs / ALIVE_FRACTION),
        error: new Unavailable(
          `DB member ${member.host}:${member.port}: ${(err as Error).message}`,
          {
            cause: err,
          },
        ),
      };
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Keeps as many connections open to every member as calls were in flight at once lately
   * (up to {@link WARM_MOST}): a cheap `/healthz` each, which reuses an idle connection and
   * opens one only where there are fewer — a few per round (see {@link WARM_NEW_CONNECTIONS}). When the leader dies, the calls then move to the
   * new one over connections already open. Without this, a service that had only ever
   * talked to the old leader opened its whole pool to the new one at once, and every
   * service did so together: the new leader and the services spent the first second after
   * the election in TLS handshakes (a leader kill cost 1.5–3.3 s of unavailability on a
   * fresh lab, 0.3–0.5 s on one whose pools earlier faults had opened). Not while asking
   * every member: a failover is no time to add work.
   */
  private warm(): void {
    this.recentPeaks.push(this.peakInFlight);
    if (this.recentPeaks.length > WARM_MEMORY_ROUNDS) this.recentPeaks.shift();
    const want = Math.min(WARM_MOST, Math.max(1, ...this.recentPeaks));
    this.peakInFlight = this.inFlight;
    if (this.fanningOut || this.closed) return;
    const pools = this.agent.stats as Record<string, PoolCounts | undefined>;
    this.members.forEach((m, index) => {
      const pool = pools[`https://${m.address.host}:${m.address.port}`];
      const idle = pool?.free ?? 0;
      const busy = (pool?.connected ?? 0) - idle;
      // Touches the idle connections (so they stay open) and opens a few more; the busy ones
      // carry calls and count toward what is wanted.
      const calls = Math.min(want - busy, idle + WARM_NEW_CONNECTIONS);
      if (calls <= 0) return;
      const timer = setTimeout(() => {
        if (this.closed) return;
        for (let i = 0; i < calls; i++) {
          request(`https://${m.address.host}:${m.address.port}/healthz`, {
            dispatcher: this.agent,
            headersTimeout: WARM_BOUND_MS,
            bodyTimeout: WARM_BOUND_MS,
          }).then(
            (res) => res.body.dump().catch(() => {}),
            () => {},
          );
        }
      }, index * WARM_STAGGER_MS);
      timer.unref();
    });
  }

  /** Resolves when the scout's round ends, the deadline passes or the caller gives up. */
  private scoutDone(done: Promise<void>, deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      signal?.addEventListener('abort', finish, { once: true });
      void done.then(finish);
      function finish(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve();
      }
    });
  }

  /** Logs a switch to asking every member: the first at once, then one line per interval. */
  private noteFanOut(member: number | undefined, error: AgendaError): void {
    this.fanOuts++;
    const now = Date.now();
    if (now - this.fanOutLoggedAt < FAN_OUT_LOG_INTERVAL_MS) return;
    this.options.logger?.warn('no answer from the preferred DB member; asking every member', {
      member,
      error: error.message,
      times: this.fanOuts,
    });
    this.fanOutLoggedAt = now;
    this.fanOuts = 0;
  }

  /** Whether the member answered any call in the last `ms`: busy rather than gone. */
  /**
   * Whether member `index` says, within {@link PROBE_MS}, that it is the leader: a sign of
   * life that a call's silence is its work, not the member's absence. The calls alone cannot
   * tell: twenty reads of a full calendar at once (2 MiB each) kept the leader's store busy
   * for seconds, no call of theirs was answered within a quarter bound, and each was asked
   * of every member, which then all did the same reads: 59 of 60 were answered 503. A member
   * paused or cut off does not answer this either, and a leader cut off from its quorum
   * steps down within an election timeout and then says so. One probe per member at a time;
   * callers share it. A yes counts as an answer (see {@link answeredWithin}).
   */
  private leadsAndAnswers(index: number): Promise<boolean> {
    const running = this.probes.get(index);
    if (running !== undefined) return running;
    const member = this.members[index]?.address;
    if (member === undefined || this.closed) return Promise.resolve(false);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), PROBE_MS);
    const probe = request(`https://${member.host}:${member.port}/healthz`, {
      dispatcher: this.agent,
      headersTimeout: PROBE_MS,
      bodyTimeout: PROBE_MS,
      signal: stop.signal,
    })
      .then(async (res) => {
        const body = (await res.body.json()) as { role?: unknown };
        const leads = res.statusCode === 200 && body.role === 'leader';
        if (leads) this.lastAnswerAt.set(index, Date.now());
        return leads;
      })
      .catch(() => false)
      .finally(() => {
        clearTimeout(timer);
        this.probes.delete(index);
      });
    this.probes.set(index, probe);
    return probe;
  }

  private answeredWithin(index: number, ms: number): boolean {
    const at = this.lastAnswerAt.get(index);
    return at !== undefined && Date.now() - at < ms;
  }

  /** Every answer names the leader as that member knows it: ask the leader next time. */
  private learnLeader(header: string | string[] | undefined): boolean {
    const id = Number(Array.isArray(header) ? header[0] : header);
    const index = this.members.findIndex((m) => m.id === id);
    if (index < 0) return false;
    this.preferred = index;
    return true;
  }
}

/** How often the client keeps its connections to every member open (see `warm`). */
const WARM_INTERVAL_MS = 10_000;

/** The most connections kept open to each member (see `warm`). */
const WARM_MOST = 16;

/**
 * The most connections `warm` opens to one member in one round, and how far apart it does
 * the members: a TLS handshake costs the client 3–6 ms of its event loop on this machine. When
 * a bulk import and 16 readers first raised the calls in flight to 16, opening 16
 * connections to each of five members at once held a users service's event loop for 444 ms
 * (readers' p99 844 ms). A pool now grows by a few connections per member each round, and
 * the handshakes of one round are spread over half a second.
 */
const WARM_NEW_CONNECTIONS = 2;
/** How many rounds `warm` remembers the most calls in flight at once (a minute's worth). */
const WARM_MEMORY_ROUNDS = 6;
const WARM_STAGGER_MS = 100;

/**
 * How long a member may take to say it leads ({@link DbClient.leadsAndAnswers}): its main
 * thread answers `/healthz` itself, whatever its store is doing.
 */
const PROBE_MS = 250;

/** How long a keep-warm `/healthz` may take. */
const WARM_BOUND_MS = 5_000;

/** What `warm` reads of undici's pool of connections to one member. */
interface PoolCounts {
  /** Connections open. */
  readonly connected: number;
  /** Connections open and not carrying a request. */
  readonly free: number;
}

/** An attempt given up at its bound (see {@link bounded}): the member may be busy or gone. */
class AttemptTimedOut extends Unavailable {}

/**
 * However busy a member looks, an attempt is given up after this long: a call stuck there is
 * then asked again — of the same member while it still answers others, of every member once
 * it stops. A DB member answers every call within its command timeout (5 s) plus one
 * forwarding hop (1 s), so a live member's call is only given up when something is wrong
 * with it. Giving up sooner only copies work onto a busy member: with a bound of four
 * attempts (2 s), group-agenda reads queued for 2–3 s under load were each sent again,
 * doubling the reads and opening a new TLS connection for every copy.
 */
const LIVE_MEMBER_WAIT_MS = 6_500;

/**
 * The least time a request is left to be answered, however short its caller's deadline: the
 * caller stops waiting at its bound (see {@link bounded}), and the late answer is read and
 * dropped on a connection that stays open. Ending the request at the caller's bound cut its
 * connection instead. The VIP agents read their lease with a 120 ms deadline ten times a
 * second; when a healed partition made the DB slow for a second, every read cut a connection
 * and the next opened one, and the agent on the healed host spent its event loop on TLS
 * handshakes (0.45 s in 5 s), its heartbeats went out late, and the active agent, no longer
 * able to count on its peer's word, dropped the VIP. Only for a member that answered within
 * the last second: requests to a silent one (cut off, paused) would hold the connections
 * (32 a member) and queue the calls that follow behind them.
 */
const LATE_ANSWER_MS = LIVE_MEMBER_WAIT_MS;

/** A member that answered a call within this long counts as busy, not gone, when connecting. */
const BUSY_WINDOW_MS = 1_000;

/** The connect bound (TCP and TLS) for a busy member: a loaded machine's handshake fits. */
const BUSY_CONNECT_MS = 5_000;

/** At most one line per this interval says the client switched to asking every member. */
const FAN_OUT_LOG_INTERVAL_MS = 5_000;

/**
 * A member counts as alive while it answered a call within this fraction of the attempt bound:
 * a busy member answers many calls a second, while one that is gone is given up on soon after
 * its last answer (a quarter bound later, in checks of an eighth).
 */
const ALIVE_FRACTION = 4;

/**
 * `pending`, or a rejection once `ms` have passed — or later, for as long as `stillWorth()`
 * says so. A request given up on is not cancelled — undici cannot cancel a connect in
 * progress — so its outcome is consumed here, never left unhandled, and its late answer's
 * body discarded. Only then: discarding the body of the answer the caller is about to read
 * would break it, and undici's `dump()` does, destroying any body over 128 KiB (every large
 * agenda failed on every member with "The operation was aborted").
 */
function bounded<T extends { body: { dump(): Promise<void> } }>(
  pending: Promise<T>,
  ms: number,
  stillWorth: (lateMs: number) => boolean,
  message: string,
  alive: () => Promise<boolean> = () => Promise.resolve(false),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const expired = new Promise<never>((_, reject) => {
    // Checked often after the first bound, so an attempt is given up about `ms` after the
    // member's last sign of life, as it would be without the extension.
    // A check that fires late found this process stalled (a scavenge, a starved CPU): the
    // member's silence during the stall is no evidence, since its answers could not be read.
    // The lateness widens the window of the check that follows it.
    let dueAt = Date.now() + ms;
    const again = () => {
      const interval = Math.max(10, ms / (2 * ALIVE_FRACTION));
      dueAt = Date.now() + interval;
      timer = setTimeout(check, interval);
    };
    const check = () => {
      const lateMs = Math.max(0, Date.now() - dueAt);
      if (stillWorth(lateMs)) return again();
      // Timers run before the I/O of the same loop turn: on a busy process, answers may have
      // arrived and not been read yet. Decide after they have been.
      setImmediate(() => {
        if (settled) return;
        if (stillWorth(lateMs)) return again();
        // Silent to this client's calls, but perhaps only busy with them: ask it directly.
        void alive().then((yes) => {
          if (settled) return;
          if (yes) again();
          else reject(new AttemptTimedOut(message));
        });
      });
    };
    timer = setTimeout(check, ms);
  });
  const end = () => {
    settled = true;
    clearTimeout(timer);
  };
  return Promise.race([pending, expired]).then(
    (answer) => {
      end();
      return answer;
    },
    (error: unknown) => {
      end();
      pending.then(
        (late) => late.body.dump().catch(() => {}),
        () => {},
      );
      throw error;
    },
  );
}

/** A round of asking every member, which other calls wait for. */
function startScout(): { readonly done: Promise<void>; readonly end: () => void } {
  let end!: () => void;
  const done = new Promise<void>((resolve) => (end = resolve));
  return { done, end };
}

/** What one attempt came to: an answer, a definitive refusal, or nothing usable. */
type Outcome<T> =
  | { readonly kind: 'result'; readonly value: T }
  | { readonly kind: 'refused'; readonly error: AgendaError }
  /** `busy`: the member took too long to accept a connection while it kept answering others. */
  | { readonly kind: 'unavailable'; readonly error: AgendaError; readonly busy?: boolean };

/** The first result or refusal among `attempts`; the last unavailability if there is neither. */
function firstDecisive<T>(attempts: readonly Promise<Outcome<T>>[]): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    let pending = attempts.length;
    for (const attempt of attempts) {
      void attempt.then((outcome) => {
        pending--;
        if (outcome.kind !== 'unavailable' || pending === 0) resolve(outcome);
      });
    }
  });
}
