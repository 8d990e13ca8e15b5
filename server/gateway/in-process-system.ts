/**
 * Test support (not used by production code): the whole request path of Agenda in one
 * process, as cheap as it gets while every layer stays real — a gateway on 127.0.0.1, one
 * TLS `redis-server` as the bus, the users and groups services consuming it (the calendar
 * parser in its worker thread, as the daemon runs it) and the calendar store on sql.js
 * behind the services' `Database` port. Only Raft and the DB service's HTTPS hop are left
 * out: the store applies each command as the DB leader would, stamped and encoded the same
 * way.
 *
 * What a request can reach here is what it reaches in production: the router, the
 * schemas, authentication, the bus envelope, the services' validation, the domain and the
 * store. Whatever any layer logs as a failure is kept, for tests to look at.
 */
import type { ExecutionContext } from 'ava';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import {
  createCertificateAuthority,
  issueCertificate,
  type CertificateAuthority,
  type ClusterRole,
} from '../../base/pki.js';
import { NotificationPublisher, NotificationSubscriber } from '../bus/notifications.js';
import { StaticPrimarySource } from '../bus/primary-source.js';
import { Requester } from '../bus/requester.js';
import { createRedisTls, openBus, startRedis, type PortRange } from '../bus/test-support.js';
import { RequestWorker } from '../bus/worker.js';
import { GroupsService } from '../groups/groups-service.js';
import { SharedLimits } from '../limits/shared-limits.js';
import type { LogicService, ServiceDependencies } from '../services/ports.js';
import { InProcessDatabase } from '../services/test-support.js';
import { serviceRequestFrom } from '../services/service-handler.js';
import { WorkerCalendarParser } from '../users/calendar-parser.js';
import { createSigningKeyPair } from '../users/keys.js';
import { PasswordHasher } from '../users/passwords.js';
import { TokenIssuer } from '../users/tokens.js';
import { UsersService } from '../users/users-service.js';
import type { AbuseLimitRules } from './abuse-limits.js';
import { Gateway } from './gateway.js';
import { importTokenPublicKey } from '../users/public-keys.js';
import { TokenVerifier } from '../users/token-verifier.js';
import { busDispatcher } from './service-calls.js';

/** One line some layer logged. */
export interface LoggedLine {
  readonly layer: 'gateway' | 'bus' | 'service';
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A running system and the means to talk to it. */
export interface InProcessSystem {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** An HTTPS client that trusts the gateway's CA. */
  readonly agent: Agent;
  /** The CA of the gateway's certificate, for clients of one's own. */
  readonly caPem: string;
  /** Every line the gateway, the bus and the services logged, in order. */
  readonly log: readonly LoggedLine[];
  /** The tokens the users service would issue, and ones it would not. */
  readonly tokens: {
    /** A session token of `username`, as login answers it. */
    session(username: string): Promise<string>;
    /** A feed token of `username`, as a feed URL carries it. */
    feed(username: string): Promise<string>;
    /** A session token of `username` that expired a day ago. */
    expired(username: string): Promise<string>;
    /** A well-formed session token signed by a key the gateway does not trust. */
    foreign(username: string): Promise<string>;
  };
  /**
   * An HTTPS client presenting a client certificate of the gateway's CA (the cluster's, as
   * the daemons and the operator hold them) that names `role`, or no role when null.
   */
  clientWithCertificate(role: ClusterRole | null): Promise<Agent>;
}

interface Pki {
  readonly ca: CertificateAuthority;
  readonly caPem: string;
  readonly cert: string;
  readonly key: string;
}

/** Certificates are the slow part of setting up: one gateway certificate per test process. */
let pki: Promise<Pki> | undefined;

function gatewayPki(): Promise<Pki> {
  pki ??= (async () => {
    const ca = await createCertificateAuthority();
    const issued = await issueCertificate(ca, {
      name: 'gateway',
      ipAddresses: ['127.0.0.1'],
      usages: 'server',
    });
    return { ca, caPem: ca.certPem, cert: issued.certPem, key: issued.keyPem };
  })();
  return pki;
}

/**
 * Starts the system for one test, on ports of `ports` (one for Redis, one for the
 * gateway), and stops all of it when the test ends.
 */
export async function startInProcessSystem(
  t: ExecutionContext,
  ports: PortRange,
  options: {
    /** The DB leader's clock, which the store's decisions see (`at`); `Date.now` by default. */
    readonly storeClock?: () => number;
    /** The gateway's abuse limits; each rule left out keeps its default. */
    readonly abuseLimits?: Partial<AbuseLimitRules>;
    /** The users service's hasher; by default the cheapest scrypt cost. */
    readonly passwords?: PasswordHasher;
  } = {},
): Promise<InProcessSystem> {
  const log: LoggedLine[] = [];
  const logger = (layer: LoggedLine['layer']) => ({
    debug: (message: string, fields: Record<string, unknown> = {}) =>
      log.push({ layer, level: 'debug', message, fields }),
    info: (message: string, fields: Record<string, unknown> = {}) =>
      log.push({ layer, level: 'info', message, fields }),
    warn: (message: string, fields: Record<string, unknown> = {}) =>
      log.push({ layer, level: 'warn', message, fields }),
  });

  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  const redis = await startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
  const primary = new StaticPrimarySource(redis.address(1));

  // The services' side: one replica of each, sharing one bus connection as a daemon does.
  const serviceBus = openBus(t, tls, primary, 'services', { logger: logger('bus') });
  const database = await InProcessDatabase.open(options.storeClock ?? Date.now);
  const notifications = new NotificationPublisher(serviceBus, logger('bus'));
  const deps: ServiceDependencies = {
    database,
    publisher: {
      publish: async (to, update) => {
        await notifications.publish(to, update);
      },
    },
    log: logger('service'),
  };
  const keys = await createSigningKeyPair();
  const issuer = new TokenIssuer(keys.privateKey);
  // As the services' main.ts: each request's token is verified again before it is handled.
  const serviceTokens = new TokenVerifier({
    publicKey: await importTokenPublicKey(keys.publicKeyPem),
  });
  const calendars = new WorkerCalendarParser();
  calendars.start();
  t.teardown(() => calendars.close());
  const services: LogicService[] = [
    new UsersService(deps, {
      tokens: issuer,
      // The cheapest scrypt cost: what is tested here is everything around hashing.
      passwords: options.passwords ?? new PasswordHasher({ N: 2, r: 1, p: 1 }),
      calendars,
    }),
    new GroupsService(deps),
  ];
  for (const service of services) {
    const worker = new RequestWorker({
      connection: serviceBus,
      service: service.name,
      consumer: `${service.name}-1`,
      logger: logger('bus'),
      handler: async (request, signal) => ({
        ok: true,
        result: await service.handle(await serviceRequestFrom(request, serviceTokens), signal),
      }),
    });
    t.teardown(() => worker.close());
  }

  // The gateway's side, wired as server/gateway/main.ts wires it.
  const gatewayBus = openBus(t, tls, primary, 'gateway', { logger: logger('bus') });
  const requester = new Requester({
    connection: gatewayBus,
    gatewayId: 'gateway-1',
    logger: logger('bus'),
    relayResults: true,
  });
  await requester.start();
  t.teardown(() => requester.close());
  const subscriber = new NotificationSubscriber(gatewayBus, logger('bus'));
  const dispatcher = busDispatcher(requester);
  const { ca, caPem, cert, key } = await gatewayPki();
  const port = ports.take();
  const gateway = new Gateway({
    host: '127.0.0.1',
    port,
    tls: { cert, key, ca: caPem },
    registry: new Registry(),
    tokens: { publicKey: await importTokenPublicKey(keys.publicKeyPem) },
    dispatcher,
    notifications: {
      subscribe: subscriber.subscribe.bind(subscriber),
      onGap: (listener) => gatewayBus.onResubscribed(listener),
    },
    readiness: () => Promise.resolve({ ready: true }),
    // The abuse limits count in the bus's Redis, as main.ts has them.
    sharedLimits: new SharedLimits({
      redis: (signal) => gatewayBus.commands(signal),
      logger: logger('gateway'),
    }),
    ...(options.abuseLimits === undefined ? {} : { abuseLimits: options.abuseLimits }),
    logger: logger('gateway'),
    closeGraceMs: 500,
  });
  await gateway.start();
  t.teardown(() => gateway.close());
  const agent = new Agent({ connect: { ca: caPem }, keepAliveTimeout: 1_000 });
  t.teardown(() => agent.close());

  const day = 24 * 3_600_000;
  const expiredIssuer = new TokenIssuer(keys.privateKey, { clock: () => Date.now() - 2 * day });
  const foreignIssuer = new TokenIssuer((await createSigningKeyPair()).privateKey);
  return {
    url: `https://127.0.0.1:${port}`,
    agent,
    caPem,
    log,
    tokens: {
      session: async (username) => (await issuer.session(username, 0)).token,
      feed: async (username) =>
        (await issuer.feed(username, 0, 'feed1', Date.now() + 86_400_000)).token,
      expired: async (username) => (await expiredIssuer.session(username, 0)).token,
      foreign: async (username) => (await foreignIssuer.session(username, 0)).token,
    },
    clientWithCertificate: async (role) => {
      const issued = await issueCertificate(ca, {
        name: role ?? 'no-role',
        usages: 'client',
        ...(role === null ? {} : { role }),
      });
      const client = new Agent({
        connect: { ca: caPem, cert: issued.certPem, key: issued.keyPem },
        keepAliveTimeout: 1_000,
      });
      t.teardown(() => client.close());
      return client;
    },
  };
}
