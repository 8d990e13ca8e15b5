import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { hostPort, readJsonConfig } from '../../base/config-file.js';
import type { NodeId } from '../core/types.js';
import { parseHostPort } from '../../base/host-port.js';
import type { MemberAddress } from '../runtime/raft-node.js';

/** The file a Raft member process is started from. Paths are relative to the file. */
export const NodeConfigSchema = z
  .object({
    id: z.number().int().positive(),
    clusterId: z.string().min(1),
    dataDir: z.string().min(1),
    members: z.record(
      z.string().regex(/^[1-9][0-9]*$/, 'member ids are positive integers'),
      z.object({ raft: hostPort, client: hostPort.optional() }),
    ),
    tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }),
    join: z.boolean().default(false),
    tickMs: z.number().int().min(1).max(10_000).default(50),
    electionTicks: z.number().int().min(2).default(10),
    heartbeatTicks: z.number().int().min(1).default(1),
    snapshotEvery: z.number().int().min(0).default(50_000),
    /** Snapshot also once the log since the last one holds this many bytes (RaftHost's snapshotBytes). */
    snapshotBytes: z
      .number()
      .int()
      .min(0)
      .default(16 * 1024 * 1024),
    snapshotRetain: z.number().int().min(0).default(5_000),
    /** See RaftHost's followerApplyBatch: entries a follower batches before applying. */
    followerApplyBatch: z.number().int().min(0).max(100_000).default(64),
    /** Members' certificates are named `<prefix><id>`; only that certificate speaks for a member. */
    peerCertificatePrefix: z.string().min(1).default('member-'),
  })
  .strict();

export type NodeConfigFile = z.infer<typeof NodeConfigSchema>;

export interface LoadedNodeConfig {
  readonly file: NodeConfigFile;
  readonly members: Map<NodeId, MemberAddress>;
  readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  readonly dataDir: string;
}

/** Reads and validates a member's config; throws an Error whose message says what is wrong. */
export function loadNodeConfig(path: string): LoadedNodeConfig {
  const file = readJsonConfig(path, NodeConfigSchema);
  const base = dirname(resolve(path));
  const members = new Map<NodeId, MemberAddress>();
  for (const [id, m] of Object.entries(file.members)) {
    const raft = parseHostPort(m.raft);
    const client = m.client ? parseHostPort(m.client) : null;
    if (!raft) throw new Error(`member ${id}: bad raft address`);
    members.set(Number(id), client ? { raft, client } : { raft });
  }
  if (!members.has(file.id))
    throw new Error(`config ${path}: member ${file.id} is not listed in members`);
  const read = (p: string) => {
    try {
      return readFileSync(resolve(base, p));
    } catch (err) {
      throw new Error(`cannot read TLS file ${p}: ${(err as Error).message}`);
    }
  };
  return {
    file,
    members,
    tls: { ca: read(file.tls.ca), cert: read(file.tls.cert), key: read(file.tls.key) },
    dataDir: resolve(base, file.dataDir),
  };
}
