/**
 * What the lab can tell about itself from outside, in the root namespace over the bridge:
 * who holds each role ({@link LabObserver.facts}) and whether the whole system is healthy
 * ({@link LabObserver.health}). It asks the processes themselves with the operator's
 * certificate — each DB member's `/v1/status`, each Redis instance's `ROLE`, the DB registry
 * for the recorded Redis primary and the `vip` lease — and checks the VIP the way a client
 * does, from the client namespace.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { NodeStatus } from '../raft/runtime/raft-node.js';
import type { NetAddress } from '../base/host-port.js';
import { PRIMARY_REGISTRY_KEY } from '../server/bus/primary-source.js';
import { loginOptions, readRedisCredentials } from '../server/bus/redis-auth.js';
import { DbClient, type DbMemberStatus } from '../server/db/client.js';
import type { LeaseView, QueryBody, RegistryEntry } from '../server/store/protocol.js';
import type { InstanceHealth } from '../supervisor/decide.js';
import { parseRole } from '../supervisor/redis-control.js';
import type { LabFacts, LabHost } from './driver.js';
import type { DataLayout } from './layout.js';
import { LAB_HOST_ADDRESSES, LAB_NETWORK, LAB_TOPOLOGY, VIP_ADDRESS, VIP_URL } from './topology.js';

/** The lease the VIP agents hold (`leaseName` in their configs). */
export const VIP_LEASE = 'vip';
/** How far behind the leader's commit index a member may be and still count as caught up. */
const MAX_APPLY_LAG = 20;
/** How long one observation waits for any one process. */
const CALL_MS = 1_000;

export interface LabHealth {
  readonly healthy: boolean;
  /** Why not, one line per problem; empty when healthy. */
  readonly problems: readonly string[];
}

export class LabObserver {
  /** One client per member: a dead member's connect timeout must not hold up the others. */
  private readonly members: { name: string; address: NetAddress; db: DbClient }[];
  private readonly https: Agent;
  private readonly redis: { name: string; address: NetAddress; client: Redis }[];

  constructor(private readonly layout: DataLayout) {
    const files = layout.tls('operator');
    const tls = {
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
    };
    this.members = LAB_TOPOLOGY.db.map((m) => {
      const address = { host: hostAddress(m.host), port: m.apiPort };
      const db = new DbClient({ members: new Map([[m.id, address]]), tls, deadlineMs: CALL_MS });
      return { name: `db-${m.id}`, address, db };
    });
    this.https = new Agent({ connect: { ca: tls.ca, timeout: CALL_MS }, keepAliveTimeout: 5_000 });
    // Redis's ACL user of the operator (ROLE): the lab's Redis refuses `default`.
    const login = loginOptions(
      readRedisCredentials({ user: 'operator', passwordFile: layout.redisPassword('operator') }),
    );
    this.redis = LAB_TOPOLOGY.redis.map((r) => {
      const address = { host: hostAddress(r.host), port: r.port };
      const client = new Redis({
        ...address,
        tls,
        ...login,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: 500,
        commandTimeout: 500,
        retryStrategy: () => 500,
      });
      // An instance that is down is reported as down; its client's errors are expected.
      client.on('error', () => {});
      return { name: `redis-${r.id}`, address, client };
    });
  }

  async facts(): Promise<LabFacts> {
    const { members, roles, recorded, lease } = await this.roleHolders();
    const vipOwner = vipHolderHost(lease?.lease ?? null);
    return {
      dbLeader: leaderOf(members)?.name ?? null,
      dbTerm: leaderOf(members)?.term ?? null,
      redisPrimary: this.recordedPrimary(recorded?.entry ?? null, roles)?.name ?? null,
      vipOwner,
      activeGateway: vipOwner ? `gateway-${vipOwner.slice(2)}` : null,
    };
  }

  /** What tells who holds each role: DB statuses, Redis roles, the recorded primary, the VIP lease. */
  private async roleHolders() {
    const [members, roles, recorded, lease] = await Promise.all([
      this.dbStatuses(),
      this.redisRoles(),
      this.registry<{ entry: RegistryEntry | null }>({
        type: 'registry.get',
        key: PRIMARY_REGISTRY_KEY,
      }),
      this.registry<{ lease: LeaseView | null }>({ type: 'lease.get', name: VIP_LEASE }),
    ]);
    return { members, roles, recorded, lease };
  }

  /** Every check `restore()` waits for; healthy when there is no problem. */
  async health(): Promise<LabHealth> {
    const [{ members, roles, recorded, lease }, gateways, vipHosts, throughVip] = await Promise.all(
      [
        this.roleHolders(),
        this.gatewaysReady(),
        vipConfiguredOn(),
        vipAnswersFromClient(this.layout.tls('operator').ca),
      ],
    );
    const problems: string[] = [];

    const leader = leaderOf(members);
    if (!leader) problems.push('the DB has no leader');
    for (const [i, m] of members.entries()) {
      if (!m.status) problems.push(`${m.name} does not answer`);
      else if (leader && m.status.member.applied < leader.commit - MAX_APPLY_LAG)
        problems.push(`${m.name} has applied ${m.status.member.applied} of ${leader.commit}`);
      // A replacement left half done (`agenda cluster member replace`) is not a healthy lab:
      // the DB would tolerate one failure fewer than the scenarios assume.
      const id = LAB_TOPOLOGY.db[i]?.id;
      if (leader && id !== undefined && !leader.conf.voters.includes(id)) {
        problems.push(
          `${m.name} is not a voter (${leader.conf.learners.includes(id) ? 'a learner' : 'not in the cluster'})`,
        );
      }
    }

    const primary = this.recordedPrimary(recorded?.entry ?? null, roles);
    if (!primary) problems.push('no Redis instance is recorded as primary and answering as one');
    for (const r of roles) {
      if (r === primary) continue;
      const h = r.health;
      if (!h.up) problems.push(`${r.name} does not answer`);
      else if (h.role !== 'replica') problems.push(`${r.name} is a second primary`);
      else if (!h.linkUp) problems.push(`${r.name} is not linked to its primary`);
      else if (primary && !sameAddress(h.following, primary.address))
        problems.push(`${r.name} follows ${h.following.host}:${h.following.port}, not the primary`);
    }

    const owner = vipHolderHost(lease?.lease ?? null);
    if (!owner) problems.push('nobody holds the VIP lease');
    if (vipHosts.length > 1) problems.push(`the VIP is configured on ${vipHosts.join(' and ')}`);
    else if (owner && vipHosts[0] !== owner) problems.push(`the VIP is not configured on ${owner}`);
    if (!throughVip) problems.push(`${VIP_URL}/healthz does not answer from the client namespace`);
    for (const g of gateways) if (!g.ready) problems.push(`${g.name} is not ready`);
    return { healthy: problems.length === 0, problems };
  }

  async close(): Promise<void> {
    for (const r of this.redis) r.client.disconnect();
    await Promise.all([...this.members.map((m) => m.db.close()), this.https.close()]);
  }

  private dbStatuses(): Promise<{ name: string; status: DbMemberStatus | null }[]> {
    return Promise.all(
      this.members.map(async (m) => ({
        name: m.name,
        status: await within(CALL_MS, m.db.status(m.address, CALL_MS)),
      })),
    );
  }

  private redisRoles(): Promise<{ name: string; address: NetAddress; health: InstanceHealth }[]> {
    return Promise.all(
      this.redis.map(async (r) => {
        try {
          if (r.client.status === 'wait' || r.client.status === 'end') await r.client.connect();
          return {
            name: r.name,
            address: r.address,
            health: parseRole(await r.client.call('ROLE')),
          };
        } catch (err) {
          return {
            name: r.name,
            address: r.address,
            health: { up: false, error: String(err) } as InstanceHealth,
          };
        }
      }),
    );
  }

  /**
   * A registry read, asked of every member at once: the first linearizable answer, else the
   * first a member gives from what it knows (a partitioned member's may be stale).
   */
  private async registry<T>(body: QueryBody): Promise<T | null> {
    for (const consistency of ['linearizable', 'local'] as const) {
      const answers = this.members.map(async (m) => {
        const r = await m.db.query(null, body, {
          consistency,
          deadlineMs: CALL_MS,
          signal: AbortSignal.timeout(CALL_MS),
        });
        if (!r.ok) throw new Error(`${m.name} refused the read`);
        return r.result as T;
      });
      const first = await within(CALL_MS + 200, Promise.any(answers));
      if (first !== null) return first;
    }
    return null;
  }

  private recordedPrimary<R extends { name: string; address: NetAddress; health: InstanceHealth }>(
    entry: RegistryEntry | null,
    roles: readonly R[],
  ): R | null {
    if (!entry) return null;
    let address: NetAddress;
    try {
      address = JSON.parse(entry.value) as NetAddress;
    } catch {
      return null;
    }
    const r = roles.find((x) => sameAddress(x.address, address));
    return r?.health.up && r.health.role === 'primary' ? r : null;
  }

  private gatewaysReady(): Promise<{ name: string; ready: boolean }[]> {
    return Promise.all(
      LAB_TOPOLOGY.gateways.map(async (g) => {
        const url = `https://${hostAddress(g.host)}:${g.port}/readyz`;
        const res = await request(url, {
          dispatcher: this.https,
          headersTimeout: 1_000,
          bodyTimeout: 1_000,
        }).catch(() => null);
        await res?.body.dump();
        return { name: `gateway-${g.id}`, ready: res?.statusCode === 200 };
      }),
    );
  }
}

/** `work`'s value, or null when it fails or takes longer than `ms` (it is left to finish). */
function within<T>(ms: number, work: Promise<T>): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

function hostAddress(host: string): string {
  const address = LAB_HOST_ADDRESSES[host as LabHost];
  if (!address) throw new Error(`no lab host ${host}`);
  return address;
}

function sameAddress(a: NetAddress, b: NetAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/** The leader with the highest term: a deposed leader cut off in a minority may still think it leads. */
function leaderOf(
  members: readonly { name: string; status: DbMemberStatus | null }[],
): { name: string; term: number; commit: number; conf: NodeStatus['conf'] } | null {
  let best: { name: string; term: number; commit: number; conf: NodeStatus['conf'] } | null = null;
  for (const m of members) {
    const s = m.status?.member;
    if (s?.role === 'leader' && (!best || s.term > best.term))
      best = { name: m.name, term: s.term, commit: s.commit, conf: s.conf };
  }
  return best;
}

/** Agent `vip-<n>` runs on host `vm<n>`. */
function vipHolderHost(lease: LeaseView | null): LabHost | null {
  if (!lease?.holder || lease.expired) return null;
  const agent = LAB_TOPOLOGY.vip?.agents.find((a) => `vip-${a.id}` === lease.holder);
  return (agent?.host as LabHost | undefined) ?? null;
}

/** The hosts whose `eth0` has the VIP configured right now. */
async function vipConfiguredOn(): Promise<LabHost[]> {
  const found = await Promise.all(
    LAB_NETWORK.hosts.map(async (h) => {
      const out = await execText('ip', [
        '-n',
        h.namespace,
        '-o',
        '-4',
        'addr',
        'show',
        'dev',
        'eth0',
      ]);
      return out !== null && out.includes(` ${VIP_ADDRESS}/`) ? [h.name as LabHost] : [];
    }),
  );
  return found.flat();
}

/** A client's view: GET /healthz through the VIP, from the client namespace. */
async function vipAnswersFromClient(caPath: string): Promise<boolean> {
  const probe =
    "const [,url,ca]=process.argv;const r=require('node:https').get(url,{ca:require('node:fs').readFileSync(ca),timeout:1500}," +
    "(res)=>process.exit(res.statusCode===200?0:1));r.on('timeout',()=>process.exit(2));r.on('error',()=>process.exit(3));";
  const out = await execText('ip', [
    'netns',
    'exec',
    LAB_NETWORK.client.namespace,
    process.execPath,
    '-e',
    probe,
    `${VIP_URL}/healthz`,
    caPath,
  ]);
  return out !== null;
}

/** Runs a command; its stdout, or null when it failed. */
function execText(command: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command, [...args], { encoding: 'utf8', timeout: 3_000 }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}
