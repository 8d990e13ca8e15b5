/**
 * The leader's rules for membership changes, as an operator meets them: what the member list
 * says about each member, which removals would cost the cluster its quorum, when a learner
 * may be promoted, and which requests are malformed.
 */
import test from 'ava';
import type { PeerStatus } from '../../raft/core/types.js';
import type { MemberAddress, NodeStatus } from '../../raft/runtime/raft-node.js';
import {
  CAUGHT_UP_LAG,
  membershipView,
  parseAddLearnerBody,
  parseMemberId,
  promotionProblem,
  removalProblem,
} from './membership.js';

const TIMING = { electionTicks: 10, tickMs: 50 };

function peer(id: number, match: number, ticksSinceContact = 1, voter = true): PeerStatus {
  return {
    id,
    voter,
    match,
    next: match + 1,
    state: 'replicate',
    recentActive: ticksSinceContact < 10,
    ticksSinceContact,
  };
}

/** Member 1 leading voters 1–5 at last index 1000, with `peers` as given. */
function leaderStatus(
  peers: readonly PeerStatus[],
  conf = { voters: [1, 2, 3, 4, 5], learners: [] as number[] },
): NodeStatus {
  return {
    id: 1,
    role: 'leader',
    term: 4,
    vote: 1,
    leader: 1,
    commit: 998,
    applied: 997,
    firstIndex: 1,
    lastIndex: 1000,
    snapshotIndex: 0,
    conf,
    transferee: 0,
    peers,
  } as unknown as NodeStatus;
}

const addressOf = (id: number): MemberAddress | undefined =>
  id === 9
    ? undefined
    : {
        raft: { host: '10.0.0.1', port: 7000 + id },
        client: { host: '10.0.0.1', port: 7100 + id },
      };

test('the member list gives each member its role, address, lag and whether the leader hears it', (t) => {
  const view = membershipView(
    leaderStatus([peer(2, 1000), peer(3, 990), peer(4, 200, 30), peer(5, 0, 2, false)], {
      voters: [1, 2, 3, 4],
      learners: [5],
    }),
    addressOf,
    TIMING,
  );
  t.like(view, { leader: 1, term: 4, commit: 998, lastIndex: 1000, applied: 997 });
  t.deepEqual(
    view.members.map((m) => [m.id, m.role, m.leader, m.match, m.lag, m.caughtUp, m.reachable]),
    [
      [1, 'voter', true, 1000, 0, true, true],
      [2, 'voter', false, 1000, 0, true, true],
      [3, 'voter', false, 990, 10, true, true],
      [4, 'voter', false, 200, 800, false, false],
      [5, 'learner', false, 0, 1000, false, true],
    ],
  );
  t.is(view.members[0]?.address, '10.0.0.1:7001,10.0.0.1:7101');
  t.is(view.members[3]?.lastContactMs, 1500);
  t.is(view.members[0]?.replication, 'self');
});

test('a removal is refused when the voters left would not have a reachable quorum', (t) => {
  // 5 voters, 4 and 5 unreachable: 3 reachable, a quorum of 5.
  const view = membershipView(
    leaderStatus([peer(2, 1000), peer(3, 1000), peer(4, 1000, 50), peer(5, 1000, 50)]),
    addressOf,
    TIMING,
  );
  // Removing a dead one leaves 4 voters of which 3 are reachable: a quorum of 4.
  t.is(removalProblem(view, 5), null);
  // Removing a live one leaves 4 voters of which 2 are reachable: no quorum.
  t.regex(removalProblem(view, 2) ?? '', /would leave 4 voters of which 2 are reachable/);
  t.regex(removalProblem(view, 1) ?? '', /fewer than a quorum \(3\)/);

  // Three unreachable: nothing can be committed, so no change is proposed at all.
  const stuck = membershipView(
    leaderStatus([peer(2, 1000), peer(3, 1000, 50), peer(4, 1000, 50), peer(5, 1000, 50)]),
    addressOf,
    TIMING,
  );
  t.regex(removalProblem(stuck, 5) ?? '', /only 2 of 5 voters are reachable/);

  // A learner never counts towards a quorum: removing one is always safe.
  const withLearner = membershipView(
    leaderStatus([peer(2, 1000), peer(6, 3, 50, false)], { voters: [1, 2], learners: [6] }),
    addressOf,
    TIMING,
  );
  t.is(removalProblem(withLearner, 6), null);
  // One voter left, the leader itself: it is its own quorum.
  t.is(removalProblem(withLearner, 2), null);
});

test('a learner is promoted only once it is within CAUGHT_UP_LAG entries of the leader', (t) => {
  const conf = { voters: [1, 2, 3, 4], learners: [5] };
  const behind = membershipView(
    leaderStatus(
      [peer(2, 1000), peer(3, 1000), peer(4, 1000), peer(5, 1000 - CAUGHT_UP_LAG - 1, 1, false)],
      conf,
    ),
    addressOf,
    TIMING,
  );
  t.regex(promotionProblem(behind, 5) ?? '', /learner 5 is 101 entries behind/);
  const close = membershipView(
    leaderStatus(
      [peer(2, 1000), peer(3, 1000), peer(4, 1000), peer(5, 1000 - CAUGHT_UP_LAG, 1, false)],
      conf,
    ),
    addressOf,
    TIMING,
  );
  t.is(promotionProblem(close, 5), null);
});

test('a learner the leader does not hear, or one that would leave no reachable quorum, is not promoted', (t) => {
  // Caught up when last heard, then killed: 50 ticks without contact.
  const dead = membershipView(
    leaderStatus([peer(2, 1000), peer(3, 1000), peer(4, 1000), peer(5, 1000, 50, false)], {
      voters: [1, 2, 3, 4],
      learners: [5],
    }),
    addressOf,
    TIMING,
  );
  t.regex(promotionProblem(dead, 5) ?? '', /learner 5 has not answered the leader for 2500 ms/);
  // Never contacted at all (a wrong address), in a young cluster where lag 0 looks caught up.
  const never = membershipView(
    leaderStatus([peer(2, 1000), peer(6, 0, Number.POSITIVE_INFINITY, false)], {
      voters: [1, 2],
      learners: [6],
    }),
    addressOf,
    TIMING,
  );
  t.regex(promotionProblem(never, 6) ?? '', /has not answered the leader yet/);
  // Five voters, three of them down (no change commits anyway), and a live learner: six
  // voters with three reachable would be no quorum (four) either.
  const shaky = membershipView(
    leaderStatus(
      [
        peer(2, 1000),
        peer(3, 1000, 50),
        peer(4, 1000, 50),
        peer(5, 1000, 50),
        peer(6, 1000, 1, false),
      ],
      { voters: [1, 2, 3, 4, 5], learners: [6] },
    ),
    addressOf,
    TIMING,
  );
  t.regex(promotionProblem(shaky, 6) ?? '', /would leave 6 voters of which 3 are reachable/);
});

test('malformed ids, addresses and bodies are told apart from valid ones', (t) => {
  t.is(parseMemberId('3'), 3);
  t.is(parseMemberId(3), 3);
  t.is(parseMemberId(999_999_999), 999_999_999);
  for (const bad of ['0', '-1', '3.5', 'db-3', '', 0, 1.5, null, '99999999999', 1e9, 2 ** 53 - 1]) {
    t.is(parseMemberId(bad), null, String(bad));
  }
  t.deepEqual(parseAddLearnerBody({ id: 6 }), { id: 6 });
  t.deepEqual(parseAddLearnerBody({ id: 6, address: '10.0.0.6:7006,10.0.0.6:7106' }), {
    id: 6,
    address: '10.0.0.6:7006,10.0.0.6:7106',
  });
  t.regex(parseAddLearnerBody([]) as string, /the body must be/);
  t.regex(parseAddLearnerBody({ id: 'six' }) as string, /id must be an integer from 1 to/);
  t.regex(parseAddLearnerBody({ id: 2 ** 53 - 1 }) as string, /from 1 to 999999999/);
  t.regex(
    parseAddLearnerBody({ id: 6, address: ' 10.0.0.6:7006,10.0.0.6:7106' }) as string,
    /address must be/,
  );
  t.regex(parseAddLearnerBody({ id: 6, address: '10.0.0.6:7006' }) as string, /address must be/);
  t.regex(parseAddLearnerBody({ id: 6, address: 'nowhere' }) as string, /address must be/);
  t.regex(parseAddLearnerBody({ id: 6, voter: true }) as string, /unknown field "voter"/);
});
