/**
 * `npm run lab -- status` for people: the hosts, every process by host with its pid and
 * state, and the faults in place. The same data is printed whole with `--json`.
 */
import type { NetworkFault } from './net.js';
import type { LabProcessStatus, LabStatus } from './protocol.js';

export function formatStatus(status: LabStatus): string[] {
  const lines = [
    `lab: ${status.phase}${status.startError ? ` (${status.startError})` : ''}` +
      ` — controller pid ${status.controllerPid}, data in ${status.dataDir}`,
    `VIP: ${status.vipUrl}   CA: ${status.caPath}`,
    '',
  ];
  for (const host of status.hosts) {
    lines.push(
      `${host.name}  ${host.address}  ${host.namespace}  link ${host.linkUp ? 'up' : 'DOWN'}`,
    );
    for (const p of status.processes.filter((x) => x.host === host.name)) {
      lines.push(`  ${p.name.padEnd(13)} ${describe(p)}`);
    }
  }
  lines.push('');
  lines.push(
    `faults: ${status.faults.length === 0 ? 'none' : status.faults.map(describeFault).join('; ')}`,
  );
  return lines;
}

function describe(p: LabProcessStatus): string {
  switch (p.state) {
    case 'running':
      return `running  pid ${p.pid ?? '?'}`;
    case 'paused':
      return `PAUSED   pid ${p.pid ?? '?'}`;
    case 'exited':
      return `EXITED   (${p.exitCode === null || p.exitCode === undefined ? 'killed by a signal' : `code ${p.exitCode}`})`;
    case 'starting':
      return 'starting';
    case 'not-started':
      return 'not started';
  }
}

export function describeFault(fault: NetworkFault): string {
  switch (fault.kind) {
    case 'partition':
      return `partition ${fault.hosts[0]} ${fault.hosts[1]}`;
    case 'isolate':
      return `isolate ${fault.host}`;
    case 'link-down':
      return `${fault.host} link down (crashed)`;
  }
}
