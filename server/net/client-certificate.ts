/**
 * Who a TLS client is: whether it proved a certificate from the cluster CA (the one rule every
 * listener of ours applies first), and which role that certificate names (what the listener
 * then lets it do: the DB's table in `server/store/access.ts`, the `/metrics` readers).
 */
import type { TLSSocket } from 'node:tls';
import { certificateRole, type ClusterRole } from '../../base/pki.js';

/**
 * True when the peer's certificate was verified against the listener's CA. `authorized`
 * alone is not proof: Node counts a resumed TLS 1.3 session without any client certificate
 * as authorized (it cannot tell it from a PSK), so a client could resume its own anonymous
 * session and be served as an operator. The session must also carry the certificate that
 * was verified.
 */
export function presentsClusterCertificate(socket: TLSSocket): boolean {
  return socket.authorized && socket.getPeerX509Certificate() !== undefined;
}

/**
 * The roles served what only operators see: every daemon's `/metrics`, the DB members'
 * status and membership. The lab's scrapers (benchmarks, chaos) read with the operator's
 * certificate too; a Prometheus of one's own would be given an operator certificate.
 */
export const OPERATOR_ROLES: readonly ClusterRole[] = ['operator'];

/** Roles already read, per connection: a certificate is parsed once, not per request. */
const rolesBySocket = new WeakMap<TLSSocket, ClusterRole | null>();

/**
 * The role named by the peer's verified cluster certificate, or null when the peer proved
 * no cluster certificate or its certificate names no (single, known) role.
 */
export function peerRole(socket: TLSSocket): ClusterRole | null {
  if (!presentsClusterCertificate(socket)) return null;
  const known = rolesBySocket.get(socket);
  if (known !== undefined) return known;
  const certificate = socket.getPeerX509Certificate();
  const role = certificate === undefined ? null : certificateRole(certificate.raw);
  rolesBySocket.set(socket, role);
  return role;
}
