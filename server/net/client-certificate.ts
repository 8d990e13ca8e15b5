/**
 * Who a TLS client is: whether it proved a certificate from the cluster CA (the one rule every
 * listener of ours applies first), and which role that certificate names (what the listener
 * then lets it do: the DB's table in `server/store/access.ts`, the `/metrics` readers).
 */
import type { X509Certificate } from 'node:crypto';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { certificateRole, describeRole, type ClusterRole } from '../../base/cluster-role.js';

/**
 * True when the peer's certificate was verified against the listener's CA. `authorized`
 * alone is not proof: Node counts a resumed TLS 1.3 session without any client certificate
 * as authorized (it cannot tell it from a PSK), so a client could resume its own anonymous
 * session and be served as an operator. The session must also carry the certificate that
 * was verified.
 */
export function presentsClusterCertificate(socket: TLSSocket): boolean {
  let presents = presentedBySocket.get(socket);
  if (presents === undefined) {
    presents = socket.authorized && socket.getPeerX509Certificate() !== undefined;
    presentedBySocket.set(socket, presents);
  }
  return presents;
}

/**
 * {@link presentsClusterCertificate}, per connection: asked on every request, and each ask
 * built the peer's certificate object anew (1 % of a DB leader's busy time at rest). A
 * connection's peer and its verdict never change after the handshake: TLS 1.3, which every
 * listener of ours requires, has no renegotiation.
 */
const presentedBySocket = new WeakMap<TLSSocket, boolean>();

/**
 * The roles served what only operators see: every daemon's `/metrics`, the DB members'
 * status and membership. The lab's scrapers (benchmarks, chaos) read with the operator's
 * certificate too; a Prometheus of one's own would be given an operator certificate.
 */
export const OPERATOR_ROLES: readonly ClusterRole[] = ['operator'];

/** Roles already read, per connection: a certificate is looked up once, not per request. */
const rolesBySocket = new WeakMap<TLSSocket, ClusterRole | null>();

/**
 * Roles already read, by certificate fingerprint. Reading a role parses the certificate's
 * extensions in JavaScript (a few milliseconds on a loaded machine), and connections come
 * and go: a DB leader serving the VIP agents' 120 ms probes and a failover's reconnecting
 * clients spent a fifth of its event loop parsing the same twenty certificates again. A
 * cluster has a few dozen certificates; the bound only keeps a stream of distinct ones
 * (renewals, a misbehaving issuer) from growing the cache without end.
 */
const rolesByFingerprint = new Map<string, ClusterRole | null>();
const MAX_REMEMBERED_CERTIFICATES = 1_024;

/**
 * The role named by the peer's verified cluster certificate, or null when the peer proved
 * no cluster certificate or its certificate names no (single, known) role.
 */
export function peerRole(socket: TLSSocket): ClusterRole | null {
  if (!presentsClusterCertificate(socket)) return null;
  const known = rolesBySocket.get(socket);
  if (known !== undefined) return known;
  const certificate = socket.getPeerX509Certificate();
  const role = certificate === undefined ? null : roleOf(certificate);
  rolesBySocket.set(socket, role);
  return role;
}

function roleOf(certificate: Pick<X509Certificate, 'fingerprint256' | 'raw'>): ClusterRole | null {
  // SHA-256 over the whole certificate, computed natively: two certificates with the same
  // fingerprint are the same certificate, role included.
  const fingerprint = certificate.fingerprint256;
  const remembered = rolesByFingerprint.get(fingerprint);
  if (remembered !== undefined) return remembered;
  const role = certificateRole(certificate.raw);
  if (rolesByFingerprint.size >= MAX_REMEMBERED_CERTIFICATES) rolesByFingerprint.clear();
  rolesByFingerprint.set(fingerprint, role);
  return role;
}

/**
 * A TLS client's `checkServerIdentity` that also requires the server's certificate to name
 * `role`. The CA check alone takes any cluster certificate: a users service's key, say, and
 * an address written into the registry's `redis/primary` (which the operator and the
 * supervisors may write) made a fake Redis that gateways logged in to, password and all.
 */
export function serverWithRole(
  role: ClusterRole,
): (host: string, certificate: PeerCertificate) => Error | undefined {
  return (host, certificate) => {
    const mismatch = checkServerIdentity(host, certificate);
    if (mismatch !== undefined) return mismatch;
    const named = roleOf(certificate);
    return named === role
      ? undefined
      : new Error(
          `the server at ${host} holds a certificate for ${describeRole(named)}, not ${describeRole(role)}`,
        );
  };
}
