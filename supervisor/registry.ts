/**
 * The supervisor's view of the DB registry: the few lease and compare-and-set operations it
 * needs, owned here so tests can hand in an in-memory registry. {@link DbRegistry} is the
 * real one, over the DB service's client. Every method rejects when the DB cannot answer;
 * the supervisor reads that as "cut off" and stops acting.
 */
import { randomUUID } from 'node:crypto';
import type { DbClient } from '../server/db/client.js';
import { Internal, errorFromWire } from '../contract/errors.js';
import type {
  CasResult,
  CommandBody,
  LeaseAcquireResult,
  LeaseReleaseResult,
  LeaseView,
  QueryBody,
  RegistryEntry,
} from '../server/store/protocol.js';

/** Lease and registry operations, as the DB service defines them (`server/store/registry.ts`). */
export interface Registry {
  /** Acquires or renews `name` for `holder`; a new tenure gets a larger epoch. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseAcquireResult>;
  /** Gives the lease up if `holder` is named on it. */
  releaseLease(name: string, holder: string): Promise<LeaseReleaseResult>;
  /** The lease as the DB sees it now, or null if never acquired. */
  lease(name: string): Promise<LeaseView | null>;
  /** The key's entry (value and fencing epoch), or null if never written. */
  entry(key: string): Promise<RegistryEntry | null>;
  /** Writes `value` if the key's epoch is `expectedEpoch` (null: absent). */
  compareAndSet(key: string, expectedEpoch: number | null, value: string): Promise<CasResult>;
}

/** What {@link DbRegistry} needs of the DB client. */
export type RegistryDb = Pick<DbClient, 'command' | 'query'>;

/**
 * The registry over the DB service. Each call has its own short deadline: a supervisor
 * checking every few hundred milliseconds must learn it is cut off well before its lease
 * would have expired, not after the client's default 8 s.
 */
export class DbRegistry implements Registry {
  constructor(
    private readonly db: RegistryDb,
    private readonly deadlineMs: number,
  ) {}

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseAcquireResult> {
    const result = await this.command({ type: 'lease.acquire', name, holder, ttlMs });
    if (!('acquired' in result)) throw unexpected('lease.acquire');
    return result;
  }

  async releaseLease(name: string, holder: string): Promise<LeaseReleaseResult> {
    const result = await this.command({ type: 'lease.release', name, holder });
    if (!('released' in result)) throw unexpected('lease.release');
    return result;
  }

  async lease(name: string): Promise<LeaseView | null> {
    const result = await this.query({ type: 'lease.get', name });
    if (!('lease' in result)) throw unexpected('lease.get');
    return result.lease;
  }

  async entry(key: string): Promise<RegistryEntry | null> {
    const result = await this.query({ type: 'registry.get', key });
    if (!('entry' in result)) throw unexpected('registry.get');
    return result.entry;
  }

  async compareAndSet(
    key: string,
    expectedEpoch: number | null,
    value: string,
  ): Promise<CasResult> {
    const result = await this.command({ type: 'registry.cas', key, expectedEpoch, value });
    if (!('applied' in result)) throw unexpected('registry.cas');
    return result;
  }

  private async command(body: CommandBody) {
    // A fresh request id per call: a renewal must be applied again, not answered from the
    // dedup log; the client's own retries of this call reuse it, which is what makes them safe.
    const answer = await this.db.command(
      { v: 1, requestId: `supervisor-${randomUUID()}`, actor: null, ids: [], body },
      { deadlineMs: this.deadlineMs },
    );
    if (!answer.ok) throw errorFromWire(answer.error);
    return answer.result;
  }

  private async query(body: QueryBody) {
    const answer = await this.db.query(null, body, { deadlineMs: this.deadlineMs });
    if (!answer.ok) throw errorFromWire(answer.error);
    return answer.result;
  }
}

function unexpected(what: string): Internal {
  return new Internal(`the DB answered ${what} with a result of another kind`);
}
