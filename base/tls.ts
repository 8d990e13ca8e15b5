/**
 * The one TLS policy of every connection inside the cluster (Raft peers, DB clients, Redis,
 * metrics, the VIP agents' status): TLS 1.3 only, both sides present a certificate signed by
 * the cluster CA, and nothing else is trusted (not even the system roots).
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type {
  ConnectionOptions,
  PeerCertificate,
  SecureContext,
  TlsOptions,
  TLSSocket,
} from 'node:tls';
import type { NetAddress } from './host-port.js';

/** PEM material: the cluster CA, and this process's certificate and private key. */
export interface MutualTlsMaterial {
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/**
 * An unauthenticated peer may hold a half-open handshake only this long, so idle TCP
 * connections cannot pile up (Node's default is two minutes).
 */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/** Server options that require a client certificate from the cluster CA. */
export function mutualTlsServerOptions(material: MutualTlsMaterial): TlsOptions {
  return {
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
}

/**
 * The client side's credentials, parsed once: a dialer reuses it for every connection, and
 * unusable material (a key that does not match its certificate...) throws here, at
 * construction, instead of on some later redial.
 */
export function mutualTlsClientContext(material: MutualTlsMaterial): SecureContext {
  return tls.createSecureContext({
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    minVersion: 'TLSv1.3',
  });
}

/**
 * Client options for dialing `address`. The server's certificate must come from the cluster
 * CA and name `address.host` (a DNS name, or an IP address SAN when dialing an IP).
 */
export function mutualTlsClientOptions(
  context: SecureContext,
  address: NetAddress,
): ConnectionOptions {
  return {
    host: address.host,
    port: address.port,
    secureContext: context,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: true,
    // SNI must not carry an IP address (RFC 6066 §3).
    ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
  };
}

/** The common name of the authenticated certificate on the other end, if any. */
export function peerCommonName(socket: TLSSocket): string | null {
  const certificate: PeerCertificate | Record<string, never> = socket.getPeerCertificate();
  const commonName: unknown = 'subject' in certificate ? certificate.subject.CN : undefined;
  if (typeof commonName === 'string') {
    return commonName;
  }
  // Node reports a repeated attribute as an array; the last one is the most specific.
  if (Array.isArray(commonName)) {
    const last: unknown = commonName.at(-1);
    return typeof last === 'string' ? last : null;
  }
  return null;
}
