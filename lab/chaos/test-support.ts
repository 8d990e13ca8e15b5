/**
 * Test support for the chaos runner (not used by production code): the real request path in
 * one process — an HTTPS gateway, the users and groups services and the calendar store
 * (sql.js) — with a switch that plays the failures of what lies between them, and a fake
 * {@link LabDriver} that maps the lab's faults onto that switch. The outage a fault causes
 * is simulated; everything the client sees of it (TLS, HTTP statuses, idempotent retries,
 * tokens, the agenda) is the real code's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Unavailable } from '../../contract/errors.js';
import { Gateway } from '../../server/gateway/gateway.js';
import { importTokenPublicKey } from '../../server/users/public-keys.js';
import type { Dispatcher, DispatchOptions } from '../../server/gateway/ports.js';
import { GroupsService } from '../../server/groups/groups-service.js';
import type { Op, ServiceName } from '../../server/protocol/ops.js';
import type { LogicService } from '../../server/services/ports.js';
import { InProcessDatabase } from '../../server/services/test-support.js';
import { createSigningKeyPair } from '../../server/users/keys.js';
import { PasswordHasher } from '../../server/users/passwords.js';
import { TokenIssuer } from '../../server/users/tokens.js';
import { UsersService } from '../../server/users/users-service.js';
import type { LabDriver, LabFacts, LabHost, MemberReplacement } from '../driver.js';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';

/**
 * How the path behind the gateway behaves:
 * - `up`: normally;
 * - `down`: every request is refused at once as unavailable (no leader, no Redis primary);
 * - `hang`: requests wait until the mode changes (a paused leader, a partition);
 * - `forget-writes`: event creations are acknowledged but never applied (a broken system
 *   losing acknowledged writes);
 * - `apply-twice`: event creations are applied twice, under two request ids (a broken
 *   system that loses idempotency).
 */
export type BackendMode = 'up' | 'down' | 'hang' | 'forget-writes' | 'apply-twice';

/** The real gateway, services and store in this process, behind a switchable backend. */
export class InProcessSystem {
  #mode: BackendMode = 'up';
  readonly #modeChanged = new Set<() => void>();
  #gateway: Gateway | null = null;
  #gatewayBack: Promise<void> | null = null;
  #timers = new Set<NodeJS.Timeout>();

  /** What the gateways send their ops to: the services, through the backend's mode. */
  readonly #dispatcher: Dispatcher;
  /** The type of every op the gateways sent, in order. */
  readonly opTypes: Op['type'][] = [];

  private constructor(
    readonly port: number,
    readonly caPath: string,
    private readonly dir: string,
    services: Record<ServiceName, LogicService>,
    private readonly gatewayOn: (dispatcher: Dispatcher) => Promise<Gateway>,
  ) {
    this.#dispatcher = {
      dispatch: (service, actor, op, options) =>
        this.dispatch(services[service], actor, op, options),
    };
  }

  private startGateway(): Promise<Gateway> {
    return this.gatewayOn(this.#dispatcher);
  }

  /**
   * Starts the system with its gateway on 127.0.0.1:`port`. `now` is the clock the tokens
   * are issued and checked by, and the store's (a test moves it past an access token's life).
   */
  static async start(port: number, now: () => number = Date.now): Promise<InProcessSystem> {
    const ca = await createCertificateAuthority();
    const issued = await issueCertificate(ca, {
      name: 'gateway',
      ipAddresses: ['127.0.0.1'],
      usages: 'server',
    });
    const dir = mkdtempSync(join(tmpdir(), 'agenda-chaos-test-'));
    const caPath = join(dir, 'ca.pem');
    writeFileSync(caPath, ca.certPem);

    const keys = await createSigningKeyPair();
    const database = await InProcessDatabase.open(now);
    const deps = {
      database,
      publisher: { publish: () => Promise.resolve() },
      log: { warn: () => undefined },
    };
    const services: Record<ServiceName, LogicService> = {
      // The cheapest scrypt cost: these tests are about failover, not hashing.
      users: new UsersService(deps, {
        tokens: new TokenIssuer(keys.privateKey, { clock: now }),
        passwords: new PasswordHasher({ N: 2, r: 1, p: 1 }),
      }),
      groups: new GroupsService(deps),
    };
    const publicKey = await importTokenPublicKey(keys.publicKeyPem);
    const system = new InProcessSystem(port, caPath, dir, services, async (dispatcher) => {
      const gateway = new Gateway({
        host: '127.0.0.1',
        port,
        tls: { cert: issued.certPem, key: issued.keyPem },
        tokens: { publicKey, now },
        dispatcher,
        notifications: {
          subscribe: () => Promise.reject(new Unavailable('no live updates in this test system')),
        },
        readiness: () => Promise.resolve({ ready: true }),
        registry: new Registry(),
        closeGraceMs: 0,
      });
      await gateway.start();
      return gateway;
    });
    system.#gateway = await system.startGateway();
    return system;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get mode(): BackendMode {
    return this.#mode;
  }

  setMode(mode: BackendMode): void {
    this.#mode = mode;
    for (const wake of this.#modeChanged) wake();
  }

  /** `mode` for `ms`, then `up` again. */
  outage(mode: BackendMode, ms: number): void {
    this.setMode(mode);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.setMode('up');
    }, ms);
    this.#timers.add(timer);
  }

  /**
   * The active gateway dies (its connections are cut) and another takes the address over
   * `ms` later, as the passive gateway does when the VIP moves.
   */
  moveGateway(ms: number): Promise<void> {
    const closed = this.#gateway?.close() ?? Promise.resolve();
    this.#gateway = null;
    this.#gatewayBack = closed
      .then(() => new Promise((resolve) => setTimeout(resolve, ms)))
      .then(async () => {
        this.#gateway = await this.startGateway();
      });
    return closed;
  }

  /** Back to normal: backend up and a gateway listening. */
  async restore(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.setMode('up');
    await this.#gatewayBack;
    this.#gateway ??= await this.startGateway();
  }

  async close(): Promise<void> {
    await this.restore();
    await this.#gateway?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async dispatch(
    service: LogicService,
    actor: string | null,
    op: Op,
    { requestId, deadlineMs, signal }: DispatchOptions,
  ): Promise<unknown> {
    this.opTypes.push(op.type);
    while (this.#mode === 'hang') await this.modeChange(signal);
    if (this.#mode === 'down') throw new Unavailable('the DB service has no leader (simulated)');
    const request = { id: requestId, actor, op, deadline: Date.now() + deadlineMs };
    const never = new AbortController().signal;
    const isCreate = op.type === 'command' && op.body.type === 'event.create';
    if (isCreate && this.#mode === 'forget-writes') {
      return { event: { id: `forgotten-${requestId}` }, conflicts: [], imposedConflicts: [] };
    }
    if (isCreate && this.#mode === 'apply-twice') {
      await service.handle({ ...request, id: `${requestId}-again` }, signal ?? never);
    }
    return service.handle(request, signal ?? never);
  }

  /** Resolves when the mode changes; rejects as unavailable when `signal` aborts first. */
  private modeChange(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#modeChanged.delete(done);
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        this.#modeChanged.delete(done);
        reject(new Unavailable('the DB service did not answer in time (simulated)'));
      };
      this.#modeChanged.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/** What a {@link FakeLab} does to the system when a fault is injected. */
export interface FakeLabBehaviour {
  /** How long a kill or crash disrupts the system before its failover completes. */
  readonly failoverMs: number;
  /** The backend's mode during that failover; `down` by default. */
  readonly failoverMode?: BackendMode;
  readonly facts?: LabFacts;
}

/**
 * A lab that injects its faults into an {@link InProcessSystem}: killing a gateway moves the
 * "VIP" (a new gateway on the same address after `failoverMs`), killing or crashing anything
 * else makes the backend fail for `failoverMs`, pausing and isolating make it hang until
 * resumed or healed. It records every call in `calls`.
 */
export class FakeLab implements LabDriver {
  readonly clientPrefix: readonly string[] = [];
  readonly calls: string[] = [];

  constructor(
    private readonly system: InProcessSystem,
    private readonly behaviour: FakeLabBehaviour,
  ) {}

  get vipUrl(): string {
    return this.system.url;
  }

  get caPath(): string {
    return this.system.caPath;
  }

  kill(process: string): Promise<void> {
    this.calls.push(`kill ${process}`);
    if (process.startsWith('gateway-')) return this.system.moveGateway(this.behaviour.failoverMs);
    this.system.outage(this.behaviour.failoverMode ?? 'down', this.behaviour.failoverMs);
    return Promise.resolve();
  }

  crash(host: LabHost): Promise<void> {
    this.calls.push(`crash ${host}`);
    this.system.outage(this.behaviour.failoverMode ?? 'down', this.behaviour.failoverMs);
    return Promise.resolve();
  }

  partition(a: LabHost, b: LabHost): Promise<void> {
    this.calls.push(`partition ${a} ${b}`);
    return Promise.resolve();
  }

  isolate(host: LabHost): Promise<void> {
    this.calls.push(`isolate ${host}`);
    this.system.setMode('hang');
    return Promise.resolve();
  }

  heal(): Promise<void> {
    this.calls.push('heal');
    this.system.setMode('up');
    return Promise.resolve();
  }

  pause(process: string): Promise<void> {
    this.calls.push(`pause ${process}`);
    this.system.setMode('hang');
    return Promise.resolve();
  }

  resume(process?: string): Promise<void> {
    this.calls.push(process === undefined ? 'resume' : `resume ${process}`);
    this.system.setMode('up');
    return Promise.resolve();
  }

  async restore(): Promise<void> {
    this.calls.push('restore');
    await this.system.restore();
  }

  /** Records the call; the replacement is instant, with no election. */
  replaceMember(process: string): Promise<MemberReplacement> {
    this.calls.push(`replace ${process}`);
    return Promise.resolve({
      replaced: true,
      durationMs: 0,
      terms: [2],
      steps: [],
      voters: [1, 2, 3, 4, 5],
    });
  }

  facts(): Promise<LabFacts> {
    return Promise.resolve(
      this.behaviour.facts ?? {
        dbLeader: 'db-3',
        dbTerm: 2,
        redisPrimary: 'redis-1',
        vipOwner: 'vm1',
        activeGateway: 'gateway-1',
      },
    );
  }
}
