/**
 * The system programs the lab and `npm start` run, and the Debian packages they come in.
 * Missing ones are installed with apt-get when we can (root, on Debian), all in one go;
 * otherwise the error names every missing program and the one command that installs them —
 * never the empty message of a program that was not there to run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface Prerequisite {
  /** The program as it is run (`ip`, `redis-server`), or a library's absolute path. */
  readonly program: string;
  /** The Debian package that has it. */
  readonly debianPackage: string;
  /** What it is for, in the error that says it is missing. */
  readonly why: string;
}

/** What `npm start` needs: Redis (built with TLS, as Debian's is). */
export const REDIS: Prerequisite = {
  program: 'redis-server',
  debianPackage: 'redis-server',
  why: 'the Redis primary and replica',
};

/**
 * The allocator the Node daemons run with (see `daemonEnvironment` in lab/runner.ts): jemalloc
 * gives memory back to the system after a burst, where glibc's malloc keeps it.
 */
export const JEMALLOC: Prerequisite = {
  program: `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`,
  debianPackage: 'libjemalloc2',
  why: "the daemons' memory allocator, which returns memory after a burst",
};

/** What the three-host lab needs besides Node (lab/README.md). */
export const LAB_PREREQUISITES: readonly Prerequisite[] = [
  { program: 'ip', debianPackage: 'iproute2', why: 'the hosts: namespaces, links, addresses' },
  { program: 'iptables', debianPackage: 'iptables', why: 'partitions and isolated hosts' },
  { program: 'arping', debianPackage: 'iputils-arping', why: 'announcing the VIP once it moved' },
  { program: 'sysctl', debianPackage: 'procps', why: 'the hosts’ network settings' },
  REDIS,
  JEMALLOC,
];

/** Where programs are looked for: the PATH, and the sbin directories a non-login root lacks. */
function searchPath(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...new Set([...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'])];
}

/** Whether `program` is on the search path. */
export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (isAbsolute(program)) return existsSync(program);
  return searchPath(env).some((dir) => existsSync(join(dir, program)));
}

/** The prerequisites whose program is not installed. */
export function missing(
  needed: readonly Prerequisite[],
  installed: (program: string) => boolean = onPath,
): Prerequisite[] {
  return needed.filter((p) => !installed(p.program));
}

export interface EnsureOptions {
  /** Progress lines. */
  readonly say: (line: string) => void;
  readonly installed?: (program: string) => boolean;
  /** Whether apt-get may be run here: root on a machine that has it. */
  readonly canInstall?: boolean;
  /** Installs Debian packages (apt-get by default). */
  readonly install?: (packages: readonly string[]) => void;
}

export class MissingPrerequisites extends Error {
  readonly code = 'missing_prerequisites';
}

/**
 * Makes sure every program in `needed` is installed: installs what is missing (one apt-get
 * for all) when allowed, and otherwise throws {@link MissingPrerequisites} naming each
 * missing program, what it is for, and the command that installs them.
 */
export function ensurePrerequisites(needed: readonly Prerequisite[], options: EnsureOptions): void {
  const installed = options.installed ?? onPath;
  const absent = missing(needed, installed);
  if (absent.length === 0) return;
  const packages = [...new Set(absent.map((p) => p.debianPackage))];
  const canInstall =
    options.canInstall ?? (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get'));
  if (canInstall) {
    options.say(
      `missing: ${absent.map((p) => p.program).join(', ')}; installing ${packages.join(' ')} with apt-get…`,
    );
    try {
      (options.install ?? aptInstall)(packages);
    } catch (err) {
      options.say(`apt-get failed: ${(err as Error).message}`);
    }
  }
  const still = missing(absent, installed);
  if (still.length === 0) return;
  const lines = still.map((p) => `  ${p.program} (Debian package ${p.debianPackage}): ${p.why}`);
  const stillPackages = [...new Set(still.map((p) => p.debianPackage))];
  throw new MissingPrerequisites(
    `these programs are not installed:\n${lines.join('\n')}\n` +
      `On Debian: sudo apt-get install -y ${stillPackages.join(' ')}`,
  );
}

function aptInstall(packages: readonly string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
}
