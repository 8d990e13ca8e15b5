/**
 * The roles of the cluster's certificates, and reading the role a certificate names: what
 * every daemon needs to authorize a peer. Issuing certificates is `base/pki.ts`'s, which
 * re-exports all of this.
 *
 * Apart because issuing needs @peculiar/x509, and reading a role does not: Node's own X.509
 * parser lists the subject alternative names. Every daemon imported the issuing module to
 * read roles, and with it 12.7 MB of resident memory it never used (measured: an idle Node
 * with @peculiar/x509 loaded, 19.7 MB private against 7.0 MB).
 */
import { X509Certificate } from 'node:crypto';

/**
 * What a daemon's certificate lets it do inside the cluster: every listener of ours reads the
 * role from the verified peer certificate and serves only what that role needs (the DB
 * service's table in `server/store/access.ts`, the `/metrics` readers, the Redis ACL users).
 * `db` is a DB member (Raft and forwarding), `redis` a redis-server (its replica link),
 * `operator` the operator's tools and the lab's scrapers.
 */
export const CLUSTER_ROLES = [
  'db',
  'redis',
  'gateway',
  'users',
  'groups',
  'supervisor',
  'vip-agent',
  'operator',
] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

/**
 * The role travels as a URI subject alternative name, `urn:agenda:role:<role>`. The SAN is
 * X.509's typed, multi-valued place for identities (RFC 5280 §4.2.1.6) and where workload
 * identity conventionally goes (SPIFFE puts its ids there too); a URI never takes part in
 * Node's hostname checks, which look at DNS and IP names only, and the common name stays
 * the instance's own name (`gateway-2`). A subject OU would work as well, but its meaning
 * is only a convention and Node hands it over as a flattened string.
 */
export const ROLE_URI_PREFIX = 'urn:agenda:role:';

/** How refusals name a caller: "the gateway role", or a certificate naming none. */
export function describeRole(role: ClusterRole | null): string {
  return role === null ? 'a certificate naming no role' : `the ${role} role`;
}

/** Whether `value` names a {@link ClusterRole}. */
export function isClusterRole(value: unknown): value is ClusterRole {
  return typeof value === 'string' && (CLUSTER_ROLES as readonly string[]).includes(value);
}

/**
 * The role a certificate (PEM or DER) names, or null when it names none, more than one, or
 * one this version does not know: a certificate that does not say clearly what it is for
 * is good for nothing but the handshake. The caller verifies the certificate first; this
 * only reads it.
 */
export function certificateRole(certificate: string | Uint8Array): ClusterRole | null {
  let names: string;
  try {
    names = new X509Certificate(certificate).subjectAltName ?? '';
  } catch {
    return null;
  }
  const roles = alternativeNames(names)
    .filter(({ type, value }) => type === 'URI' && value.startsWith(ROLE_URI_PREFIX))
    .map(({ value }) => value.slice(ROLE_URI_PREFIX.length));
  const [role, ...others] = roles;
  return others.length === 0 && isClusterRole(role) ? role : null;
}

/**
 * The names in Node's `subjectAltName` text: `type:value` items joined by ", ", a value that
 * holds a separator or a quote written as a JSON string (`DNS:"a, b"`). Read item by item —
 * not split on ", " — so that no part of one name can read as a name of its own.
 * Unreadable text yields what was read before it.
 */
export function alternativeNames(text: string): { type: string; value: string }[] {
  const names: { type: string; value: string }[] = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) break;
    const type = text.slice(at, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end++;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        break;
      }
    } else {
      const separator = text.indexOf(', ', colon);
      end = separator < 0 ? text.length : separator;
      value = text.slice(colon + 1, end);
    }
    names.push({ type, value });
    if (end < text.length && !text.startsWith(', ', end)) break;
    at = end + 2;
  }
  return names;
}
