/**
 * The DB members' operator API, declared once: the routes, what they answer, and the rules
 * the leader applies before it proposes a change (which the operator's tools check first).
 * The DB service (`server/db/service.ts`) serves it, `ops/membership-client.ts` calls it,
 * and the CLI and the lab drive it.
 *
 * | route                                     | does                                   |
 * | ----------------------------------------- | -------------------------------------- |
 * | `GET /v1/cluster/members`                 | the {@link MembershipView}             |
 * | `POST /v1/cluster/members` `{id, address?}` | adds `id` as a learner               |
 * | `POST /v1/cluster/members/<id>/promote`   | makes the learner `id` a voter         |
 * | `DELETE /v1/cluster/members/<id>`         | removes `id` (voter or learner)        |
 *
 * Only the operator's certificate is served (403 otherwise). The leader answers; a follower
 * forwards once, as it does commands. A change resolves once the leader has applied it and
 * answers `{"result": {"changed": boolean, "members": MembershipView}}`; `changed: false`
 * means it was already so (adding a learner twice, promoting a voter), so a re-run is safe.
 *
 * Refusals (the body is the service's usual `{"error": {code, message}}`):
 * - 400 `invalid`: a malformed id, address or body; adding a member whose address nobody knows.
 * - 404 `not_found`: promoting or removing an id that is not in the cluster.
 * - 409 `conflict`: another change is not applied yet, or a new leader has not committed an
 *   entry of its term yet (both pass in a moment: retry); promoting a learner more than
 *   {@link CAUGHT_UP_LAG} entries behind; adding a voter as a learner; a removal that would
 *   leave fewer reachable voters than a quorum of the voters after it (see {@link removalProblem}).
 * - 503 `unavailable`: no leader, the outcome is not known in time (list the members to see),
 *   or leadership is being handed over because the leader itself is being removed: retry.
 */

/** A DB member's id: an integer from 1 to {@link MAX_MEMBER_ID} (the Raft library's NodeId). */
export type MemberId = number;

export const MEMBERS_PATH = '/v1/cluster/members';

/**
 * A learner at most this many entries behind the leader's last index counts as caught up
 * and may be promoted. Stricter than the Raft core's own bound (1,000): the new voter then
 * holds nearly everything a quorum holds the moment it starts counting towards one.
 */
export const CAUGHT_UP_LAG = 100;

/** One member as the leader sees it. */
export interface MemberView {
  readonly id: MemberId;
  /** `raftHost:port,apiHost:port` as the leader knows it; null when it knows none. */
  readonly address: string | null;
  readonly role: 'voter' | 'learner';
  readonly leader: boolean;
  /** The highest log index known to match the leader's (the leader: its last index). */
  readonly match: number;
  /** Entries the member is behind the leader's last index. */
  readonly lag: number;
  /** Within {@link CAUGHT_UP_LAG} entries of the leader. */
  readonly caughtUp: boolean;
  /** Milliseconds since the leader last heard from it (0: the leader; null: never). */
  readonly lastContactMs: number | null;
  /** Heard from within an election timeout: it counts towards a quorum now. */
  readonly reachable: boolean;
  /** How the leader replicates to it: `probe`, `replicate`, or `snapshot` (being sent one). */
  readonly replication: 'self' | 'probe' | 'replicate' | 'snapshot';
}

/** `GET /v1/cluster/members`: the configuration in force on the leader, now. */
export interface MembershipView {
  readonly leader: MemberId;
  readonly term: number;
  readonly commit: number;
  /** The leader's last log index: what "caught up" is measured against. */
  readonly lastIndex: number;
  /** The leader's applied index. */
  readonly applied: number;
  readonly members: readonly MemberView[];
}

/** What a change answers. */
export interface MembershipChangeResult {
  /** False when the cluster already was as asked (a re-run). */
  readonly changed: boolean;
  readonly members: MembershipView;
}

/** Why removing `id` would cost the cluster its quorum, or null when it is safe. */
export function removalProblem(view: MembershipView, id: MemberId): string | null {
  const target = view.members.find((m) => m.id === id);
  if (!target || target.role === 'learner') return null;
  const voters = view.members.filter((m) => m.role === 'voter');
  const reachableNow = voters.filter((m) => m.reachable).length;
  if (reachableNow < quorum(voters.length)) {
    return (
      `only ${reachableNow} of ${voters.length} voters are reachable, fewer than a quorum ` +
      `(${quorum(voters.length)}): no change can be committed until members come back`
    );
  }
  const after = voters.filter((m) => m.id !== id);
  const reachableAfter = after.filter((m) => m.reachable).length;
  if (after.length === 0) return `member ${id} is the last voter`;
  if (reachableAfter < quorum(after.length)) {
    return (
      `removing member ${id} would leave ${after.length} voters of which ${reachableAfter} ` +
      `are reachable, fewer than a quorum (${quorum(after.length)}): the cluster would stop ` +
      'accepting writes. Bring the unreachable members back (or replace them) first'
    );
  }
  return null;
}

/**
 * Why `id` cannot be promoted now, or null: it is not a learner, the leader has not heard
 * from it within an election timeout (a promoted member that is down counts against the
 * quorum at once: with two of five voters down, promoting a dead learner stopped the
 * cluster), the voters after the promotion would not have a reachable quorum, or it has not
 * caught up.
 */
export function promotionProblem(view: MembershipView, id: MemberId): string | null {
  const target = view.members.find((m) => m.id === id);
  if (!target || target.role !== 'learner') return null;
  if (!target.reachable) {
    return (
      `learner ${id} has not answered the leader ` +
      (target.lastContactMs === null ? 'yet' : `for ${target.lastContactMs} ms`) +
      ': as a voter it would count against the quorum; bring it back first'
    );
  }
  const after = view.members.filter((m) => m.role === 'voter' || m.id === id);
  const reachableAfter = after.filter((m) => m.reachable).length;
  if (reachableAfter < quorum(after.length)) {
    return (
      `promoting member ${id} would leave ${after.length} voters of which ${reachableAfter} ` +
      `are reachable, fewer than a quorum (${quorum(after.length)}): bring the unreachable ` +
      'voters back (or replace them) first'
    );
  }
  if (!target.caughtUp) {
    return (
      `learner ${id} is ${target.lag} entries behind the leader (at most ${CAUGHT_UP_LAG} ` +
      'to be promoted): wait until it has caught up (agenda cluster member list shows it)'
    );
  }
  return null;
}

/** Voters a decision needs among `voters`. */
export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The largest member id: nine digits, what a path (`/v1/cluster/members/<id>`) takes. A body
 * once took any safe integer, so a learner added as 2^53-1 could never be removed.
 */
export const MAX_MEMBER_ID = 999_999_999;
