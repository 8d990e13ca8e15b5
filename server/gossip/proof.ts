/**
 * Who may say what about a member. The cluster key authenticates a datagram as coming from
 * *some* member, and every daemon holds it, so on its own it let any one of them (a VIP agent,
 * a supervisor, whoever stole one daemon's files) speak for all the others: declare a gateway
 * dead at incarnation 2^53 − 1, which its owner can never outbid, or move the users service
 * to an address of its choosing. SWIM's rules assume only a member raises its own
 * incarnation; this module makes that true.
 *
 * Every piece of news about a member carries a {@link MemberProof}: the member's cluster
 * certificate and its signature over its identity (id, role, address, metadata) and
 * incarnation. The member signs once per incarnation, when it raises it; whoever passes the
 * news on passes the proof along unchanged, and an accusation (suspect, dead) carries the
 * proof of the incarnation it accuses. So anyone can still *accuse* a member at the
 * incarnation it announced, which the member refutes as SWIM says, but nobody can name an
 * incarnation, an address or metadata the member did not sign. Leaving is the member's own
 * word too: `left` needs a proof signed for leaving, which only the member makes, as it
 * leaves (an accusation of having left is not refuted as promptly as one of death, and
 * forged ones kept a service "gone" for seconds at a time). The certificate must come
 * from the cluster CA, be valid now, name the member's role and have the member's id as its
 * common name; an observer (the dashboard) signs with the operator's certificate, under an
 * id of its choosing that must begin with {@link OBSERVER_ID_PREFIX}, so it can never speak
 * for a daemon.
 *
 * Verification is native (Node's X509Certificate and ECDSA) and remembered: a certificate
 * is read once, a signature checked once, both in bounded caches.
 */
import { X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ROLE_URI_PREFIX } from '../../base/cluster-role.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { GossipError } from './errors.js';
import type { MemberIdentity, MemberProof, MemberUpdate } from './types.js';
import { OBSERVER_ROLE } from './types.js';

/** Every observer's member id begins so; no daemon's does. */
export const OBSERVER_ID_PREFIX = 'observer-';

/**
 * What is signed: a fixed label (another one for leaving), then the member's identity and
 * incarnation, in order.
 */
export function proofPayload(
  identity: MemberIdentity,
  incarnation: number,
  leaving = false,
): Buffer {
  const meta = Object.keys(identity.meta)
    .sort()
    .map((key) => [key, identity.meta[key]]);
  return Buffer.from(
    JSON.stringify([
      leaving ? 'agenda-gossip-leave/1' : 'agenda-gossip-member/1',
      identity.id,
      identity.role,
      identity.address,
      meta,
      incarnation,
    ]),
    'utf8',
  );
}

/** The certificate role a member of gossip `role` must hold. */
function certificateRoleFor(role: string): string {
  return role === OBSERVER_ROLE ? 'operator' : role;
}

/** Signs this member's identity with its cluster certificate's key. */
export class MemberSigner {
  private readonly cert: string;
  private readonly key: KeyObject;

  /** Throws `invalid_config` when the certificate or key cannot be read. */
  constructor(tls: Pick<MutualTlsMaterial, 'cert' | 'key'>) {
    try {
      this.cert = new X509Certificate(tls.cert).raw.toString('base64');
      this.key = createPrivateKey(tls.key);
    } catch (error) {
      throw new GossipError(
        'invalid_config',
        `gossip: cannot read this member's certificate or key: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** The proof that `identity` is at `incarnation` (and, `leaving`, leaves the cluster). */
  prove(identity: MemberIdentity, incarnation: number, leaving = false): MemberProof {
    const signature = sign('sha256', proofPayload(identity, incarnation, leaving), {
      key: this.key,
      dsaEncoding: 'ieee-p1363',
    });
    return { cert: this.cert, sig: signature.toString('base64') };
  }
}

/** A certificate as verification needs it, read once. */
interface ReadCertificate {
  readonly publicKey: KeyObject;
  readonly commonName: string | null;
  readonly role: string | null;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Each cache is cleared when it reaches this size; a cluster has a few dozen members. */
const MAX_REMEMBERED = 4_096;

/**
 * Signatures and certificates not seen before that one member checks per second for one
 * sender (a datagram's source address), at most. A cluster makes a few a second (a member
 * signs once per incarnation); a key holder sending datagrams full of made-up ones made each
 * cost 0.5 ms, a core's worth at 31 datagrams a second. Past a sender's budget its news goes
 * unchecked and is dropped; what is real is sent again. Per sender, so that one sender's junk
 * cannot use up the checks another's genuine refutation needs (an outside re-check showed
 * one datagram a second did, with a single budget).
 */
const FRESH_CHECKS_PER_SECOND = 50;
/** Senders whose budgets are remembered; past this many, all start afresh. */
const MAX_SENDERS = 1_024;

/** Checks proofs against the cluster CA. */
export class ProofVerifier {
  private readonly ca: X509Certificate;
  private readonly clock: () => number;
  /**
   * What was checked, by certificate (base64) or by signature and payload. The genuine and
   * the refused are kept apart: made-up proofs fill and empty only the second, so they can
   * never flush what is known good.
   */
  private readonly certificates = new Map<string, ReadCertificate>();
  private readonly refusedCertificates = new Set<string>();
  private readonly signatures = new Set<string>();
  private readonly refusedSignatures = new Set<string>();
  /** Per sender: what is left of this second's {@link FRESH_CHECKS_PER_SECOND}. */
  private readonly budgets = new Map<string, { left: number; refillAt: number }>();

  /** Throws `invalid_config` when `caPem` is not a certificate. */
  constructor(caPem: string | Buffer, clock: () => number = Date.now) {
    try {
      this.ca = new X509Certificate(caPem);
    } catch (error) {
      throw new GossipError(
        'invalid_config',
        `gossip: cannot read the cluster CA: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.clock = clock;
  }

  /**
   * Whether `update` carries a valid proof of its identity and incarnation; `sender` (the
   * datagram's source) pays for checks not made before. Never throws.
   */
  verify(update: MemberUpdate, sender = ''): boolean {
    const proof = update.proof;
    if (proof === undefined) return false;
    const certificate = this.read(proof.cert, sender);
    if (certificate === null) return false;
    const now = this.clock();
    if (now < certificate.notBefore || now > certificate.notAfter) return false;
    if (certificate.role !== certificateRoleFor(update.role)) return false;
    // Daemons are who their certificate says; an observer's id is its own, but marked as one.
    if (update.role === OBSERVER_ROLE) {
      if (!update.id.startsWith(OBSERVER_ID_PREFIX)) return false;
    } else if (certificate.commonName !== update.id) {
      return false;
    }
    const payload = proofPayload(update, update.incarnation, update.state === 'left');
    const key = `${proof.sig}|${proof.cert.length}|${payload.toString('utf8')}`;
    if (this.signatures.has(key)) return true;
    if (this.refusedSignatures.has(key) || !this.spend(sender, now)) return false;
    let valid = false;
    try {
      valid = verify(
        'sha256',
        payload,
        { key: certificate.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(proof.sig, 'base64'),
      );
    } catch {
      valid = false;
    }
    remember(valid ? this.signatures : this.refusedSignatures, key);
    return valid;
  }

  /** Takes one fresh check from `sender`'s budget; false when this second's is spent. */
  private spend(sender: string, now: number): boolean {
    let budget = this.budgets.get(sender);
    if (budget === undefined || now >= budget.refillAt) {
      if (budget === undefined && this.budgets.size >= MAX_SENDERS) this.budgets.clear();
      budget = { left: FRESH_CHECKS_PER_SECOND, refillAt: now + 1_000 };
      this.budgets.set(sender, budget);
    }
    if (budget.left <= 0) return false;
    budget.left--;
    return true;
  }

  private read(cert: string, sender: string): ReadCertificate | null {
    const known = this.certificates.get(cert);
    if (known !== undefined) return known;
    if (this.refusedCertificates.has(cert)) return null;
    // Reading a certificate costs as much as a signature: the same budget, and nothing kept.
    if (!this.spend(sender, this.clock())) return null;
    let read: ReadCertificate | null = null;
    try {
      const certificate = new X509Certificate(Buffer.from(cert, 'base64'));
      if (certificate.checkIssued(this.ca) && certificate.verify(this.ca.publicKey)) {
        read = {
          publicKey: certificate.publicKey,
          commonName: /^CN=(.*)$/m.exec(certificate.subject)?.[1] ?? null,
          role: roleOf(certificate.subjectAltName),
          notBefore: Date.parse(certificate.validFrom),
          notAfter: Date.parse(certificate.validTo),
        };
      }
    } catch {
      read = null;
    }
    if (read === null) remember(this.refusedCertificates, cert);
    else if (this.certificates.size < MAX_REMEMBERED) this.certificates.set(cert, read);
    return read;
  }
}

/** The single role URI among the alternative names, as Node prints them; null otherwise. */
function roleOf(alternativeNames: string | undefined): string | null {
  const roles = (alternativeNames ?? '')
    .split(', ')
    .filter((name) => name.startsWith(`URI:${ROLE_URI_PREFIX}`))
    .map((name) => name.slice(`URI:${ROLE_URI_PREFIX}`.length));
  return roles.length === 1 ? (roles[0] ?? null) : null;
}

/** Adds `key` to `seen`, emptied first when full. */
function remember(seen: Set<string>, key: string): void {
  if (seen.size >= MAX_REMEMBERED) seen.clear();
  seen.add(key);
}
