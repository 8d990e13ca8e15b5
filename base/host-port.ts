/**
 * TCP endpoints as configs and membership changes write them (`host:port`). On the ground
 * floor because every daemon's config, the Raft member addresses and the operator tools
 * parse them the same way.
 */

/** A TCP endpoint. */
export interface NetAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `host:port` (the last colon splits, so an IPv6 host may contain colons), or null when the
 * port is not an integer in 1..65535 or the host is empty.
 */
export function parseHostPort(s: string): NetAddress | null {
  const at = s.lastIndexOf(':');
  if (at <= 0) return null;
  const port = Number(s.slice(at + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host: s.slice(0, at), port };
}
