/**
 * Test doubles for the VIP agent: a LAN where each host's address control adds and removes
 * the VIP in memory and every instant with two owners is caught as it happens, a UDP relay
 * that carries the pair's heartbeats and can drop them, a gateway whose health the test sets,
 * and the port range of the agent's tests.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { PortRange } from '../server/bus/test-support.js';
import type { AddressControl } from './address.js';
import type { HealthResult } from './gateway-health.js';

/** Ports for the VIP agent's tests: 30300–30399 and 30430–30449 (see {@link PortRange}). */
export function vipPorts(first: number, last: number): PortRange {
  return first >= 30_430
    ? new PortRange(first, last, { min: 30_430, max: 30_449 })
    : new PortRange(first, last, { min: 30_300, max: 30_399 });
}

/** One change of the VIP on the LAN. */
export interface LanEvent {
  readonly at: number;
  readonly host: string;
  readonly change: 'add' | 'remove' | 'announce' | 'announce-stopped';
}

/**
 * The hosts that may hold the VIP, and who holds it now. Adding the VIP on one host while
 * another holds it is recorded in {@link overlaps} at that very instant, so a test sees every
 * moment of two owners, not just the ones a sampler happens to hit.
 */
export class FakeLan {
  private readonly owners = new Set<string>();
  readonly events: LanEvent[] = [];
  /** Every add that found the VIP already on another host: [host adding, other owners]. */
  readonly overlaps: { host: string; others: string[]; at: number }[] = [];

  /** The address control of `host`. */
  control(host: string): FakeAddressControl {
    return new FakeAddressControl(this, host);
  }

  /** Hosts holding the VIP now, sorted. */
  holders(): string[] {
    return [...this.owners].sort();
  }

  /** Called by a host's control. */
  change(host: string, change: LanEvent['change']): void {
    const at = Date.now();
    if (change === 'add' && !this.owners.has(host)) {
      const others = this.holders();
      if (others.length > 0) this.overlaps.push({ host, others, at });
      this.owners.add(host);
    }
    if (change === 'remove') this.owners.delete(host);
    this.events.push({ at, host, change });
  }

  has(host: string): boolean {
    return this.owners.has(host);
  }
}

/** One host's {@link AddressControl} on a {@link FakeLan}; `failing` makes every call reject. */
export class FakeAddressControl implements AddressControl {
  failing = false;

  constructor(
    private readonly lan: FakeLan,
    readonly host: string,
  ) {}

  isConfigured(): Promise<boolean> {
    return this.call(() => this.lan.has(this.host));
  }

  add(): Promise<void> {
    return this.call(() => this.lan.change(this.host, 'add'));
  }

  remove(): Promise<void> {
    return this.call(() => this.lan.change(this.host, 'remove'));
  }

  /** Records the announcement, then lasts until `signal` stops it (as arping's second probe would). */
  announce(signal?: AbortSignal): Promise<void> {
    return this.call(() => this.lan.change(this.host, 'announce')).then(
      () =>
        new Promise<void>((resolve) => {
          if (signal === undefined || signal.aborted) return resolve();
          signal.addEventListener('abort', () => {
            this.lan.change(this.host, 'announce-stopped');
            resolve();
          });
        }),
    );
  }

  private call<T>(operation: () => T): Promise<T> {
    if (this.failing) return Promise.reject(new Error(`${this.host}: ip failed`));
    return Promise.resolve(operation());
  }
}

/** A gateway whose health the test decides. */
export class FakeGateway {
  healthy = true;
  /** Answers nothing yet: each check is pending (a gateway whose event loop is held up). */
  slow = false;
  checks = 0;

  check(): Promise<HealthResult> {
    this.checks++;
    if (this.slow) return Promise.resolve({ ok: false, pending: true, detail: 'no answer yet' });
    return Promise.resolve(
      this.healthy ? { ok: true } : { ok: false, detail: 'connect ECONNREFUSED (fake)' },
    );
  }
}

/**
 * Carries heartbeats between two agents on loopback: agent A sends to {@link portForA} and it
 * arrives at B's port, and the other way round. While {@link cut} is set, both directions
 * drop everything — a partition between the two hosts.
 */
export class UdpRelay {
  cut = false;
  forwarded = 0;

  private constructor(
    private readonly sockets: readonly [Socket, Socket],
    readonly portForA: number,
    readonly portForB: number,
  ) {}

  /** Listens on `portForA` (forwarding to `portOfB`) and `portForB` (to `portOfA`). */
  static async start(ports: {
    portOfA: number;
    portOfB: number;
    portForA: number;
    portForB: number;
  }): Promise<UdpRelay> {
    const toB = await bound(ports.portForA);
    const toA = await bound(ports.portForB);
    const relay = new UdpRelay([toB, toA], ports.portForA, ports.portForB);
    const forward = (from: Socket, port: number) =>
      from.on('message', (datagram) => {
        if (relay.cut) return;
        relay.forwarded++;
        from.send(datagram, port, '127.0.0.1');
      });
    forward(toB, ports.portOfB);
    forward(toA, ports.portOfA);
    return relay;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
    );
  }
}

async function bound(port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Sends to an agent that is down fail with ICMP errors: that is what a relay is for.
  socket.on('error', () => undefined);
  return socket;
}
