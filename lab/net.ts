/**
 * The lab's network: hosts as Linux network namespaces on one bridge, and the faults injected
 * into it. Each host namespace gets a veth pair (`eth0` inside, a port of the bridge outside)
 * and loopback; the bridge has an address in the root namespace, so the operator reaches
 * every host. A client namespace may talk to the allowed addresses (the VIP) and nothing
 * else.
 *
 * Faults live in two iptables chains of each host's own namespace (`AGENDA-IN` on INPUT,
 * `AGENDA-OUT` on OUTPUT), every rule tagged with a comment, so {@link LabNetwork.heal} is
 * exact (flush both chains) and {@link LabNetwork.faults} reads the truth from the kernel
 * rather than from memory. Every operation is idempotent, and {@link LabNetwork.down} removes
 * whatever exists of the network, however far an earlier `up` got.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface NetworkHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** The bridge side of the host's veth pair (at most 15 characters). */
  readonly veth: string;
}

export interface NetworkSpec {
  readonly bridge: string;
  readonly bridgeAddress: string;
  readonly prefixLength: number;
  /** The system's hosts: the ones faults apply to. */
  readonly hosts: readonly NetworkHost[];
  /** The client namespace, and the only addresses it may talk to. */
  readonly client: NetworkHost & { readonly allowed: readonly string[] };
}

/** A fault as the kernel shows it. Partitions name their two hosts in sorted order. */
export type NetworkFault =
  | { readonly kind: 'partition'; readonly hosts: readonly [string, string] }
  | { readonly kind: 'isolate'; readonly host: string }
  | { readonly kind: 'link-down'; readonly host: string };

/** A command of the network layer failed; the message has the command and its error output. */
export class NetworkCommandError extends Error {
  readonly code = 'network_command_failed';
}

const CHAIN_IN = 'AGENDA-IN';
const CHAIN_OUT = 'AGENDA-OUT';
const CLIENT_IN = 'AGENDA-CLIENT-IN';
const CLIENT_OUT = 'AGENDA-CLIENT-OUT';
const TAG = 'agenda';
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';

export class LabNetwork {
  constructor(readonly spec: NetworkSpec) {
    for (const name of [spec.bridge, ...this.all().map((h) => h.veth)]) {
      if (!INTERFACE_NAME.test(name)) throw new Error(`bad interface name ${JSON.stringify(name)}`);
    }
  }

  /** Creates whatever is missing: bridge, namespaces, veth pairs, addresses, chains. */
  async up(): Promise<void> {
    const { bridge } = this.spec;
    if (!(await this.linkExists(bridge))) await ip('link', 'add', bridge, 'type', 'bridge');
    await ip(
      'addr',
      'replace',
      `${this.spec.bridgeAddress}/${this.spec.prefixLength}`,
      'dev',
      bridge,
    );
    await ip('link', 'set', bridge, 'up');
    // With bridge netfilter on, bridged frames cross the root namespace's FORWARD chain, whose
    // policy may be DROP (Docker sets it): let the lab's own bridge through.
    if (bridgeNetfilterOn() && !(await iptables(null, '-C', ...this.forwardRule())).ok) {
      await mustIptables(null, '-I', ...this.forwardRule());
    }
    const namespaces = await listNamespaces();
    for (const host of this.all()) {
      if (!namespaces.has(host.namespace)) await ip('netns', 'add', host.namespace);
      // IPv4 only: nothing may slip past the IPv4 rules over IPv6.
      await run('ip', [
        'netns',
        'exec',
        host.namespace,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ]);
      await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      if (!(await this.linkExists(host.veth))) {
        await ip(
          'link',
          'add',
          host.veth,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          host.namespace,
        );
      }
      await ip('link', 'set', host.veth, 'master', bridge);
      await ip('link', 'set', host.veth, 'up');
      await ip(
        '-n',
        host.namespace,
        'addr',
        'replace',
        `${host.address}/${this.spec.prefixLength}`,
        'dev',
        'eth0',
      );
      await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
    }
    for (const host of this.spec.hosts) {
      await ensureChain(host.namespace, CHAIN_IN, 'INPUT');
      await ensureChain(host.namespace, CHAIN_OUT, 'OUTPUT');
    }
    const { client } = this.spec;
    await ensureChain(client.namespace, CLIENT_IN, 'INPUT');
    await ensureChain(client.namespace, CLIENT_OUT, 'OUTPUT');
    await mustIptables(client.namespace, '-F', CLIENT_IN);
    await mustIptables(client.namespace, '-F', CLIENT_OUT);
    await mustIptables(client.namespace, '-A', CLIENT_IN, '-i', 'lo', '-j', 'ACCEPT');
    await mustIptables(client.namespace, '-A', CLIENT_OUT, '-o', 'lo', '-j', 'ACCEPT');
    for (const allowed of client.allowed) {
      await mustIptables(client.namespace, '-A', CLIENT_IN, '-s', allowed, '-j', 'ACCEPT');
      await mustIptables(client.namespace, '-A', CLIENT_OUT, '-d', allowed, '-j', 'ACCEPT');
    }
    await mustIptables(client.namespace, '-A', CLIENT_IN, '-j', 'DROP');
    await mustIptables(client.namespace, '-A', CLIENT_OUT, '-j', 'DROP');
  }

  /**
   * Removes everything of the network that exists, after SIGKILLing every process still
   * inside a namespace (a namespace outlives its deletion while a process holds it).
   */
  async down(): Promise<void> {
    const namespaces = await listNamespaces();
    for (const host of this.all()) {
      if (!namespaces.has(host.namespace)) continue;
      await killAll(await this.pidsIn(host.name));
      await ip('netns', 'del', host.namespace);
    }
    // A deleted namespace takes its veth pairs along, but asynchronously: delete what is left
    // and wait until it is really gone.
    for (const name of [...this.all().map((h) => h.veth), this.spec.bridge]) {
      const deadline = Date.now() + 5_000;
      while (await this.linkExists(name)) {
        const r = await run('ip', ['link', 'del', name], { allowFailure: true });
        if (!r.ok && Date.now() > deadline) {
          throw new NetworkCommandError(`ip link del ${name}: ${r.stderr.trim()}`);
        }
        if (!r.ok) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    while ((await iptables(null, '-C', ...this.forwardRule())).ok) {
      await mustIptables(null, '-D', ...this.forwardRule());
    }
  }

  /** Whether any part of the network exists (bridge or a namespace). */
  async exists(): Promise<boolean> {
    const namespaces = await listNamespaces();
    return (
      (await this.linkExists(this.spec.bridge)) ||
      this.all().some((h) => namespaces.has(h.namespace))
    );
  }

  /** Traffic between `a` and `b` is dropped both ways, inside both namespaces. */
  async partition(a: string, b: string): Promise<void> {
    const [x, y] = [this.host(a), this.host(b)];
    if (x === y) throw new Error(`cannot partition ${a} from itself`);
    for (const [self, other] of [
      [x, y],
      [y, x],
    ] as const) {
      const tag = ['-m', 'comment', '--comment', `${TAG}:partition:${other.name}`, '-j', 'DROP'];
      await ensureRule(self.namespace, CHAIN_IN, '-s', other.address, ...tag);
      await ensureRule(self.namespace, CHAIN_OUT, '-d', other.address, ...tag);
    }
  }

  /**
   * The host reaches nobody and nobody reaches it: every packet but loopback is dropped, and
   * it stops answering ARP, so neighbours cannot even resolve it (a cut cable, not a firewall).
   */
  async isolate(name: string): Promise<void> {
    const h = this.host(name);
    const tag = ['-m', 'comment', '--comment', `${TAG}:isolate`, '-j', 'DROP'];
    await ensureRule(h.namespace, CHAIN_IN, '!', '-i', 'lo', ...tag);
    await ensureRule(h.namespace, CHAIN_OUT, '!', '-o', 'lo', ...tag);
    await ip('-n', h.namespace, 'link', 'set', 'eth0', 'arp', 'off');
  }

  /** Takes the host's link down (a crash, as the network sees it). */
  async linkDown(name: string): Promise<void> {
    await ip('link', 'set', this.host(name).veth, 'down');
  }

  async linkUp(name: string): Promise<void> {
    await ip('link', 'set', this.host(name).veth, 'up');
  }

  /** Removes every fault rule, turns ARP back on and brings every link up. */
  async heal(): Promise<void> {
    for (const h of this.spec.hosts) {
      await mustIptables(h.namespace, '-F', CHAIN_IN);
      await mustIptables(h.namespace, '-F', CHAIN_OUT);
      await ip('-n', h.namespace, 'link', 'set', 'eth0', 'arp', 'on');
      await ip('link', 'set', h.veth, 'up');
    }
  }

  /** The faults in place, read from the kernel. */
  async faults(): Promise<NetworkFault[]> {
    const faults: NetworkFault[] = [];
    const pairs = new Set<string>();
    for (const h of this.spec.hosts) {
      const rules = await iptables(h.namespace, '-S', CHAIN_IN);
      const tags = [...rules.stdout.matchAll(/--comment "?agenda:([A-Za-z0-9:_.-]+)"?/g)];
      for (const [, tag = ''] of tags) {
        const [kind, other] = tag.split(':');
        if (kind === 'isolate') faults.push({ kind: 'isolate', host: h.name });
        if (kind === 'partition' && other) {
          const sorted = [h.name, other].sort() as [string, string];
          if (!pairs.has(sorted.join(' '))) {
            pairs.add(sorted.join(' '));
            faults.push({ kind: 'partition', hosts: sorted });
          }
        }
      }
      if ((await this.linkExists(h.veth)) && !(await this.linkIsUp(h.veth))) {
        faults.push({ kind: 'link-down', host: h.name });
      }
    }
    return faults;
  }

  /** Every process in the host's namespace (the client's too). */
  async pidsIn(name: string): Promise<number[]> {
    const h = this.all().find((x) => x.name === name);
    if (!h) throw new Error(`no host named ${name}`);
    const r = await run('ip', ['netns', 'pids', h.namespace], { allowFailure: true });
    return r.stdout
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  /** Removes an address from the host's `eth0` if it is there (a reboot forgets it). */
  async removeAddress(name: string, address: string): Promise<void> {
    const h = this.host(name);
    await run(
      'ip',
      ['-n', h.namespace, 'addr', 'del', `${address}/${this.spec.prefixLength}`, 'dev', 'eth0'],
      {
        allowFailure: true,
      },
    );
  }

  /** The argv prefix that runs a command inside the host's (or the client's) namespace. */
  exec(name: string): string[] {
    const h = this.all().find((x) => x.name === name);
    if (!h) throw new Error(`no host named ${name}`);
    return ['ip', 'netns', 'exec', h.namespace];
  }

  private host(name: string): NetworkHost {
    const h = this.spec.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host named ${name}`);
    return h;
  }

  private all(): NetworkHost[] {
    return [...this.spec.hosts, this.spec.client];
  }

  private forwardRule(): string[] {
    const { bridge } = this.spec;
    return [
      'FORWARD',
      '-i',
      bridge,
      '-o',
      bridge,
      '-m',
      'comment',
      '--comment',
      `${TAG}:lab`,
      '-j',
      'ACCEPT',
    ];
  }

  private async linkExists(name: string): Promise<boolean> {
    return (await run('ip', ['link', 'show', 'dev', name], { allowFailure: true })).ok;
  }

  private async linkIsUp(name: string): Promise<boolean> {
    const r = await run('ip', ['-j', 'link', 'show', 'dev', name], { allowFailure: true });
    if (!r.ok) return false;
    const [link] = JSON.parse(r.stdout) as { flags?: string[] }[];
    return link?.flags?.includes('UP') ?? false;
  }
}

interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * No `ip` or `iptables` command may hang the controller: one that has not finished in this
 * long is killed and fails with its command line named.
 */
const COMMAND_TIMEOUT_MS = 30_000;
/** iptables waits this long for the xtables lock another iptables holds, then fails. */
const XTABLES_LOCK_WAIT_SECONDS = 20;

async function run(
  command: string,
  args: readonly string[],
  options: { allowFailure?: boolean } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], {
      encoding: 'utf8',
      timeout: COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string; killed?: boolean };
    const hung = e.killed ? `killed after ${COMMAND_TIMEOUT_MS / 1000} s without finishing` : '';
    const stderr = [e.stderr ?? '', hung].filter(Boolean).join('\n');
    if (options.allowFailure) return { ok: false, stdout: e.stdout ?? '', stderr };
    const reason = stderr.trim() || e.message;
    throw new NetworkCommandError(`${command} ${args.join(' ')}: ${reason}`, { cause: err });
  }
}

function ip(...args: string[]): Promise<RunResult> {
  return run('ip', args);
}

/** iptables in `namespace` (null: the root namespace); never throws. */
function iptables(namespace: string | null, ...args: string[]): Promise<RunResult> {
  const argv = ['iptables', '-w', String(XTABLES_LOCK_WAIT_SECONDS), ...args];
  return namespace === null
    ? run(argv[0] ?? 'iptables', argv.slice(1), { allowFailure: true })
    : run('ip', ['netns', 'exec', namespace, ...argv], { allowFailure: true });
}

async function mustIptables(namespace: string | null, ...args: string[]): Promise<void> {
  const r = await iptables(namespace, ...args);
  if (!r.ok) {
    throw new NetworkCommandError(
      `iptables ${args.join(' ')}${namespace ? ` in ${namespace}` : ''}: ${r.stderr.trim()}`,
    );
  }
}

/** Creates `chain` (if missing) and makes `hook` jump to it first thing (once). */
async function ensureChain(namespace: string, chain: string, hook: string): Promise<void> {
  if (!(await iptables(namespace, '-S', chain)).ok) await mustIptables(namespace, '-N', chain);
  if (!(await iptables(namespace, '-C', hook, '-j', chain)).ok) {
    await mustIptables(namespace, '-I', hook, '1', '-j', chain);
  }
}

async function ensureRule(namespace: string, chain: string, ...rule: string[]): Promise<void> {
  if (!(await iptables(namespace, '-C', chain, ...rule)).ok) {
    await mustIptables(namespace, '-A', chain, ...rule);
  }
}

async function listNamespaces(): Promise<Set<string>> {
  const r = await run('ip', ['netns', 'list']);
  return new Set(
    r.stdout
      .split('\n')
      .map((line) => line.trim().split(' ')[0] ?? '')
      .filter(Boolean),
  );
}

function bridgeNetfilterOn(): boolean {
  return existsSync(BRIDGE_NF) && readFileSync(BRIDGE_NF, 'utf8').trim() === '1';
}

/** SIGKILLs the processes and waits (up to 5 s) until they are gone. */
export async function killAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 5_000;
  while (
    pids.some((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid)) &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
