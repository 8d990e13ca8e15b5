/**
 * A fake gateway for CLI tests: HTTPS on 127.0.0.1 (ports 29000–29489) with a certificate
 * from a throwaway lab CA, canned answers per route, and a record of every request so tests
 * can assert what the CLI sent.
 */
import { writeFile } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../../base/pki.js';
import { temporaryDirectory } from '../../../test/support/temp-dirs.js';

/** Where fake gateways listen, picked at random since several test files run at once. */
const PORT_RANGE = { first: 29000, last: 29489 } as const;
/**
 * Ports no fake gateway ever listens on, for a gateway that is down. A port freed by a closed
 * gateway would not do: the next gateway any test starts may land on it and answer.
 */
const DEAD_PORTS = { first: 29490, last: 29499 } as const;

/** A CA file for `--ca` and the certificate the fake gateways present. */
export interface TestTls {
  readonly caFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Creates a fresh CA (written to a temporary `ca.pem`) and a server certificate for 127.0.0.1. */
export async function createTestTls(): Promise<TestTls> {
  const ca = await createCertificateAuthority();
  const server = await issueCertificate(ca, {
    name: 'fake-gateway',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
  });
  const dir = await temporaryDirectory('agenda-cli-tls-');
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  return { caFile, certPem: server.certPem, keyPem: server.keyPem };
}

/** What the CLI sent. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query, e.g. `/v1/events/e1`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A canned answer: a status and a JSON or text body. */
export interface CannedAnswer {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
}

/**
 * Answers a request: return a {@link CannedAnswer}, or write to `response` yourself (for
 * streams) and return nothing.
 */
export type RouteHandler = (
  request: RecordedRequest,
  params: Readonly<Record<string, string>>,
  response: ServerResponse,
) => CannedAnswer | undefined | Promise<CannedAnswer | undefined>;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

/** One fake gateway. Routes are matched in the order they were added. */
export class FakeGateway {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: Route[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts a gateway on a free port of the test range. */
  static async start(tls: TestTls): Promise<FakeGateway> {
    // Requests can only come once the URL is known, after `gateway` exists.
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
      void gateway.handle(request, response);
    });
    const port = await listenInTestRange(server);
    const gateway = new FakeGateway(server, `https://127.0.0.1:${port}`);
    return gateway;
  }

  /** Answers `method pattern` (`:name` segments match anything) with `answer`. */
  on(method: string, pattern: string, answer: CannedAnswer | RouteHandler): this {
    const handler: RouteHandler = typeof answer === 'function' ? answer : () => answer;
    this.routes.push({ method, segments: pattern.split('/'), handler });
    return this;
  }

  /** The requests to `method path` so far. */
  requestsTo(method: string, pathname: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === pathname);
  }

  /** Resolves with the first recorded request matching `predicate`, waiting up to `timeoutMs`. */
  async waitForRequest(
    predicate: (request: RecordedRequest) => boolean,
    timeoutMs = 10_000,
  ): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the expected request never came');
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'https://fake.invalid');
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(recorded);
    for (const wake of [...this.waiters]) wake();
    const match = this.match(recorded);
    const answer =
      match === undefined
        ? { status: 404, json: { error: { code: 'not_found', message: 'no such route' } } }
        : await match.route.handler(recorded, match.params, response);
    if (answer === undefined) return;
    const body = answer.json === undefined ? (answer.text ?? '') : JSON.stringify(answer.json);
    response.writeHead(answer.status, {
      'content-type':
        answer.contentType ?? (answer.json === undefined ? 'text/plain' : 'application/json'),
    });
    response.end(body);
  }

  private match(
    request: RecordedRequest,
  ): { route: Route; params: Record<string, string> } | undefined {
    const segments = request.path.split('/');
    for (const route of this.routes) {
      if (route.method !== request.method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((pattern, index) => {
        const actual = segments[index] ?? '';
        if (pattern.startsWith(':')) {
          params[pattern.slice(1)] = decodeURIComponent(actual);
          return true;
        }
        return pattern === actual;
      });
      if (matches) return { route, params };
    }
    return undefined;
  }
}

/** Listens on a free port of the test range; several test files run at once, so ports are tried at random. */
async function listenInTestRange(server: Server): Promise<number> {
  const size = PORT_RANGE.last - PORT_RANGE.first + 1;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = PORT_RANGE.first + Math.floor(Math.random() * size);
    const bound = await new Promise<boolean>((resolve) => {
      const onError = (): void => resolve(false);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve(true);
      });
    });
    if (bound) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.first}–${PORT_RANGE.last}`);
}

/** The URL of a gateway that is down: a port nobody listens on, so connecting is refused. */
export function deadGatewayUrl(): string {
  const port =
    DEAD_PORTS.first + Math.floor(Math.random() * (DEAD_PORTS.last - DEAD_PORTS.first + 1));
  return `https://127.0.0.1:${port}`;
}

/**
 * A black-holed gateway: it takes TCP connections and never says a word, so a client
 * waits for the TLS handshake until its own connect timeout (a host whose gateway process
 * is hung, or a firewall that swallows the handshake).
 */
export class BlackHoleGateway {
  /** Connections taken so far. */
  accepted = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: TcpServer,
    readonly url: string,
  ) {
    server.on('connection', (socket: Socket) => {
      this.accepted += 1;
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<BlackHoleGateway> {
    const server = createTcpServer();
    // The same random pick of the test range as the fake gateways' (listen has one signature).
    const port = await listenInTestRange(server as unknown as Server);
    return new BlackHoleGateway(server, `https://127.0.0.1:${port}`);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An error body as the real gateway sends it. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  details: unknown = {},
): CannedAnswer {
  return { status, json: { error: { code, message, details } } };
}
