/**
 * The observer's seat in the gossip cluster. Gossip membership only exists in the members'
 * views, so the only way to show it is to hold one: the observer joins as a member of role
 * `observer` (no service looks that role up, so it is never sent work) and shows what its own
 * view holds. It leaves gracefully on close, so the others record `left`, not a failure.
 */
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { silentLogger } from '../base/log.js';
import type { MutualTlsMaterial } from '../base/tls.js';
import { joinGossip } from '../server/gossip/join.js';
import type { GossipNode } from '../server/gossip/node.js';
import { parseAddress } from '../server/gossip/node.js';
import { OBSERVER_ROLE } from '../server/gossip/types.js';
import type { GossipMember } from './model.js';
import { sortGossipMembers, withoutObservers } from './model.js';
import type { ClusterDescription } from './description.js';

export type GossipDescription = NonNullable<ClusterDescription['gossip']>;

export class GossipWatcher {
  private node: GossipNode | null = null;
  private starting: Promise<GossipNode> | null = null;
  private ready: Promise<void> | null = null;
  private closed = false;
  /** Since when each seed address no member holds has been seen so (see `members`). */
  private readonly absentSince = new Map<string, number>();
  /** Resolves once the view holds someone else (the join answered) — or on close. */
  private joined: Promise<void> | null = null;

  /** `tls` is the operator's certificate: it vouches for the observer in gossip (`proof.ts`). */
  constructor(
    private readonly description: GossipDescription,
    private readonly tls: MutualTlsMaterial,
  ) {}

  /**
   * Binds and joins; the first call resolves once the view holds another member or `waitMs`
   * passed (a cluster that does not answer is a view with only the observer in it, not an
   * error), later ones at once. Rejects on a bad key file or an address it cannot bind; the
   * next call then tries again (the address may come up, as a lab bridge does).
   */
  start(waitMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ready ??= (async () => {
      this.starting = this.join();
      await this.starting;
      await Promise.race([this.joined, new Promise((r) => setTimeout(r, waitMs).unref())]);
    })().catch((err: unknown) => {
      this.ready = null;
      this.starting = null;
      throw err;
    });
    return this.ready;
  }

  /**
   * The system's members as this observer's view holds them, request path first. Observers
   * (itself, other dashboards, its own previous run departed) are not the system: left out.
   */
  members(): GossipMember[] {
    const node = this.node;
    if (node === null) return [];
    const members: GossipMember[] = withoutObservers(node.members()).map((m) => ({
      id: m.id,
      role: m.role,
      address: m.address,
      state: m.state,
      incarnation: m.incarnation,
      since: m.since,
    }));
    // Every seed is a member's address: one no member holds is a process missing from the
    // system. A member that left is forgotten by the view after a while, and one that was
    // gone before the dashboard started was never seen: "7/7 alive" with a gateway stopped.
    const held = new Set(members.map((m) => m.address));
    const now = Date.now();
    for (const seed of new Set(this.description.seeds)) {
      if (held.has(seed)) continue;
      this.absentSince.set(seed, this.absentSince.get(seed) ?? now);
      members.push({
        id: `? ${seed}`,
        role: 'unknown',
        address: seed,
        state: 'absent',
        incarnation: 0,
        since: this.absentSince.get(seed) ?? now,
      });
    }
    for (const seed of this.absentSince.keys()) if (held.has(seed)) this.absentSince.delete(seed);
    return sortGossipMembers(members);
  }

  /** Leaves the cluster (others see `left`) and closes the socket. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const node = await this.starting?.catch(() => null);
    await node?.close();
  }

  private selfId(): string {
    return this.description.id ?? `observer-${hostname()}-${process.pid}`;
  }

  private async join(): Promise<GossipNode> {
    const { host, port } = await resolveListen(this.description.listen);
    const self = this.selfId();
    // Membership changes are on screen; logging them too would write over the dashboard.
    const node = await joinGossip(
      {
        listen: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
        seeds: this.description.seeds,
        keyFile: this.description.keyFile,
        ...(this.description.periodMs === undefined ? {} : { periodMs: this.description.periodMs }),
      },
      (path) => path,
      { id: self, role: OBSERVER_ROLE },
      this.tls,
      silentLogger,
    );
    this.joined = new Promise((resolve) => {
      if (node.members().some((m) => m.id !== self)) resolve();
      const off = node.on('change', (change) => {
        if (change.member.id === self) return;
        off();
        resolve();
      });
    });
    this.node = node;
    if (this.closed) await node.close();
    return node;
  }
}

/**
 * `host:port` to bind, checked by binding it once and letting go, so a bad address fails
 * here (a socket that failed to bind inside the node would stay half-open); port 0 becomes a
 * free port found that way (the address must be known before the member announces it).
 */
async function resolveListen(listen: string): Promise<{ host: string; port: number }> {
  const colon = listen.lastIndexOf(':');
  const wanted = listen.slice(colon + 1) === '0' ? 0 : parseAddress(listen).port;
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(new Error(`cannot listen on ${listen}: ${err.message}`));
    });
    socket.bind(wanted, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve({ host, port }));
    });
  });
}
