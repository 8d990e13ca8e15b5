/**
 * The DB service's side of the members' operator API (`contract/membership.ts` declares the
 * routes, the answers and the rules): the view the leader builds from its Raft status, and
 * the parsing of ids and bodies.
 */
import type { NodeId } from '../../raft/core/types.js';
import type { MemberAddress, NodeStatus } from '../../raft/runtime/raft-node.js';
import { formatMemberAddress, parseMemberAddress } from '../../raft/runtime/raft-node.js';
import {
  CAUGHT_UP_LAG,
  MAX_MEMBER_ID,
  type MemberView,
  type MembershipView,
} from '../../contract/membership.js';

export {
  CAUGHT_UP_LAG,
  MAX_MEMBER_ID,
  MEMBERS_PATH,
  promotionProblem,
  quorum,
  removalProblem,
} from '../../contract/membership.js';
export type {
  MemberView,
  MembershipChangeResult,
  MembershipView,
} from '../../contract/membership.js';

/** How the leader judges liveness: ticks per election timeout and milliseconds per tick. */
export interface LeaderTiming {
  readonly electionTicks: number;
  readonly tickMs: number;
}

/** The membership as the leader `status` sees it; `addressOf` knows members' addresses. */
export function membershipView(
  status: NodeStatus,
  addressOf: (id: NodeId) => MemberAddress | undefined,
  timing: LeaderTiming,
): MembershipView {
  const address = (id: NodeId) => {
    const a = addressOf(id);
    return a ? formatMemberAddress(a) : null;
  };
  const ids = [...status.conf.voters, ...status.conf.learners].sort((a, b) => a - b);
  const members = ids.map((id): MemberView => {
    const role = status.conf.voters.includes(id) ? 'voter' : 'learner';
    if (id === status.id) {
      return {
        id,
        address: address(id),
        role,
        leader: true,
        match: status.lastIndex,
        lag: 0,
        caughtUp: true,
        lastContactMs: 0,
        reachable: true,
        replication: 'self',
      };
    }
    const peer = status.peers.find((p) => p.id === id);
    const match = peer?.match ?? 0;
    const lag = Math.max(0, status.lastIndex - match);
    const ticks = peer?.ticksSinceContact ?? Number.POSITIVE_INFINITY;
    return {
      id,
      address: address(id),
      role,
      leader: false,
      match,
      lag,
      caughtUp: lag <= CAUGHT_UP_LAG,
      lastContactMs: Number.isFinite(ticks) ? ticks * timing.tickMs : null,
      reachable: ticks < timing.electionTicks,
      replication: peer?.state ?? 'probe',
    };
  });
  return {
    leader: status.id,
    term: status.term,
    commit: status.commit,
    lastIndex: status.lastIndex,
    applied: status.applied,
    members,
  };
}

/** A member id from a path or body: an integer from 1 to {@link MAX_MEMBER_ID}, else null. */
export function parseMemberId(value: unknown): NodeId | null {
  const n = typeof value === 'string' && /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n <= MAX_MEMBER_ID ? n : null;
}

/** The body of an add: `{"id": n}` or `{"id": n, "address": "raftHost:port,apiHost:port"}`. */
export type AddLearnerBody = { readonly id: NodeId; readonly address?: string };

/** Validates an add's body; returns the reason it is malformed instead when it is. */
export function parseAddLearnerBody(body: unknown): AddLearnerBody | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'the body must be {"id": <member id>, "address"?: "raftHost:port,apiHost:port"}';
  }
  const { id, address, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field ${JSON.stringify(extra[0])}`;
  const parsedId = parseMemberId(id);
  if (parsedId === null) return `id must be an integer from 1 to ${MAX_MEMBER_ID}`;
  if (address === undefined) return { id: parsedId };
  if (typeof address !== 'string' || !isMemberAddress(address)) {
    return 'address must be "raftHost:port,apiHost:port" (the member\'s Raft and API addresses)';
  }
  return { id: parsedId, address };
}

function isMemberAddress(s: string): boolean {
  // A space would reach the resolver (" 127.0.0.1" is no host) and be retried for ever.
  if (/\s/.test(s)) return false;
  const parsed = parseMemberAddress(s);
  return parsed !== null && parsed.client !== undefined && s.split(',').length === 2;
}
