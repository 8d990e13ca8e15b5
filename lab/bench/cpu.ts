/**
 * CPU time of the system's processes, read from /proc, for benchmarks that want to say where
 * the machine's time went ("the DB members spent 1.1 ms of CPU per event created").
 */
import { readFileSync } from 'node:fs';

/** Linux reports process times in USER_HZ ticks, 100 a second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU milliseconds a process has used, or undefined once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** The role of a process named like `db-3` or `gateway-1`: its name without the replica number. */
export function roleOf(name: string): string {
  return name.replace(/-\d+$/, '');
}

/**
 * Starts counting the CPU of `processes` (name → pid) and of this process (`client`);
 * the returned function gives the milliseconds each role used since, summed over replicas.
 */
export function startCpuCount(processes: ReadonlyMap<string, number>): () => Map<string, number> {
  const before = new Map<string, number>();
  for (const [name, pid] of processes) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) before.set(name, ms);
  }
  const client = process.cpuUsage();
  return () => {
    const used = new Map<string, number>();
    for (const [name, pid] of processes) {
      const start = before.get(name);
      const now = processCpuMs(pid);
      if (start === undefined || now === undefined) continue;
      const role = roleOf(name);
      used.set(role, (used.get(role) ?? 0) + now - start);
    }
    const self = process.cpuUsage(client);
    used.set('client', (self.user + self.system) / 1000);
    return used;
  };
}
