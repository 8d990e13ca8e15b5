/**
 * How a daemon takes part in gossip: from the `gossip` section of its config file
 * ({@link GossipConfig}) to a started {@link GossipNode} that logs every membership change as a
 * JSON line. The daemons (services, gateways, supervisors, VIP agents) and the operator
 * dashboard all join through {@link joinGossip}, so a bad key file reads the same everywhere
 * and a member's timings follow from the one `periodMs` knob. Leaving is `node.close()`,
 * which announces the departure (`left`) before the socket closes: the daemons call it first
 * thing on SIGTERM, so gateways stop counting on a replica that is shutting down.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../../base/log.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import type { GossipConfig } from './config.js';
import { GossipError } from './errors.js';
import { GossipNode, parseAddress } from './node.js';
import { MemberSigner, OBSERVER_ID_PREFIX, ProofVerifier } from './proof.js';
import { OBSERVER_ROLE } from './types.js';
import type { SwimConfig } from './swim.js';
import type { MemberId, MemberIdentity, MemberRole, MembershipEvent } from './types.js';

/** The protocol period when the config says nothing: one probe a second, as SWIM suggests. */
export const DEFAULT_PERIOD_MS = 1000;

/** Shortest cluster key accepted, in bytes (the codec's minimum). */
export const MIN_KEY_BYTES = 16;

/** Who this member is; its gossip address comes from the config's `listen`. */
export interface GossipIdentity {
  /** Unique in the cluster: `users-1`, `gateway-2`, `supervisor-1`. */
  readonly id: MemberId;
  readonly role: MemberRole;
  /** Small facts for the others, e.g. a gateway's public URL. */
  readonly meta?: Readonly<Record<string, string>>;
}

/**
 * The cluster key in `file`: its bytes with surrounding whitespace removed, so a key written
 * with `echo` works. Throws `invalid_config` naming the file when it cannot be read or is
 * shorter than {@link MIN_KEY_BYTES}.
 */
export async function readGossipKey(file: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (error) {
    throw new GossipError(
      'invalid_config',
      `gossip: cannot read the key file ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const key = Buffer.from(raw.toString('latin1').trim(), 'latin1');
  if (key.length < MIN_KEY_BYTES) {
    throw new GossipError(
      'invalid_config',
      `gossip: the key file ${file} holds ${key.length} bytes; the cluster key needs at least ` +
        `${MIN_KEY_BYTES} (e.g. \`openssl rand -hex 32 > ${file}\`)`,
    );
  }
  return key;
}

/**
 * The protocol's timings for a period: the ack timeout and gossip interval keep the ratios of
 * the SWIM core's defaults (0.4 and 0.2 of the period), so one knob scales them all.
 */
export function protocolFor(
  periodMs: number = DEFAULT_PERIOD_MS,
): Pick<SwimConfig, 'protocolPeriodMs' | 'ackTimeoutMs' | 'gossipIntervalMs'> {
  return {
    protocolPeriodMs: periodMs,
    ackTimeoutMs: Math.max(1, Math.floor(periodMs * 0.4)),
    gossipIntervalMs: Math.max(1, Math.floor(periodMs / 5)),
  };
}

/**
 * The signer and verifier of a member's proofs (`proof.ts`), from its TLS material. Throws
 * `invalid_config` when the certificate could not prove `self` to the others: not from the
 * CA, or naming another member or role. Found at start, that is a clear error; found by the
 * others, it would be a member nobody ever hears of.
 */
export function memberProofs(
  self: MemberIdentity,
  tls: MutualTlsMaterial,
): { signer: MemberSigner; verifier: ProofVerifier } {
  const signer = new MemberSigner(tls);
  const verifier = new ProofVerifier(tls.ca);
  const proof = signer.prove(self, 0);
  if (!verifier.verify({ ...self, incarnation: 0, state: 'alive', proof })) {
    const observer = self.role === OBSERVER_ROLE;
    throw new GossipError(
      'invalid_config',
      `gossip: this member's certificate cannot vouch for ${self.id}: it must be issued by the ` +
        `cluster CA, be valid now, name the role ${observer ? 'operator' : self.role}` +
        (observer
          ? `, and an observer's id must begin with "${OBSERVER_ID_PREFIX}"`
          : ` and have ${self.id} as its common name`),
    );
  }
  return { signer, verifier };
}

/**
 * Joins the cluster described by `config` as `identity` and resolves with the started node.
 * `resolvePath` turns the config's `keyFile` into a path (relative to the config file, like
 * the TLS material: `Loaded.path`). `tls` is the member's cluster certificate, key and CA: it
 * signs this member's news and checks everyone else's (`proof.ts`). Membership changes are
 * logged on `logger` (suspicions and deaths as warnings). Throws a {@link GossipError}:
 * `invalid_config` for a missing or short key, a bad address or a certificate that cannot
 * vouch for `identity`, `listen_failed` when the UDP socket cannot be bound.
 */
export async function joinGossip(
  config: GossipConfig,
  resolvePath: (path: string) => string,
  identity: GossipIdentity,
  tls: MutualTlsMaterial,
  logger: Logger,
): Promise<GossipNode> {
  const keyPath = resolvePath(config.keyFile);
  const clusterKey = await readGossipKey(keyPath);
  const { mode } = await stat(keyPath);
  if ((mode & 0o077) !== 0) {
    logger.warn('the gossip key file is readable by others; chmod 600 it', {
      keyFile: keyPath,
      mode: (mode & 0o777).toString(8),
    });
  }
  parseAddress(config.listen);
  const self: MemberIdentity = {
    id: identity.id,
    role: identity.role,
    address: config.listen,
    meta: identity.meta ?? {},
  };
  const node = new GossipNode({
    self,
    seeds: config.seeds,
    clusterKey,
    proofs: memberProofs(self, tls),
    protocol: {
      ...protocolFor(config.periodMs),
      // Each life starts at the clock's seconds, above the incarnations its previous lives
      // signed (one refutation per second on average would be needed to outrun it): a
      // proof of leaving captured from an earlier life is then older than this one's news.
      initialIncarnation: Math.floor(Date.now() / 1000),
    },
  });
  node.on('change', (change) => logChange(logger, change));
  try {
    await node.start();
  } catch (error) {
    await node.close();
    throw new GossipError(
      'listen_failed',
      `gossip: cannot listen on ${config.listen}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  logger.info('joined gossip', {
    member: identity.id,
    role: identity.role,
    listen: config.listen,
    seeds: config.seeds,
  });
  return node;
}

/** One JSON line per change; forgetting a long-dead member is housekeeping (debug). */
function logChange(logger: Logger, change: MembershipEvent): void {
  const { member } = change;
  const fields = {
    change: change.kind,
    member: member.id,
    role: member.role,
    state: member.state,
    address: member.address,
    incarnation: member.incarnation,
  };
  const level =
    change.kind === 'suspect' || change.kind === 'dead'
      ? 'warn'
      : change.kind === 'removed'
        ? 'debug'
        : 'info';
  logger[level]('gossip membership changed', fields);
}
