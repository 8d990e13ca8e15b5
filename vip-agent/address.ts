/**
 * Putting the virtual IP on this host and taking it off, with the OS's own commands:
 * `ip addr add|del` (iproute2) and a gratuitous ARP with `arping -U` (iputils) so switches
 * and neighbours learn the address moved at once instead of when their ARP entries age out.
 *
 * Every command has a timeout: the agent's fail-safe (drop the VIP before the lease can pass
 * to the peer) is only as prompt as `ip addr del`. Adding an address already there and
 * removing one already gone both succeed — after a failed command, the address's actual
 * presence is read back and decides — so the agent can repeat any step after a crash or a
 * timeout. The announcement is best effort: it is logged when it fails, never fatal, because
 * the address works without it (neighbours just learn it later).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

/** The virtual address and where it lives. */
export interface VipAddress {
  readonly address: string;
  readonly prefixLength: number;
  readonly device: string;
}

/** What the agent does to the VIP on this host; one instance per VIP. */
export interface AddressControl {
  /** Whether the VIP is on the device now. Rejects when that cannot be found out. */
  isConfigured(): Promise<boolean>;
  /** Puts the VIP on the device; resolves once it is there (also if it already was). */
  add(): Promise<void>;
  /** Takes the VIP off the device; resolves once it is gone (also if it already was). */
  remove(): Promise<void>;
  /**
   * Tells the neighbours the VIP is here now (gratuitous ARP). `signal` stops it: an
   * announcement must never outlive the address, or it would point the neighbours back here
   * after the peer has claimed the VIP.
   */
  announce(signal?: AbortSignal): Promise<void>;
}

export interface IpAddressControlOptions {
  /** Limit for `ip` commands. Default 1 s. */
  readonly timeoutMs?: number;
  /** Limit for `arping` (two probes a second apart). Default 5 s. */
  readonly announceTimeoutMs?: number;
  /**
   * Run every command behind this prefix, e.g. `['ip', 'netns', 'exec', 'lab-vm1']` to act
   * inside a network namespace. Default none.
   */
  readonly commandPrefix?: readonly string[];
}

/** A command that failed: what it was and what it said. */
export class AddressCommandError extends Error {
  override readonly name = 'AddressCommandError';

  constructor(
    readonly command: readonly string[],
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${command.join(' ')}: ${detail}`, options);
  }
}

/** {@link AddressControl} with iproute2 and iputils' arping. */
export class IpAddressControl implements AddressControl {
  private readonly timeoutMs: number;
  private readonly announceTimeoutMs: number;
  private readonly prefix: readonly string[];

  constructor(
    readonly vip: VipAddress,
    options: IpAddressControlOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.announceTimeoutMs = options.announceTimeoutMs ?? 5_000;
    this.prefix = options.commandPrefix ?? [];
  }

  /**
   * Asked every check (ten times a second): read from the kernel in-process when the device is
   * up in this process's own namespace, which costs microseconds. Spawning `ip` each time cost
   * each agent a sixth of a core, on a machine whose every process needs its share to keep
   * its timing. A device that is down or absent is not listed there (libuv lists running
   * interfaces only), so then, and behind a command prefix, `ip` tells.
   */
  async isConfigured(): Promise<boolean> {
    if (this.prefix.length === 0) {
      const listed = networkInterfaces()[this.vip.device];
      if (listed !== undefined && listed.length > 0) {
        return listed.some(
          (entry) => entry.family === 'IPv4' && entry.address === this.vip.address,
        );
      }
    }
    const output = await this.run(['ip', '-o', '-4', 'addr', 'show', 'dev', this.vip.device]);
    return configuredAddresses(output).includes(this.vip.address);
  }

  async add(): Promise<void> {
    await this.settle(['ip', 'addr', 'add', this.cidr(), 'dev', this.vip.device], true);
  }

  async remove(): Promise<void> {
    await this.settle(['ip', 'addr', 'del', this.cidr(), 'dev', this.vip.device], false);
  }

  async announce(signal?: AbortSignal): Promise<void> {
    const { device, address } = this.vip;
    const command = ['arping', '-U', '-c', '2', '-I', device, address];
    await this.run(command, this.announceTimeoutMs, signal);
  }

  private cidr(): string {
    return `${this.vip.address}/${this.vip.prefixLength}`;
  }

  /** Runs a change; if it fails, succeeds anyway when the address is where it should be. */
  private async settle(command: readonly string[], wanted: boolean): Promise<void> {
    try {
      await this.run(command);
    } catch (error) {
      // "Address already assigned" / "not found" (wording varies across iproute2 versions).
      if ((await this.isConfigured()) === wanted) return;
      throw error;
    }
  }

  private run(
    command: readonly string[],
    timeoutMs = this.timeoutMs,
    signal?: AbortSignal,
  ): Promise<string> {
    const argv = [...this.prefix, ...command];
    const [file, ...args] = argv as [string, ...string[]];
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          encoding: 'utf8',
          ...(signal === undefined ? {} : { signal }),
        },
        (error, stdout, stderr) => {
          if (error === null) return resolve(stdout);
          const detail =
            signal?.aborted === true
              ? 'stopped'
              : error.killed
                ? `no answer within ${timeoutMs} ms`
                : stderr.trim() || error.message;
          reject(new AddressCommandError(argv, detail, { cause: error }));
        },
      );
    });
  }
}

/**
 * The IPv4 addresses in `ip -o -4 addr show` output, one line per address:
 * `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\ ...`.
 */
export function configuredAddresses(output: string): string[] {
  const addresses: string[] = [];
  for (const line of output.split('\n')) {
    const match = /\sinet\s+([0-9.]+)\/\d+/.exec(line);
    if (match?.[1] !== undefined) addresses.push(match[1]);
  }
  return addresses;
}

/** CAP_NET_ADMIN's bit in the capability sets of /proc/<pid>/status. */
const CAP_NET_ADMIN = 12n;

/**
 * Why this process could not manage `vip` on this host, one sentence per problem; empty when
 * it can: `ip` must run, the device must exist, and the process needs CAP_NET_ADMIN (root has
 * it) to add and remove addresses. `arping` is not required: announcing is best effort.
 */
export async function addressControlProblems(
  vip: VipAddress,
  options: IpAddressControlOptions = {},
): Promise<string[]> {
  const problems: string[] = [];
  try {
    await new IpAddressControl(vip, options).isConfigured();
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    problems.push(
      cause?.code === 'ENOENT'
        ? 'the `ip` command (iproute2) is not installed'
        : `cannot read the addresses of ${vip.device}: ${(error as Error).message}`,
    );
  }
  const capabilities = await effectiveCapabilities();
  if (capabilities !== null && (capabilities & (1n << CAP_NET_ADMIN)) === 0n) {
    problems.push(
      'this process lacks CAP_NET_ADMIN and cannot add or remove addresses: run it as root',
    );
  }
  return problems;
}

/** This process's effective capability set, or null where /proc does not say (not Linux). */
async function effectiveCapabilities(): Promise<bigint | null> {
  let status: string;
  try {
    status = await readFile('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match?.[1] === undefined ? null : BigInt(`0x${match[1]}`);
}
