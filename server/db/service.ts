/**
 * The DB service: one Raft member whose state machine is the calendar store, served over
 * HTTPS with mutual TLS to the logic services and supervisors.
 *
 * - `POST /v1/commands`: a store command (its `at` is stamped here, by the leader, and is
 *   the only clock the replicated state machine sees). Followers forward to the leader (one
 *   hop); the answer is the store's result. A command whose outcome is unknown (leader lost
 *   mid-flight, timeout) answers 503 and may be retried with the same `requestId`: the
 *   store applies a request id once.
 * - `POST /v1/command-batch`: `{"commands":[…]}`, up to 64, each proposed as its own log
 *   entry; answers `{"result":{"results":[…]}}`, one `{"result"}` or `{"error"}` per command
 *   in order (an `unavailable` one may be retried alone, with its request id).
 * - `POST /v1/queries[?consistency=local]`: linearizable by default (ReadIndex, on any
 *   member); `local` answers from this member's state at once, possibly stale.
 * - `GET /v1/status`, `GET /healthz`, `GET /readyz`, and `GET /metrics` (Prometheus text:
 *   the process, its event-loop delay and its Raft member; see ./metrics.ts).
 * - `/v1/cluster/members…`: list, add (as a learner), promote and remove members, for the
 *   operator's certificate only; see contract/membership.ts for the routes and their refusals.
 *
 * Every call is authorized by the role its client certificate names (`base/pki.ts`): the
 * store's commands and queries by the table in server/store/access.ts, the status, the
 * membership and `/metrics` by the operator role alone (`/healthz` and `/readyz` answer any
 * cluster certificate: they tell nothing). A refusal is a 403 naming the role and the
 * operation, counted and logged once per pair (../net/access-refusals.ts). A follower
 * checks a command before it forwards it to the leader, under its own `db` certificate and
 * with the caller's role in `x-agenda-forwarded-for`; the leader judges the call by that role
 * again, and believes the header only from a DB member's own certificate.
 *
 * Every response carries `x-agenda-db-leader` (the leader's id as this member knows it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { RaftError } from '../../raft/core/errors.js';
import type { ConfChange, NodeId } from '../../raft/core/types.js';
import {
  formatMemberAddress,
  RaftNode,
  type NodeStatus,
  type RaftNodeConfig,
} from '../../raft/runtime/raft-node.js';
import { WorkerStateMachine } from '../../raft/runtime/worker-state-machine.js';
import type { NetAddress } from '../../base/host-port.js';
import { closeAtOnce, listenAt, listeningAddress } from '../../base/listening.js';
import { isAgendaError, Unavailable } from '../../contract/errors.js';
import { describeRole, isClusterRole, type ClusterRole } from '../../base/cluster-role.js';
import { AccessRefusals } from '../net/access-refusals.js';
import { OPERATOR_ROLES, peerRole, presentsClusterCertificate } from '../net/client-certificate.js';
import { actorAccess, storeAccess } from '../store/access.js';
import { withSharedContext } from '../net/connector.js';
import {
  parseCommand,
  parseQuery,
  type StoreCommand,
  type StoreQuery,
  type StoreQueryResult,
  type StoreResult,
  type StoreStatus,
} from '../store/protocol.js';
import { queryOf, type WorkerAnswer, type WorkerRequest } from '../store/encoded-queries.js';
import { MAX_COMMAND_BATCH } from './client.js';
import { DecisionBatcher } from './decision-batch.js';
import { InFlightKeys } from './in-flight.js';
import { DbMetrics } from './metrics.js';
import { sendJson, sendJsonParts } from '../../base/http-answer.js';
import { HttpError, readJsonBody, sendError } from './http.js';
import {
  MEMBERS_PATH,
  membershipView,
  parseAddLearnerBody,
  parseMemberId,
  promotionProblem,
  removalProblem,
  type MembershipChangeResult,
  type MembershipView,
} from './membership.js';

/** A Raft member's settings (members' `client` addresses are their HTTPS APIs), plus: */
export interface DbServiceConfig extends RaftNodeConfig {
  /** Largest request body. Default 8 MiB (an .ics import can be large). */
  readonly maxBodyBytes?: number;
  /** How long a command may wait for its outcome before answering 503. Default 5 s. */
  readonly commandTimeoutMs?: number;
}

/** `GET /v1/status`: the member's Raft view and the store's. */
export interface DbStatus {
  readonly member: NodeStatus;
  readonly store: StoreStatus | null;
}

const FORWARDED = 'x-agenda-forwarded-by';
/** A query's answer, around the JSON the store wrote (see server/db/client.ts's relay). */
const RESULT_HEAD = Buffer.from('{"result":');
const RESULT_TAIL = Buffer.from('}');
/** The role of the caller a member forwards for (see the module comment). */
const FORWARDED_FOR = 'x-agenda-forwarded-for';
/** Requests waiting in the store's worker beyond which new commands and queries are refused. */
const MAX_STORE_BACKLOG = 256;
/** Decisions of one command before it is answered `unavailable` (retry): contention is rare. */
const MAX_DECISIONS = 5;

function stalled(): StoreResult {
  return {
    ok: false,
    error: new Unavailable('the command kept meeting concurrent changes; retry').toWire(),
    replayed: false,
  };
}
const LEADER = 'x-agenda-db-leader';

export class DbService {
  private readonly server: Server;
  private readonly forwarder: Agent;
  /** The leader's clock, never going backwards even if the system clock does. */
  private lastAt = 0;
  /** Keys written by the effects this leader has in flight (see in-flight.ts). */
  private readonly inFlight = new InFlightKeys();
  /** Decisions asked for in one turn go to the store together (see decision-batch.ts). */
  /** Per actor, the end of the last import waiting or being decided (see {@link propose}). */
  private readonly importing = new Map<string, Promise<void>>();
  private readonly decisions = new DecisionBatcher(async (commands, timeoutMs) => {
    const answer = await this.node.readLocal({ decide: commands }, { timeoutMs });
    if (!('decisions' in answer)) throw new Error('the store answered decisions with a query');
    return answer.decisions;
  });
  private closing: Promise<void> | null = null;
  /** The membership change this leader is carrying out: one at a time (Raft's rule too). */
  private changing: Promise<void> | null = null;
  private readonly refusals: AccessRefusals;

  private constructor(
    private readonly config: DbServiceConfig,
    readonly node: RaftNode<StoreResult, WorkerRequest, WorkerAnswer>,
    private readonly store: WorkerStateMachine<StoreResult, WorkerRequest, WorkerAnswer>,
    private readonly metrics: DbMetrics,
  ) {
    this.refusals = new AccessRefusals({
      logger: config.logger,
      registry: metrics.daemon.registry,
    });
    this.server = createServer(
      {
        ca: config.tls.ca,
        cert: config.tls.cert,
        key: config.tls.key,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    // Every client of a member is a daemon of ours that keeps a pool of connections to it.
    // Node's default (5 s) closed the spare ones a burst had opened, and the next burst, a
    // failover above all, paid a TLS handshake on both sides for each again, on the machine
    // already short of CPU. Idle sockets of known daemons cost next to nothing.
    this.server.keepAliveTimeout = 65_000;
    this.forwarder = new Agent({
      connect: withSharedContext({
        ca: config.tls.ca,
        cert: config.tls.cert,
        key: config.tls.key,
        rejectUnauthorized: true,
      }),
      keepAliveTimeout: 30_000,
      connections: 64,
    });
  }

  /**
   * Recovers the member from its data directory and starts serving. The calendar store runs
   * in a worker thread (`server/store/store-worker.ts`): the member's event loop only does
   * Raft, HTTPS and the hand-over, whatever a command or query costs.
   */
  static async start(config: DbServiceConfig): Promise<DbService> {
    const api = config.members.get(config.id)?.client;
    if (!api) throw new Error(`member ${config.id} has no API address in the member list`);
    let node: RaftNode<StoreResult, WorkerRequest, WorkerAnswer> | null = null;
    const metrics = new DbMetrics(config.id, () => node?.status() ?? null);
    const store = await WorkerStateMachine.start<StoreResult, WorkerRequest, WorkerAnswer>({
      module: new URL('../store/store-worker.js', import.meta.url),
      logger: config.logger,
      urgent: (request) => isUrgentRequest(request as WorkerRequest),
    });
    try {
      node = await RaftNode.start({ ...config, observer: metrics.observer }, store);
    } catch (err) {
      await store.close();
      metrics.close();
      throw err;
    }
    const service = new DbService(config, node, store, metrics);
    try {
      await listenAt(service.server, api);
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  address(): NetAddress {
    return listeningAddress(this.server);
  }

  /** Stops serving, then stops the member (syncing its storage). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await closeAtOnce(this.server);
      await this.forwarder.close();
      await this.node.close();
      await this.store.close();
      this.metrics.close();
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = { [LEADER]: String(this.node.leader()) };
    try {
      const url = new URL(req.url ?? '/', 'https://db.invalid');
      const route = `${req.method ?? ''} ${url.pathname}`;
      switch (route) {
        case 'POST /v1/commands':
          return sendJson(res, 200, await this.command(req), headers);
        case 'POST /v1/command-batch':
          return sendJson(res, 200, await this.commandBatch(req), headers);
        case 'POST /v1/queries': {
          // The store's worker wrote the result as JSON bytes; they go out as they are.
          const role = this.callerRole(req);
          const json = await this.query(req, role, url.searchParams.get('consistency'));
          return sendJsonParts(res, 200, [RESULT_HEAD, json, RESULT_TAIL], headers);
        }
        case 'GET /v1/status':
          this.authorizeOperator(req, 'status');
          return sendJson(res, 200, await this.status(), headers);
        case 'GET /metrics': {
          this.authorizeOperator(req, 'metrics');
          const text = await this.metrics.text();
          res.writeHead(200, {
            'content-type': this.metrics.daemon.registry.contentType,
            ...headers,
          });
          res.end(text);
          return;
        }
        case `GET ${MEMBERS_PATH}`:
          this.authorizeOperator(req, 'membership.list');
          return sendJson(res, 200, await this.members(req), headers);
        case `POST ${MEMBERS_PATH}`:
          this.authorizeOperator(req, 'membership.change');
          return sendJson(res, 200, await this.addLearner(req), headers);
        case 'GET /healthz':
          return sendJson(res, 200, { ok: true, role: this.node.status().role }, headers);
        case 'GET /readyz': {
          const s = this.node.status();
          if (s.leader === 0) throw HttpError.of('unavailable', this.whyNoLeader(s));
          return sendJson(res, 200, { ok: true, leader: s.leader }, headers);
        }
        default:
          if (url.pathname.startsWith(`${MEMBERS_PATH}/`)) {
            this.authorizeOperator(req, 'membership.change');
            return sendJson(res, 200, await this.changeMember(req, url.pathname), headers);
          }
          if (
            [
              '/v1/commands',
              '/v1/command-batch',
              '/v1/queries',
              '/v1/status',
              '/metrics',
              '/healthz',
              '/readyz',
              MEMBERS_PATH,
            ].includes(url.pathname)
          ) {
            throw new HttpError(
              405,
              'invalid',
              `${req.method ?? ''} is not allowed on ${url.pathname}`,
            );
          }
          throw HttpError.of('not_found', `no route ${url.pathname}`);
      }
    } catch (err) {
      sendError(res, this.asHttpError(err), headers);
    }
  }

  private async command(req: IncomingMessage): Promise<{ result: StoreResult }> {
    const role = this.callerRole(req);
    const body = await readJsonBody(req, this.config.maxBodyBytes ?? 8 << 20);
    const allowed = this.authorizeCommand(role, body);
    if (this.node.leader() !== this.node.id) {
      return this.forward('/v1/commands', req, body, this.node.status(), allowed.role);
    }
    return { result: await this.propose(allowed.command) };
  }

  /**
   * The command `body` holds, if `role` may run it.
   * @throws HttpError `invalid` for a body that is no command, `forbidden` for a refused one.
   */
  private authorizeCommand(
    role: ClusterRole | null,
    body: unknown,
  ): { readonly command: StoreCommand; readonly role: ClusterRole } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw HttpError.of('invalid', 'the body must be a command object');
    }
    // Decoded here only to be judged (and refused early when malformed); the leader stamps
    // the real `at` on every decision.
    const command = parseCommand({ ...body, at: 0 });
    const verdict = storeAccess(role, command.body, 'command');
    if (!verdict.allowed || role === null) {
      this.refuse(role, command.body.type, verdict.allowed ? 'no role' : verdict.reason);
    }
    this.authorizeActor(role, command, 'command');
    return { command, role };
  }

  /**
   * The role a call is judged by: its certificate's, or, on a call a DB member forwards, the
   * role of the caller it forwards for. Only a member the cluster knows, presenting its own
   * certificate, forwards: anyone else naming a forwarded role is refused, so the header
   * cannot lend a gateway the users service's rights.
   */
  private callerRole(req: IncomingMessage): ClusterRole | null {
    const socket = req.socket as TLSSocket;
    const own = peerRole(socket);
    const by = req.headers[FORWARDED];
    const forwardedFor = req.headers[FORWARDED_FOR];
    if (by === undefined && forwardedFor === undefined) return own;
    const member = parseMemberId(by);
    const memberName = this.config.peerCertificateName ?? ((id: NodeId) => `member-${id}`);
    const names = peerCommonNames(socket);
    const isMember =
      own === 'db' &&
      member !== null &&
      this.node.addressOf(member) !== undefined &&
      names.includes(memberName(member));
    if (!isMember) {
      this.refuse(
        own,
        'forward',
        `${describeRole(own)} may not forward calls: only a DB member forwards, as itself`,
      );
    }
    if (!isClusterRole(forwardedFor) || forwardedFor === 'db') {
      throw HttpError.of(
        'invalid',
        `a forwarded call must name its caller's role in ${FORWARDED_FOR}`,
      );
    }
    return forwardedFor;
  }

  /**
   * Refuses (401) a call that acts as a user without that user's session, or with a feed's
   * session for anything but reading the feed: a role's certificate alone is nobody's.
   */
  private authorizeActor(
    role: ClusterRole | null,
    request: StoreCommand | StoreQuery,
    kind: 'command' | 'query',
  ): void {
    const verdict = actorAccess(role, request, kind);
    if (!verdict.allowed) {
      throw HttpError.of('unauthenticated', verdict.reason, { operation: request.body.type });
    }
  }

  /** Answers 403 for `operation`, counted and logged once per role and operation. */
  private refuse(role: ClusterRole | null, operation: string, reason: string): never {
    this.refusals.refused(role, operation, reason);
    throw HttpError.of('forbidden', reason, { role, operation });
  }

  private async commandBatch(req: IncomingMessage): Promise<{ result: { results: unknown[] } }> {
    const role = this.callerRole(req);
    const body = await readJsonBody(req, this.config.maxBodyBytes ?? 8 << 20);
    if (this.node.leader() !== this.node.id) {
      const forwardedFor = this.authorizeBatchBeforeForwarding(role, body);
      return this.forward('/v1/command-batch', req, body, this.node.status(), forwardedFor);
    }
    const commands = (body as { commands?: unknown } | null)?.commands;
    if (
      !Array.isArray(commands) ||
      commands.length === 0 ||
      commands.length > MAX_COMMAND_BATCH ||
      Object.keys(body as object).length !== 1
    ) {
      throw HttpError.of(
        'invalid',
        `the body must be {"commands": [...]} with 1 to ${MAX_COMMAND_BATCH} commands`,
      );
    }
    // All proposed in this turn, so they share one log append and one fsync.
    const settled = await Promise.allSettled(
      commands.map(async (command: unknown) => {
        if (typeof command !== 'object' || command === null || Array.isArray(command)) {
          throw HttpError.of('invalid', 'a command must be an object');
        }
        return this.propose(this.authorizeCommand(role, command).command);
      }),
    );
    return {
      result: {
        results: settled.map((outcome) => {
          if (outcome.status === 'fulfilled') return { result: outcome.value };
          const error = this.asHttpError(outcome.reason);
          return { error: { code: error.code, message: error.message, details: error.details } };
        }),
      },
    };
  }

  /**
   * A follower forwards a batch only if `role` may run every command in it that decodes: a
   * refused one refuses the whole batch (403), and the client, retrying each command alone,
   * learns which. Malformed commands are the leader's to answer, one by one.
   */
  private authorizeBatchBeforeForwarding(role: ClusterRole | null, body: unknown): ClusterRole {
    const commands = (body as { commands?: unknown } | null)?.commands;
    for (const command of Array.isArray(commands) ? commands : []) {
      try {
        this.authorizeCommand(role, command);
      } catch (err) {
        if (err instanceof HttpError && err.code === 'forbidden') throw err;
      }
    }
    // A caller with no role is allowed nothing: its batch holds nothing it may run.
    if (role === null) {
      this.refuse(role, 'command-batch', `${describeRole(role)} may not run commands`);
    }
    return role;
  }

  /**
   * Decides a command in the store (the calendar rules run there, once, on this leader) and
   * proposes its effect; resolves to its result. A decision that read what an effect in
   * flight writes waits for it and is taken again; an effect that applied `stale` (the state
   * changed under it) is decided again, up to {@link MAX_DECISIONS} times in all.
   */
  private propose(command: StoreCommand): Promise<StoreResult> {
    const actor = command.actor;
    if (command.body.type !== 'event.import' || actor === null)
      return this.decideAndPropose(command);
    // An import reads its actor's whole agenda, and its decision is the costliest there is
    // (hundreds of events). Two of one actor decided side by side (`agenda import` keeps two
    // requests going) would see the same state, and the second would be decided for nothing
    // and then again: they take turns instead, each decided once, on what the one before left.
    const before = this.importing.get(actor) ?? Promise.resolve();
    const mine = before.then(() => this.decideAndPropose(command));
    const turn = mine.then(
      () => undefined,
      () => undefined,
    );
    this.importing.set(actor, turn);
    void turn.then(() => {
      if (this.importing.get(actor) === turn) this.importing.delete(actor);
    });
    return mine;
  }

  /** Decides `command` and proposes its effect (see {@link propose}). */
  private async decideAndPropose(command: StoreCommand): Promise<StoreResult> {
    const timeoutMs = this.config.commandTimeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    const remaining = () => Math.max(1, deadline - Date.now());
    // Built only when needed: an error captures a stack trace, 1 % of the leader's CPU when
    // every command built one as a default.
    let last: StoreResult | null = null;
    for (let decisions = 0; decisions < MAX_DECISIONS;) {
      this.admit();
      // The leader's clock, stamped at each decision: every replica applies the same `at`.
      this.lastAt = Math.max(Date.now(), this.lastAt);
      const decided = await this.decisions.decide({ ...command, at: this.lastAt }, remaining());
      if (decided.kind === 'answer') {
        this.metrics.decided('answered');
        return decided.result;
      }
      const writers = this.inFlight.writersOf(decided.reads);
      if (writers.length > 0) {
        this.metrics.decided('waited');
        // Waiting is bounded by the command's time: past it, the caller retries by request id.
        if (Date.now() >= deadline) return stalled();
        await Promise.all(writers);
        continue;
      }
      decisions++;
      const applied = this.node.propose(decided.entry, { timeoutMs: remaining() });
      this.inFlight.hold(decided.stamps, applied);
      last = await applied;
      const stale = last.ok === false && last.stale === true;
      this.metrics.decided(stale ? 'stale' : 'proposed');
      if (!stale) return last;
    }
    this.config.logger.warn('a command stayed stale after repeated decisions', {
      decisions: MAX_DECISIONS,
    });
    return last ?? stalled();
  }

  /**
   * Why this member knows no leader, as a client should read it: a member removed from the
   * cluster, or one started to join that was not added yet, hears from no leader for as
   * long as that lasts ("no leader is known; retry" sent its clients retrying for ever).
   */
  private whyNoLeader(status: NodeStatus): string {
    const { voters, learners } = status.conf;
    if (voters.length === 0 && learners.length === 0) {
      return `member ${this.config.id} is waiting to be added to the cluster (it joins)`;
    }
    if (!voters.includes(this.config.id) && !learners.includes(this.config.id)) {
      return `member ${this.config.id} was removed from the cluster`;
    }
    return `member ${this.config.id} knows no leader (an election is under way, or it is cut off)`;
  }

  /** Followers pass commands to the leader, once; the answer is relayed as is. */
  private async forward<T>(
    path: string,
    req: IncomingMessage,
    body: unknown,
    status: NodeStatus,
    role: ClusterRole,
    method: 'GET' | 'POST' | 'DELETE' = 'POST',
  ): Promise<{ result: T }> {
    const leaderApi = status.leaderAddress?.client;
    if (req.headers[FORWARDED] !== undefined) {
      // A forwarded request reached a member that is not the leader either: one hop only.
      throw HttpError.of(
        'unavailable',
        `forwarded to member ${this.config.id}, which is not the leader; retry`,
        { leader: status.leader },
      );
    }
    if (!leaderApi) {
      throw HttpError.of('unavailable', `${this.whyNoLeader(status)}; ask another member`, {
        leader: status.leader,
      });
    }
    let response;
    try {
      response = await request(`https://${leaderApi.host}:${leaderApi.port}${path}`, {
        method,
        dispatcher: this.forwarder,
        headers: {
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          [FORWARDED]: String(this.config.id),
          [FORWARDED_FOR]: role,
        },
        ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
        headersTimeout: (this.config.commandTimeoutMs ?? 5_000) + 1_000,
        bodyTimeout: (this.config.commandTimeoutMs ?? 5_000) + 1_000,
      });
    } catch (err) {
      throw HttpError.of(
        'unavailable',
        `the leader (member ${status.leader}) did not answer: ${(err as Error).message}`,
        {
          leader: status.leader,
        },
      );
    }
    let answer: { result?: T; error?: { code: string; message: string } };
    try {
      answer = (await response.body.json()) as typeof answer;
    } catch (err) {
      throw HttpError.of(
        'unavailable',
        `the leader (member ${status.leader}) answered garbage: ${(err as Error).message}`,
      );
    }
    if (response.statusCode !== 200 || !answer.result) {
      const e = answer.error;
      throw new HttpError(
        response.statusCode,
        (e?.code as 'unavailable') ?? 'unavailable',
        e?.message ?? 'the leader refused',
      );
    }
    return { result: answer.result };
  }

  /**
   * Serves the operator role only (directly, or through a member forwarding for it), and
   * answers the role `operation` was allowed to.
   */
  private authorizeOperator(req: IncomingMessage, operation: string): void {
    if (!presentsClusterCertificate(req.socket as TLSSocket)) {
      throw HttpError.of('unauthenticated', 'this needs the operator certificate');
    }
    // Only a member this one knows forwards (one of the cluster, or removed from it: the
    // operator may ask a removed member to re-add it): a certificate issued for an id the
    // cluster never had (a spare) does not forward.
    const role = this.callerRole(req);
    if (role !== null && OPERATOR_ROLES.includes(role)) return;
    this.refuse(
      role,
      operation,
      `${describeRole(role)} may not run ${operation}: only the operator certificate may`,
    );
  }

  /** The membership view; only the leader has one (it alone tracks its followers). */
  private membershipNow(): MembershipView {
    return membershipView(this.node.status(), (id) => this.node.addressOf(id), {
      electionTicks: this.config.electionTicks ?? 10,
      tickMs: this.config.tickMs ?? 50,
    });
  }

  private async members(req: IncomingMessage): Promise<{ result: MembershipView }> {
    if (this.node.leader() !== this.node.id) {
      return this.forward(MEMBERS_PATH, req, null, this.node.status(), 'operator', 'GET');
    }
    return { result: this.membershipNow() };
  }

  /** `POST /v1/cluster/members`: adds a learner (a re-run for an existing learner changes nothing). */
  private async addLearner(req: IncomingMessage): Promise<{ result: MembershipChangeResult }> {
    const body = await readJsonBody(req, 64 << 10);
    if (this.node.leader() !== this.node.id) {
      return this.forward(MEMBERS_PATH, req, body, this.node.status(), 'operator');
    }
    const parsed = parseAddLearnerBody(body);
    if (typeof parsed === 'string') throw HttpError.of('invalid', parsed);
    const view = this.membershipNow();
    const existing = view.members.find((m) => m.id === parsed.id);
    const known = this.node.addressOf(parsed.id);
    const knownAddress = known ? formatMemberAddress(known) : undefined;
    if (existing !== undefined && parsed.address !== undefined && parsed.address !== knownAddress) {
      // Answering "unchanged" would leave the old address in force while the operator
      // believes the new one is.
      throw HttpError.of(
        'conflict',
        `member ${parsed.id} is already a ${existing.role} at ${knownAddress ?? 'an unknown address'}: ` +
          'remove it first to give it another address',
      );
    }
    if (existing?.role === 'learner') return { result: { changed: false, members: view } };
    if (existing?.role === 'voter') {
      throw HttpError.of('conflict', `member ${parsed.id} is already a voter`);
    }
    const address = parsed.address ?? knownAddress;
    if (address === undefined) {
      throw HttpError.of(
        'invalid',
        `no address is known for member ${parsed.id}: give one ("raftHost:port,apiHost:port")`,
      );
    }
    const taken = this.addressTakenBy(parsed.id, address, view);
    if (taken !== null) {
      throw HttpError.of(
        'conflict',
        `${address} is member ${taken}'s address: every member listens on its own addresses`,
      );
    }
    return { result: await this.change({ kind: 'addLearner', node: parsed.id, address }) };
  }

  /** Another current member that listens on one of `address`'s host:port pairs, or null. */
  private addressTakenBy(id: NodeId, address: string, view: MembershipView): NodeId | null {
    const wanted = new Set(address.split(','));
    for (const m of view.members) {
      if (m.id === id) continue;
      const a = this.node.addressOf(m.id);
      if (
        a &&
        formatMemberAddress(a)
          .split(',')
          .some((hp) => wanted.has(hp))
      )
        return m.id;
    }
    return null;
  }

  /** `POST /v1/cluster/members/<id>/promote` and `DELETE /v1/cluster/members/<id>`. */
  private async changeMember(
    req: IncomingMessage,
    pathname: string,
  ): Promise<{ result: MembershipChangeResult }> {
    const [idText, action, ...rest] = pathname.slice(MEMBERS_PATH.length + 1).split('/');
    const id = parseMemberId(idText);
    const method = req.method ?? '';
    const promote = method === 'POST' && action === 'promote' && rest.length === 0;
    const remove = method === 'DELETE' && action === undefined;
    if (id === null) throw HttpError.of('invalid', `${idText ?? ''} is not a member id`);
    if (!promote && !remove) {
      throw new HttpError(
        405,
        'invalid',
        `${method} ${pathname}: use POST ${MEMBERS_PATH}/<id>/promote or DELETE ${MEMBERS_PATH}/<id>`,
      );
    }
    if (promote) await readJsonBody(req, 64 << 10).catch(() => null);
    if (this.node.leader() !== this.node.id) {
      return this.forward(
        pathname,
        req,
        {},
        this.node.status(),
        'operator',
        remove ? 'DELETE' : 'POST',
      );
    }
    const view = this.membershipNow();
    const target = view.members.find((m) => m.id === id);
    if (!target) throw HttpError.of('not_found', `member ${id} is not in the cluster`);
    if (promote) {
      if (target.role === 'voter') return { result: { changed: false, members: view } };
      const problem = promotionProblem(view, id);
      if (problem) throw HttpError.of('conflict', problem);
      return { result: await this.change({ kind: 'promote', node: id }) };
    }
    const problem = removalProblem(view, id);
    if (problem) throw HttpError.of('conflict', problem);
    if (id === this.node.id) this.handOverLeadership(view);
    return { result: await this.change({ kind: 'remove', node: id }) };
  }

  /**
   * A leader asked to remove itself hands leadership to the most caught-up reachable voter
   * first and answers 503 (retry): the successor removes it. Removing itself directly would
   * work too, but the cluster would then wait out an election timeout with no leader.
   */
  private handOverLeadership(view: MembershipView): never {
    const successor = view.members
      .filter((m) => m.role === 'voter' && !m.leader && m.reachable)
      .sort((a, b) => b.match - a.match)[0];
    if (!successor) {
      throw HttpError.of('conflict', 'the leader cannot be removed: no other voter is reachable');
    }
    this.node.transferLeadership(successor.id);
    throw HttpError.of(
      'unavailable',
      `member ${view.leader} is the leader: leadership is moving to member ${successor.id}; retry to remove it`,
    );
  }

  /** Proposes `cc` and answers once this leader applied it; one change at a time. */
  private async change(cc: ConfChange): Promise<MembershipChangeResult> {
    if (this.changing) {
      throw HttpError.of('conflict', 'another membership change is in progress; retry after it');
    }
    const applied = this.changeMembershipOnceReady(cc, this.config.commandTimeoutMs ?? 5_000);
    this.changing = applied;
    try {
      await applied;
    } catch (err) {
      if (err instanceof RaftError && err.code === 'membership_change_refused') {
        throw HttpError.of('conflict', err.message);
      }
      if (err instanceof RaftError && err.code === 'timeout') {
        throw HttpError.of(
          'unavailable',
          'the change was proposed but is not applied yet; list the members to see whether it took effect',
        );
      }
      if (err instanceof RaftError && err.code === 'busy') {
        throw HttpError.of('unavailable', `${err.message}; retry`);
      }
      throw err;
    } finally {
      this.changing = null;
    }
    return { changed: true, members: this.membershipNow() };
  }

  /**
   * Proposes `cc`; while this leader is too new to (it has not committed an entry of its
   * term yet: `busy`, for a round trip after its election), tries again every tick until
   * `timeoutMs`. A change forwarded the moment a leader was elected came too early, and
   * answering it `conflict` made the operator's `member remove` of the old leader fail.
   */
  private async changeMembershipOnceReady(cc: ConfChange, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.node.changeMembership(cc, {
          timeoutMs: Math.max(1, deadline - Date.now()),
        });
      } catch (err) {
        const tooNew = err instanceof RaftError && err.code === 'busy';
        if (!tooNew || Date.now() >= deadline) throw err;
        await sleep(this.config.tickMs ?? 50);
      }
    }
  }

  private async query(
    req: IncomingMessage,
    role: ClusterRole | null,
    consistency: string | null,
  ): Promise<Uint8Array> {
    if (consistency !== null && consistency !== 'linearizable' && consistency !== 'local') {
      throw HttpError.of('invalid', 'consistency must be "linearizable" or "local"');
    }
    const body = await readJsonBody(req, 1 << 20);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw HttpError.of('invalid', 'the body must be a query object');
    }
    const query = parseQuery({ at: Date.now(), ...body });
    const verdict = storeAccess(role, query.body, 'query');
    if (!verdict.allowed) this.refuse(role, query.body.type, verdict.reason);
    this.authorizeActor(role, query, 'query');
    this.admit();
    const timeoutMs = this.config.commandTimeoutMs ?? 5_000;
    const request = { encode: query };
    const answer =
      consistency === 'local'
        ? await this.node.readLocal(request, { timeoutMs })
        : await this.node.read(request, { timeoutMs });
    if (!('bytes' in answer)) throw new Error('the store answered an encoded query with a value');
    return answer.bytes;
  }

  /**
   * Refuses new work (503, retryable) while the store's worker has {@link MAX_STORE_BACKLOG}
   * requests waiting: work queued behind a long one would only time out there, and callers
   * retrying it would keep the queue full long after (congestion collapse).
   */
  private admit(): void {
    const waiting = this.store.backlog();
    if (waiting >= MAX_STORE_BACKLOG) {
      throw HttpError.of(
        'unavailable',
        `the store is busy (${waiting} requests waiting); retry with the same requestId`,
      );
    }
  }

  /** The member's view now, and the store's as soon as its worker gets to it (null if it cannot). */
  private async status(): Promise<DbStatus> {
    const member = this.node.status();
    let store: StoreStatus | null = null;
    try {
      const answer = (await this.node.readLocal(
        { v: 1, actor: null, at: Date.now(), body: { type: 'store.status' } },
        { timeoutMs: 2_000 },
      )) as StoreQueryResult;
      if (answer.ok) store = answer.result as StoreStatus;
    } catch {
      // A busy or stopped store leaves the member's own status worth answering.
    }
    return { member, store };
  }

  private asHttpError(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (isAgendaError(err))
      return HttpError.of(
        err.code,
        err.message,
        err.code === 'invalid' ? { ...err.toWire() } : undefined,
      );
    if (err instanceof RaftError) {
      const retry = 'retry with the same requestId';
      switch (err.code) {
        case 'not_leader':
        case 'no_leader':
        case 'proposal_dropped':
          return HttpError.of('unavailable', `leadership changed; ${retry}`);
        case 'busy':
          return HttpError.of('unavailable', `the store is behind on its work; ${retry}`);
        case 'timeout':
        case 'outcome_unknown':
          return HttpError.of('unavailable', `the outcome is not known yet; ${retry}`);
        default:
          return HttpError.of('unavailable', err.message);
      }
    }
    this.config.logger.warn('unexpected error in the DB API', {
      error: (err as Error).message,
      stack: (err as Error).stack,
    });
    return HttpError.of('internal', 'internal error');
  }
}

/**
 * What overtakes calendar reads waiting for the store's worker: a decision (the write path: a
 * few hundred microseconds, and every create waits on one) and the small reads the control
 * plane's timing rests on — the VIP agents' and supervisors' leases, the registry, the status.
 * An agenda read queued behind is delayed by that much; a lease read behind dozens of agenda
 * reads made a VIP agent count the DB unreachable.
 */
function isUrgentRequest(request: WorkerRequest): boolean {
  const query = queryOf(request);
  if (query === null) return true;
  const type = query.body.type;
  return type === 'lease.get' || type === 'registry.get' || type === 'store.status';
}

/** Common names already read, per connection (see {@link peerCommonNames}). */
const commonNamesBySocket = new WeakMap<TLSSocket, readonly string[]>();

/**
 * The common names of the peer's certificate, read once per connection: every call a
 * follower forwards asks, and `getPeerCertificate` builds the whole certificate as an object.
 */
function peerCommonNames(socket: TLSSocket): readonly string[] {
  const known = commonNamesBySocket.get(socket);
  if (known !== undefined) return known;
  const cn = socket.getPeerCertificate().subject?.CN;
  const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  commonNamesBySocket.set(socket, names);
  return names;
}
