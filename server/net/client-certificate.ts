/**
 * Whether a TLS client proved a certificate from the cluster CA: the one rule every listener
 * of ours applies before it serves an operator (the gateway's `/metrics`, the daemons'
 * metrics endpoints).
 */
import type { TLSSocket } from 'node:tls';

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
