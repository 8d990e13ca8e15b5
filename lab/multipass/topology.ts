/**
 * The three-host lab on real VMs (Multipass): the very placement of `lab/topology.ts` — the
 * same processes on `vm1`, `vm2` and the witness `vm3`, the same ports — with the addresses
 * the VMs were given and a VIP on their shared network. `up.sh` discovers the addresses and
 * writes them to `site.json` in the data directory; every VM builds the same plan from it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonConfig } from '../../base/config-file.js';
import { DataLayout } from '../layout.js';
import { describeTopology } from '../observer/topology.js';
import { writeClusterDescription } from '../../ops/description.js';
import { descriptionFile } from '../../ops/open.js';
import type { Topology } from '../plan.js';
import { preparePlan } from '../runner.js';
import { LAB_TOPOLOGY } from '../topology.js';

const ipv4 = z.ipv4();

/** What differs between one set of VMs and another. */
export const MultipassSiteSchema = z.strictObject({
  /** Each VM's address on the network Multipass gave them. */
  hosts: z.strictObject({ vm1: ipv4, vm2: ipv4, vm3: ipv4 }),
  /** A free address of that network for the gateways' virtual IP. */
  vip: ipv4,
  prefixLength: z.int().min(1).max(32),
  /** The VMs' interface on that network (the same name on vm1 and vm2, e.g. `ens3`). */
  device: z
    .string()
    .min(1)
    .max(15)
    .regex(/^[A-Za-z0-9_.@-]+$/, 'an interface name'),
  /**
   * The address of the machine the operator watches from (the VM host, on that network): the
   * dashboard's gossip socket binds there.
   */
  observerAddress: ipv4,
});
export type MultipassSite = z.infer<typeof MultipassSiteSchema>;

/** The lab's topology with the VMs' addresses and their VIP. */
export function multipassTopology(site: MultipassSite): Topology {
  const vip = LAB_TOPOLOGY.vip;
  if (!vip) throw new Error('the lab topology has no VIP');
  return {
    ...LAB_TOPOLOGY,
    hosts: LAB_TOPOLOGY.hosts.map((h) => {
      const address = (site.hosts as Partial<Record<string, string>>)[h.name];
      if (address === undefined) throw new Error(`the site gives no address for ${h.name}`);
      return { name: h.name, address };
    }),
    vip: { ...vip, address: site.vip, prefixLength: site.prefixLength, device: site.device },
  };
}

export function siteFile(dataDir: string): string {
  return join(dataDir, 'site.json');
}

export function writeSite(dataDir: string, site: MultipassSite): void {
  writeFileSync(siteFile(dataDir), `${JSON.stringify(MultipassSiteSchema.parse(site), null, 2)}\n`);
}

/** Reads `site.json`; throws an Error naming the file and what is wrong with it. */
export function readSite(dataDir: string): MultipassSite {
  return readJsonConfig(siteFile(dataDir), MultipassSiteSchema);
}

/**
 * Writes everything the VMs and the operator need under `dataDir`: `site.json`, the lab CA,
 * every certificate and key, every process's config, and `observer.json` (the dashboard's
 * description, paths relative to it). Throws an Error saying what is wrong with `site`.
 */
export async function prepareSite(dataDir: string, site: unknown): Promise<void> {
  const parsed = MultipassSiteSchema.safeParse(site);
  if (!parsed.success) throw new Error(`invalid site: ${z.prettifyError(parsed.error)}`);
  const layout = new DataLayout(dataDir);
  const topology = multipassTopology(parsed.data);
  await preparePlan(topology, layout);
  writeSite(dataDir, parsed.data);
  writeClusterDescription(
    observerFile(dataDir),
    describeTopology(topology, layout, {
      name: 'multipass',
      observerAddress: parsed.data.observerAddress,
    }),
  );
}

/** The dashboard's description of the VMs: `agenda dashboard --topology <this file>`. */
export function observerFile(dataDir: string): string {
  return descriptionFile(dataDir);
}
