/**
 * Test support for the observer: a throwaway cluster CA with an operator certificate on disk, VIP
 * agent status endpoints that require the client certificate as the real ones do, a target
 * that accepts connections and never answers (a host that hangs), and a gossip cluster key.
 */
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { VipAgentStatus } from '../vip-agent/agent.js';
import { createCertificateAuthority, issueCertificate } from '../base/pki.js';
import type { ClusterRole } from '../base/pki.js';
import type { MutualTlsMaterial } from '../base/tls.js';
import { temporaryDirectory } from '../test/support/temp-dirs.js';
import { tcpTestServer } from '../server/net/test-support.js';

/** Files an observer reads, and what the fake servers present. */
export interface TestPki {
  readonly dir: string;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly gossipKeyFile: string;
  readonly server: { readonly ca: string; readonly cert: string; readonly key: string };
  /** PEM of a daemon's certificate (common name `name`, `role`), for a gossip member. */
  member(name: string, role: ClusterRole): Promise<MutualTlsMaterial>;
}

/** A fresh CA, an operator client certificate and a gossip key, written to a temporary dir. */
export async function createTestPki(): Promise<TestPki> {
  const ca = await createCertificateAuthority();
  const operator = await issueCertificate(ca, {
    name: 'operator',
    usages: 'client',
    role: 'operator',
  });
  const server = await issueCertificate(ca, {
    name: 'vip-test',
    ipAddresses: ['127.0.0.1'],
    usages: 'server',
  });
  const dir = await temporaryDirectory('agenda-observer-');
  const file = async (name: string, text: string) => {
    await writeFile(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  return {
    dir,
    tls: {
      ca: await file('ca.pem', ca.certPem),
      cert: await file('operator.pem', operator.certPem),
      key: await file('operator-key.pem', operator.keyPem),
    },
    gossipKeyFile: await file('gossip.key', 'observer-test-gossip-key-0123456789\n'),
    server: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
    member: async (name, role) => {
      const issued = await issueCertificate(ca, { name, usages: 'both', role });
      return { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem };
    },
  };
}

/** A VIP agent's status document as `vip-agent/agent.ts` serves it. */
export function agentStatus(
  id: string,
  peerId: string,
  state: 'active' | 'passive',
  overrides: Partial<VipAgentStatus> = {},
): VipAgentStatus {
  const active = state === 'active';
  return {
    id,
    state,
    vipConfigured: active,
    vip: { address: '10.77.0.10', prefixLength: 24, device: 'eth0' },
    lease: {
      name: 'vip',
      kind: active ? 'mine' : 'other',
      holder: active ? id : peerId,
      epoch: 3,
      expiresAt: Date.now() + 1000,
      remainingMs: active ? 900 : null,
      readAgeMs: 40,
    },
    peer: { id: peerId, heartbeatAgeMs: 85, claimed: active ? 'passive' : 'active', epoch: 3 },
    gatewayFailures: 0,
    lastDecision: { type: active ? 'renew-lease' : 'none', reason: 'steady' },
    lastAction: active
      ? { type: 'claim-vip', reason: 'lease held', at: Date.now() - 5000, outcome: 'done' }
      : null,
    counters: {
      claims: 1,
      releases: 0,
      heartbeatsSent: 10,
      heartbeatsReceived: 10,
      heartbeatsDropped: 0,
    },
    heartbeatDrops: {} as VipAgentStatus['heartbeatDrops'],
    ...overrides,
  };
}

/** A status endpoint on 127.0.0.1 that requires a client certificate signed by the test CA. */
export class FakeStatusServer {
  /** Client certificates' subjects, one per request, as the server verified them. */
  readonly clients: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(
    pki: TestPki,
    port: number,
    answer: () => { status: number; body: string; delayMs?: number },
  ): Promise<FakeStatusServer> {
    const server = createHttpsServer({
      ...pki.server,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const fake = new FakeStatusServer(server);
    server.on('request', (req, res) => {
      const socket = req.socket as Socket & { getPeerCertificate(): { subject?: { CN?: string } } };
      fake.clients.push(socket.getPeerCertificate().subject?.CN ?? '?');
      const { status, body, delayMs } =
        req.url === '/v1/status' ? answer() : { status: 404, body: '{"error":"no route"}' };
      const send = () => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      if (delayMs === undefined) send();
      else setTimeout(send, delayMs);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Accepts TCP connections on 127.0.0.1:`port` and never says a word: a hung host. */
export async function startSilentServer(port: number): Promise<() => Promise<void>> {
  const server = await tcpTestServer(port);
  return () => server.close();
}
