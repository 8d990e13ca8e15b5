/**
 * Where the bus learns which Redis instance is the primary. The bus does not care where the
 * answer comes from; it only relies on the fencing epoch: a larger epoch names a newer
 * primary, and an answer with a smaller epoch than one already seen is stale.
 */
import { z } from 'zod';
import { Unavailable } from '../../contract/errors.js';
import type { DbClient } from '../db/client.js';

/** The Redis primary as of one fencing epoch. */
export interface PrimaryAddress {
  readonly host: string;
  readonly port: number;
  /** Grows every time the primary is moved; never reused. */
  readonly epoch: number;
}

/** Tells the bus the current primary. Called often (every check interval): keep it cheap. */
export interface PrimarySource {
  /** The primary as currently recorded. Rejects when it cannot be known right now. */
  current(signal?: AbortSignal): Promise<PrimaryAddress>;
}

/** A primary given by hand (tests, single-machine setups); {@link set} moves it. */
export class StaticPrimarySource implements PrimarySource {
  private address: PrimaryAddress;

  constructor(address: PrimaryAddress) {
    this.address = address;
  }

  current(): Promise<PrimaryAddress> {
    return Promise.resolve(this.address);
  }

  /** Records a new primary, as a supervisor would after a failover (give it a larger epoch). */
  set(address: PrimaryAddress): void {
    this.address = address;
  }
}

/** The registry key under which the supervisor records the Redis primary. */
export const PRIMARY_REGISTRY_KEY = 'redis/primary';

/** The registry value of {@link PRIMARY_REGISTRY_KEY}: JSON `{"host":…,"port":…}`. */
export const PrimaryRegistryValue = z.object({
  host: z.string().min(1).max(255),
  port: z.int().min(1).max(65_535),
});
export type PrimaryRegistryValue = z.infer<typeof PrimaryRegistryValue>;

/** What {@link RegistryPrimarySource} needs of the DB client. */
export type RegistryReader = Pick<DbClient, 'query'>;

/**
 * The primary as recorded in the DB registry: key `redis/primary`, value JSON
 * `{"host":…,"port":…}`, and the registry entry's own epoch as the fencing epoch (the
 * supervisor writes the key with compare-and-set, so the epoch grows with each move).
 * Reads are linearizable: a gateway never acts on a primary older than one already recorded.
 */
export class RegistryPrimarySource implements PrimarySource {
  constructor(
    private readonly db: RegistryReader,
    private readonly key: string = PRIMARY_REGISTRY_KEY,
  ) {}

  async current(signal?: AbortSignal): Promise<PrimaryAddress> {
    const answer = await this.db.query(
      null,
      { type: 'registry.get', key: this.key },
      signal === undefined ? {} : { signal },
    );
    if (!answer.ok) {
      throw new Unavailable(
        `reading ${this.key} from the registry failed: ${answer.error.message}`,
      );
    }
    const entry = 'entry' in answer.result ? answer.result.entry : null;
    if (entry === null) throw new Unavailable(`no Redis primary is recorded under ${this.key}`);
    let value: unknown;
    try {
      value = JSON.parse(entry.value) as unknown;
    } catch (error) {
      throw new Unavailable(`the registry value of ${this.key} is not JSON`, { cause: error });
    }
    const parsed = PrimaryRegistryValue.safeParse(value);
    if (!parsed.success) {
      throw new Unavailable(`the registry value of ${this.key} is not {host, port}`, {
        cause: parsed.error,
      });
    }
    return { host: parsed.data.host, port: parsed.data.port, epoch: entry.epoch };
  }
}
