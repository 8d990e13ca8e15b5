/**
 * What the gateway's tests share: a fake dispatcher and notification feed that record what
 * they receive, a real gateway on 127.0.0.1 with a test CA and a fresh token key pair, a
 * token signer standing in for the users service, and an HTTPS client.
 */
import type { ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { Op, ServiceName } from '../protocol/ops.js';
import { createSigningKeyPair, TOKEN_ALGORITHM } from '../users/keys.js';
import { SESSION_AUDIENCE, TokenIssuer, TOKEN_ISSUER } from '../users/tokens.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { importTokenPublicKey } from '../users/public-keys.js';
import type { DispatchOptions, Dispatcher, NotificationFeed, ReadinessProbe } from './ports.js';

/** One op the fake dispatcher received. */
export interface DispatchedOp {
  readonly service: ServiceName;
  readonly actor: string | null;
  readonly op: Op;
  readonly options: DispatchOptions;
}

export type Responder = (call: DispatchedOp) => unknown;

/** Records every op and answers with what `respond` returns (or rejects with what it throws). */
export class FakeDispatcher implements Dispatcher {
  readonly calls: DispatchedOp[] = [];

  constructor(public respond: Responder = () => ({})) {}

  dispatch(
    service: ServiceName,
    actor: string | null,
    op: Op,
    options: DispatchOptions,
  ): Promise<unknown> {
    const call = { service, actor, op, options };
    this.calls.push(call);
    // A responder that throws is a service that refuses: the promise rejects.
    return new Promise((resolve) => resolve(this.respond(call)));
  }

  /** The only call made so far; fails loudly if there were several or none. */
  only(): DispatchedOp {
    if (this.calls.length !== 1) {
      throw new Error(`expected exactly one dispatched op, got ${this.calls.length}`);
    }
    return this.calls[0] as DispatchedOp;
  }
}

/**
 * Subscriptions by user; tests publish updates to them and count listeners. `live` decides
 * when (and whether) a subscription goes live; by default at once.
 */
export class FakeFeed implements NotificationFeed {
  private readonly listeners = new Map<string, Set<(update: unknown) => void>>();
  /** Subscriptions that went live, ever (a late one counts even if dropped at once). */
  subscriptions = 0;
  private readonly gapListeners = new Set<() => void>();

  onGap(listener: () => void): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /** Simulates the bus re-subscribing after a failover: updates may have been lost. */
  gap(): void {
    for (const listener of this.gapListeners) listener();
  }

  constructor(
    public live: (username: string, signal?: AbortSignal) => Promise<void> = () =>
      Promise.resolve(),
  ) {}

  async subscribe(
    username: string,
    listener: (update: unknown) => void,
    signal?: AbortSignal,
  ): Promise<() => void> {
    await this.live(username, signal);
    const set = this.listeners.get(username) ?? new Set();
    this.listeners.set(username, set);
    set.add(listener);
    this.subscriptions++;
    return () => set.delete(listener);
  }

  publish(username: string, update: unknown): void {
    for (const listener of this.listeners.get(username) ?? []) listener(update);
  }

  listenerCount(username: string): number {
    return this.listeners.get(username)?.size ?? 0;
  }
}

/** Resolves once `condition` holds; fails after `timeoutMs`. Polls: the condition is cheap. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A test's port allocator inside its file's own block (all within 29500–29999). */
export function portsFrom(base: number, count = 100): () => number {
  let next = base;
  return () => {
    if (next >= base + count) throw new Error(`test ports ${base}..${base + count - 1} used up`);
    return next++;
  };
}

interface TestPki {
  readonly caPem: string;
  readonly cert: string;
  readonly key: string;
  /** A client certificate from the same CA: what an operator (or Prometheus) presents. */
  readonly operator: { readonly cert: string; readonly key: string };
  /** Another daemon's certificate of the same CA (the users service's): no operator. */
  readonly daemon: { readonly cert: string; readonly key: string };
}

/** The CA and certificates are the slow part of setting up; one per test process is enough. */
let pki: Promise<TestPki> | undefined;

function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const ca = await createCertificateAuthority();
    const issued = await issueCertificate(ca, {
      name: 'gateway',
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost'],
      usages: 'server',
    });
    const operator = await issueCertificate(ca, {
      name: 'operator',
      usages: 'client',
      role: 'operator',
    });
    const daemon = await issueCertificate(ca, { name: 'users-1', usages: 'client', role: 'users' });
    return {
      caPem: ca.certPem,
      cert: issued.certPem,
      key: issued.keyPem,
      operator: { cert: operator.certPem, key: operator.keyPem },
      daemon: { cert: daemon.certPem, key: daemon.keyPem },
    };
  })();
  return pki;
}

/** An answer as the tests look at it. */
export interface TestAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
}

export interface CallOptions {
  readonly method?: string;
  readonly token?: string | null;
  /** An object is sent as JSON; a string as is (as JSON unless `headers` say otherwise). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Present the operator's client certificate. */
  readonly asOperator?: boolean;
  /** Present the users service's client certificate (of the cluster CA, not an operator's). */
  readonly asDaemon?: boolean;
  /**
   * Connect from this local address (any of 127.0.0.0/8 on Linux): another client, as the
   * gateway's per-address limits see it. Default 127.0.0.1.
   */
  readonly from?: string;
}

/** A started gateway with its fakes, a token signer and a client. */
export interface TestGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly dispatcher: FakeDispatcher;
  readonly feed: FakeFeed;
  readonly agent: Agent;
  /** A session token for `username`, issued by the users service's own issuer. */
  token(username: string): Promise<string>;
  /** A feed token for `username`, issued by the users service's own issuer. */
  feedToken(username: string): Promise<string>;
  /** A refresh token for `username`, issued by the users service's own issuer. */
  refreshToken(username: string): Promise<string>;
  /** A device token (CalDAV) for `username`'s device `d1`, issued by the users service's own issuer. */
  deviceToken(username: string): Promise<string>;
  /**
   * A token signed with the right key but with hand-made claims: a valid session token's
   * claims (sub, iss, aud, iat, exp in an hour, jti) overridden by `claims`.
   */
  craftedToken(claims: JWTPayload): Promise<string>;
  call(path: string, options?: CallOptions): Promise<TestAnswer>;
}

/** Starts a gateway on `port` for one test and closes it (and the client) afterwards. */
export async function startTestGateway(
  t: ExecutionContext,
  port: number,
  overrides: Partial<Omit<GatewayOptions, 'host' | 'port' | 'tls' | 'tokens' | 'registry'>> & {
    readonly tokenNow?: () => number;
    readonly readiness?: ReadinessProbe;
  } = {},
): Promise<TestGateway> {
  const { caPem, cert, key, operator, daemon } = await testPki();
  const pair = await createSigningKeyPair();
  const issuer = new TokenIssuer(pair.privateKey);
  const dispatcher = new FakeDispatcher();
  const feed = new FakeFeed();
  const { tokenNow, ...rest } = overrides;
  const gateway = new Gateway({
    host: '127.0.0.1',
    port,
    tls: { cert, key, ca: caPem },
    tokens: {
      publicKey: await importTokenPublicKey(pair.publicKeyPem),
      ...(tokenNow === undefined ? {} : { now: tokenNow }),
    },
    dispatcher,
    notifications: feed,
    readiness: () => Promise.resolve({ ready: true }),
    // Its own registry, as every daemon's: no series is shared with another test's gateway.
    registry: new Registry(),
    ...rest,
  });
  await gateway.start();
  const agent = new Agent({ connect: { ca: caPem }, keepAliveTimeout: 1_000 });
  const operatorAgent = new Agent({
    connect: { ca: caPem, cert: operator.cert, key: operator.key },
    keepAliveTimeout: 1_000,
  });
  const daemonAgent = new Agent({
    connect: { ca: caPem, cert: daemon.cert, key: daemon.key },
    keepAliveTimeout: 1_000,
  });
  const agentsByAddress = new Map<string, Agent>();
  const agentFrom = (localAddress: string): Agent => {
    let found = agentsByAddress.get(localAddress);
    if (found === undefined) {
      found = new Agent({ connect: { ca: caPem }, localAddress, keepAliveTimeout: 1_000 });
      agentsByAddress.set(localAddress, found);
    }
    return found;
  };
  t.teardown(async () => {
    await gateway.close();
    await agent.close();
    await operatorAgent.close();
    await daemonAgent.close();
    await Promise.all([...agentsByAddress.values()].map((a) => a.close()));
  });
  const url = `https://127.0.0.1:${port}`;
  return {
    gateway,
    url,
    dispatcher,
    feed,
    agent,
    token: async (username) => (await issuer.session(username, 0)).token,
    feedToken: async (username) =>
      (await issuer.feed(username, 0, 'feed1', Date.now() + 86_400_000)).token,
    refreshToken: async (username) =>
      (await issuer.refresh(username, 0, 'session1', 0, Date.now() + 86_400_000)).token,
    deviceToken: async (username) => (await issuer.device(username, 0, 'd1')).token,
    craftedToken: (claims) => craftToken(pair.privateKey, claims),
    async call(path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const body =
        options.body === undefined || typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await request(`${url}${path}`, {
        dispatcher:
          options.asOperator === true
            ? operatorAgent
            : options.asDaemon === true
              ? daemonAgent
              : options.from === undefined
                ? agent
                : agentFrom(options.from),
        method: (options.method ?? (body === undefined ? 'GET' : 'POST')) as 'GET',
        headers,
        body,
      });
      const text = await response.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, headers: response.headers, text, json };
    },
  };
}

/** See {@link TestGateway.craftedToken}. */
function craftToken(privateKey: CryptoKey, claims: JWTPayload): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: 'alice',
    iss: TOKEN_ISSUER,
    aud: SESSION_AUDIENCE,
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    sid: 'crafted-session',
    gen: 0,
    ...claims,
  })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM })
    .sign(privateKey);
}
