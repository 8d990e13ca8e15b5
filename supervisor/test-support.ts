/**
 * Test doubles for the supervisor: an in-memory registry with the DB's lease and
 * compare-and-set rules (`server/store/registry.ts`), whose connections can be cut off one
 * by one, and the port range of the supervisor's tests.
 */
import { Unavailable } from '../contract/errors.js';
import type {
  CasResult,
  LeaseAcquireResult,
  LeaseReleaseResult,
  LeaseView,
  RegistryEntry,
} from '../server/store/protocol.js';
import { PortRange } from '../server/bus/test-support.js';
import type { Registry } from './registry.js';

interface LeaseRow {
  holder: string | null;
  epoch: number;
  expiresAt: number;
}

/** The registry's state, shared by every {@link MemoryRegistryConnection}. */
export class MemoryRegistry {
  private readonly entries = new Map<string, RegistryEntry>();
  private readonly leases = new Map<string, LeaseRow>();
  /** Every applied write of a key, in order: what a reader of the registry could have seen. */
  readonly writes: RegistryEntry[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** A supervisor's own link to the registry. */
  connect(): MemoryRegistryConnection {
    return new MemoryRegistryConnection(this);
  }

  entry(key: string): RegistryEntry | null {
    return this.entries.get(key) ?? null;
  }

  compareAndSet(key: string, expectedEpoch: number | null, value: string): CasResult {
    const current = this.entry(key);
    if ((current?.epoch ?? null) !== expectedEpoch) return { applied: false, current };
    const entry = { key, value, epoch: (current?.epoch ?? 0) + 1 };
    this.entries.set(key, entry);
    this.writes.push(entry);
    return { applied: true, entry };
  }

  lease(name: string): LeaseView | null {
    const row = this.leases.get(name);
    return row === undefined ? null : this.view(name, row);
  }

  acquireLease(name: string, holder: string, ttlMs: number): LeaseAcquireResult {
    const now = this.now();
    const row = this.leases.get(name);
    const live = row !== undefined && row.holder !== null && now < row.expiresAt;
    if (live && row.holder !== holder) return { acquired: false, lease: this.view(name, row) };
    const next = {
      holder,
      epoch: live ? row.epoch : (row?.epoch ?? 0) + 1,
      expiresAt: now + ttlMs,
    };
    this.leases.set(name, next);
    return { acquired: true, renewed: live, lease: this.view(name, next) };
  }

  releaseLease(name: string, holder: string): LeaseReleaseResult {
    const row = this.leases.get(name);
    if (row === undefined) return { released: false, lease: null };
    if (row.holder !== holder) return { released: false, lease: this.view(name, row) };
    const next = { holder: null, epoch: row.epoch, expiresAt: Math.min(row.expiresAt, this.now()) };
    this.leases.set(name, next);
    return { released: true, lease: this.view(name, next) };
  }

  private view(name: string, row: LeaseRow): LeaseView {
    return {
      name,
      ...row,
      expired: row.holder === null || this.now() >= row.expiresAt,
    };
  }
}

/** One link to a {@link MemoryRegistry}; while {@link cutOff} every call rejects. */
export class MemoryRegistryConnection implements Registry {
  cutOff = false;

  constructor(private readonly registry: MemoryRegistry) {}

  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseAcquireResult> {
    return this.call(() => this.registry.acquireLease(name, holder, ttlMs));
  }

  releaseLease(name: string, holder: string): Promise<LeaseReleaseResult> {
    return this.call(() => this.registry.releaseLease(name, holder));
  }

  lease(name: string): Promise<LeaseView | null> {
    return this.call(() => this.registry.lease(name));
  }

  entry(key: string): Promise<RegistryEntry | null> {
    return this.call(() => this.registry.entry(key));
  }

  compareAndSet(key: string, expectedEpoch: number | null, value: string): Promise<CasResult> {
    return this.call(() => this.registry.compareAndSet(key, expectedEpoch, value));
  }

  private call<T>(operation: () => T): Promise<T> {
    if (this.cutOff) return Promise.reject(new Unavailable('the DB is unreachable (cut off)'));
    return Promise.resolve(operation());
  }
}

/** Ports for the supervisor's tests: 30100–30299 (see {@link PortRange}). */
export function supervisorPorts(first: number, last: number): PortRange {
  return new PortRange(first, last, { min: 30_100, max: 30_299 });
}
