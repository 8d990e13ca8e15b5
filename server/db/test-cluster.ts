/**
 * Test support (not used by production code): a DB service of three members in this
 * process — Raft on `basePort + 1…3`, their HTTPS APIs on `basePort + 11…13` — with a client
 * certificate for every cluster role, and a way to call a member as one of them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import type { Logger } from '../../base/log.js';
import {
  CLUSTER_ROLES,
  createCertificateAuthority,
  issueCertificate,
  type ClusterRole,
  type IssuedCertificate,
} from '../../base/pki.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { DbService } from './service.js';

const MEMBERS = [1, 2, 3] as const;

export interface Warned {
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

export interface Answer {
  readonly status: number;
  readonly body: {
    readonly result?: unknown;
    readonly error?: { code: string; message: string; details?: Record<string, unknown> };
  };
}

export interface TestCluster {
  readonly services: Map<number, DbService>;
  /** What the members logged as warnings. */
  readonly warned: Warned[];
  /** A client certificate per role, one naming none (`none`), and a spare member's (`db-9`). */
  readonly clients: Map<ClusterRole | 'none' | 'db-9' | `db-${number}`, Agent>;
  /** The member every member agrees leads (waits up to 10 s for one). */
  leader(): Promise<number>;
  /** Calls `route` (`POST /v1/commands`) on `member`, with `agent`'s certificate. */
  call(
    agent: Agent,
    member: number,
    route: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  /** Stops every member and client, and removes the members' data. */
  close(): Promise<void>;
}

export async function startTestCluster(basePort: number, clusterId: string): Promise<TestCluster> {
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), `agenda-${clusterId}-`));
  const ca = await createCertificateAuthority();
  const material = (issued: IssuedCertificate): MutualTlsMaterial => ({
    ca: ca.certPem,
    cert: issued.certPem,
    key: issued.keyPem,
  });
  const memberCertificate = (id: number) =>
    issueCertificate(ca, {
      name: `db-${id}`,
      usages: 'both',
      ipAddresses: ['127.0.0.1'],
      role: 'db',
    });
  const members = new Map(
    MEMBERS.map((id) => [
      id,
      {
        raft: { host: '127.0.0.1', port: basePort + id },
        client: { host: '127.0.0.1', port: basePort + 10 + id },
      },
    ]),
  );
  const warned: Warned[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warned.push({ message, fields }),
  };
  const services = new Map<number, DbService>();
  const memberCertificates = new Map<number, IssuedCertificate>();
  await Promise.all(
    MEMBERS.map(async (id) => {
      const certificate = await memberCertificate(id);
      memberCertificates.set(id, certificate);
      const service = await DbService.start({
        id,
        clusterId,
        dataDir: path.join(dataRoot, `db-${id}`),
        members,
        tls: material(certificate),
        tickMs: 20,
        electionTicks: 10,
        heartbeatTicks: 1,
        peerCertificateName: (peer) => `db-${peer}`,
        logger,
      });
      services.set(id, service);
    }),
  );
  const agent = (issued: IssuedCertificate) =>
    new Agent({ connect: { ...material(issued), rejectUnauthorized: true } });
  const clients: TestCluster['clients'] = new Map();
  for (const role of CLUSTER_ROLES) {
    clients.set(
      role,
      agent(await issueCertificate(ca, { name: `${role}-1`, usages: 'client', role })),
    );
  }
  clients.set('none', agent(await issueCertificate(ca, { name: 'users-1', usages: 'client' })));
  clients.set('db-9', agent(await memberCertificate(9)));
  for (const [id, certificate] of memberCertificates) clients.set(`db-${id}`, agent(certificate));
  return {
    services,
    warned,
    clients,
    async leader() {
      for (let waited = 0; waited < 10_000; waited += 50) {
        const leader = services.get(1)!.node.leader();
        if (leader !== 0 && services.get(leader)?.node.leader() === leader) return leader;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('no leader within 10 s');
    },
    call: (agent, member, route, body, headers = {}) =>
      callMember(basePort + 10 + member, agent, route, body, headers),
    async close() {
      await Promise.all([...clients.values()].map((agent) => agent.close()));
      await Promise.all([...services.values()].map((service) => service.close()));
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

async function callMember(
  port: number,
  agent: Agent,
  route: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Answer> {
  const [method, pathname] = route.split(' ') as [string, string];
  const response = await request(`https://127.0.0.1:${port}${pathname}`, {
    method: method as 'GET' | 'POST',
    dispatcher: agent,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    body: (response.headers['content-type'] ?? '').includes('json')
      ? (JSON.parse(text) as Answer['body'])
      : {},
  };
}
