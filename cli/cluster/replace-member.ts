/**
 * Replacing a DB member whose disk is lost (or which is being drilled): remove it, have it
 * wiped and started again as a joining member, add it back as a learner, wait until it has
 * caught up, promote it. `agenda cluster member replace` runs it; so does the lab's
 * `replace-member` chaos scenario, through that command.
 *
 * Every step is decided from what the cluster says now, not from what this run did before,
 * so running it again after an interruption (Ctrl-C, a lost connection, a timeout) carries
 * on from where the cluster is. The order is what keeps it safe: the member leaves the
 * configuration before its data is wiped (a voter that forgot its log and its vote could
 * make a quorum lose committed entries or elect two leaders), and it votes again only once
 * it holds nearly everything a quorum holds.
 *
 * The member keeps its id (its certificate names it). A wiped member that is promoted again
 * within the term it was removed in no longer remembers whether it voted in that term; it
 * only answers a vote request of that term if it arrives while it hears from no leader (the
 * leader lease), which a candidate that lost that term's election no longer sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeId } from '../../raft/core/types.js';
import type { NodeStatus } from '../../raft/runtime/raft-node.js';
import type { NetAddress } from '../../base/host-port.js';
import { Conflict, NotFound, Unavailable, isAgendaError } from '../../contract/errors.js';
import {
  CAUGHT_UP_LAG,
  removalProblem,
  type MembershipView,
  type MemberView,
} from '../../contract/membership.js';

/** What the procedure needs of the DB service: the operator client's calls. */
export interface MembershipApi {
  list(signal?: AbortSignal): Promise<MembershipView>;
  addLearner(id: NodeId, address?: string, signal?: AbortSignal): Promise<unknown>;
  promote(id: NodeId, signal?: AbortSignal): Promise<unknown>;
  remove(id: NodeId, signal?: AbortSignal): Promise<unknown>;
  memberStatus(address: NetAddress, timeoutMs?: number): Promise<NodeStatus | null>;
}

/**
 * Gets a removed member running again with an empty data directory and `join: true`: the
 * lab controller does it; elsewhere the operator is told what to do and the procedure waits.
 */
export interface Rejoiner {
  /** Called once the member is out of the configuration; resolves once it was asked for. */
  rejoin(id: NodeId, name: string): Promise<void>;
  /** Whether {@link rejoin} does the work itself (else the wait may be long). */
  readonly automatic: boolean;
}

export interface ReplaceOptions {
  readonly id: NodeId;
  /** `db-3`: how the member is named in messages and to the lab. */
  readonly name: string;
  /** The member's own API address, to see it come back empty. */
  readonly api: NetAddress;
  readonly membership: MembershipApi;
  readonly rejoiner: Rejoiner;
  /** Replace it even if it is a reachable, caught-up voter (a drill). */
  readonly force: boolean;
  /** Gives up (Unavailable) when the whole procedure took longer. */
  readonly timeoutMs: number;
  /** One line per thing done or waited for. */
  readonly progress: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Between two looks at the cluster. Default 250 ms. */
  readonly pollMs?: number;
}

/** One step taken, for the result: what and when (ms since the start). */
export interface ReplaceStep {
  readonly step:
    'lost-log' | 'removed' | 'rejoin-requested' | 'back-empty' | 'learner' | 'caught-up' | 'voter';
  readonly atMs: number;
  readonly detail: string;
}

export interface ReplaceResult {
  readonly id: NodeId;
  /** False when there was nothing to do (a healthy voter without `force`). */
  readonly replaced: boolean;
  readonly reason?: string;
  readonly steps: readonly ReplaceStep[];
  readonly durationMs: number;
  /** Leader terms seen from start to end: more than one means an election happened. */
  readonly terms: readonly number[];
  readonly members: MembershipView;
}

/** Refusals in a row after which a step's refusal is final. */
const MAX_REFUSALS = 20;

/** Runs the replacement; see the module comment. @throws AgendaError */
export async function replaceMember(options: ReplaceOptions): Promise<ReplaceResult> {
  const { id, name, membership, rejoiner, progress, signal } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const pollMs = options.pollMs ?? 250;
  const steps: ReplaceStep[] = [];
  const terms: number[] = [];
  const record = (step: ReplaceStep['step'], detail: string) => {
    steps.push({ step, atMs: Date.now() - started, detail });
    progress(`${name}: ${detail}`);
  };
  /** Set once this run saw the member outside the voters: a voter after that is the result. */
  let leftVoters = false;
  let rejoinAsked = false;
  /** Refusals in a row (see the catch below). */
  let refusals = 0;
  let waitingSaid = '';
  const say = (line: string) => {
    if (line !== waitingSaid) progress(`${name}: ${line}`);
    waitingSaid = line;
  };

  for (;;) {
    signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new Unavailable(
        `${name} was not replaced within ${Math.round(options.timeoutMs / 1000)} s` +
          (waitingSaid ? ` (last: ${waitingSaid})` : '') +
          '; run the same command again to carry on',
      );
    }
    let view: MembershipView;
    try {
      view = await membership.list(signal);
    } catch (err) {
      if (isAgendaError(err) && err.code === 'unavailable') {
        say(`waiting for the DB service: ${err.message}`);
        await sleep(pollMs, undefined, { signal });
        continue;
      }
      throw err;
    }
    if (terms.at(-1) !== view.term) terms.push(view.term);
    const member = view.members.find((m) => m.id === id);
    const done = (replaced: boolean, reason?: string): ReplaceResult => ({
      id,
      replaced,
      ...(reason === undefined ? {} : { reason }),
      steps,
      durationMs: Date.now() - started,
      terms,
      members: view,
    });

    try {
      if (member?.role === 'voter') {
        if (leftVoters) {
          record('voter', `member ${id} is a voter again (${describeVoters(view)})`);
          return done(true);
        }
        if (!options.force && member.reachable && member.caughtUp) {
          // The leader's match is what the member once stored, and a member that lost its
          // disk and came back empty answers heartbeats: only its own log tells.
          const own = await membership.memberStatus(options.api, 2_000);
          if (own === null || own.lastIndex >= member.match) {
            return done(
              false,
              `member ${id} is a reachable voter ${member.lag} entries behind: nothing to replace ` +
                '(--force replaces it anyway)',
            );
          }
          record(
            'lost-log',
            `member ${id} holds ${own.lastIndex} entries where the leader counts ${member.match}: ` +
              'it lost its log; replacing it',
          );
        }
        const problem = removalProblem(view, id);
        if (problem) throw new Conflict(problem);
        say(`removing member ${id} from the voters…`);
        await membership.remove(id, signal);
        refusals = 0;
        leftVoters = true;
        record('removed', `removed from the cluster`);
        continue;
      }
      leftVoters = true;
      if (member?.role === 'learner') {
        // The leader counts entries the learner stored; its state machine may still be
        // restoring a snapshot of the whole store. Promoted only once it applied them too.
        const own = member.caughtUp ? await membership.memberStatus(options.api, 2_000) : null;
        if (member.caughtUp && (own === null || own.applied < view.commit - CAUGHT_UP_LAG)) {
          say(
            own === null
              ? `stored the log; waiting for ${name} to answer with its applied index…`
              : `stored the log; applying it: ${own.applied} of ${view.commit}`,
          );
          await sleep(pollMs, undefined, { signal });
          continue;
        }
        if (!member.caughtUp) {
          const of = view.lastIndex;
          const percent = of === 0 ? 100 : Math.floor((member.match / of) * 100);
          say(
            `catching up: ${member.match} of ${of} entries (${percent} %), ${member.lag} behind` +
              (member.replication === 'snapshot' ? ', receiving a snapshot' : ''),
          );
          await sleep(pollMs, undefined, { signal });
          continue;
        }
        record(
          'caught-up',
          `caught up (${member.lag} entries behind, applied ${own?.applied ?? '?'}); promoting to voter…`,
        );
        await membership.promote(id, signal);
        refusals = 0;
        continue;
      }
      // Out of the configuration: it comes back empty, then is added as a learner.
      const own = await membership.memberStatus(options.api, 2_000);
      if (own !== null && isFreshJoiner(own)) {
        record('back-empty', `answers with an empty log, joining; adding it as a learner…`);
        await membership.addLearner(id, undefined, signal);
        refusals = 0;
        record('learner', 'added as a learner');
        continue;
      }
      if (!rejoinAsked) {
        rejoinAsked = true;
        await rejoiner.rejoin(id, name);
        record(
          'rejoin-requested',
          rejoiner.automatic
            ? 'wiped and started again, joining'
            : 'waiting for the member to be wiped and started again, joining',
        );
        continue;
      }
      say(
        own === null
          ? `waiting for ${name} to answer at ${options.api.host}:${options.api.port}…`
          : `${name} answers but still holds a log (last index ${own.lastIndex}): wipe its data directory and start it with "join": true`,
      );
      await sleep(pollMs, undefined, { signal });
    } catch (err) {
      // Leadership moving, a change still applying: look again. Anything else is final.
      if (isAgendaError(err) && err.code === 'unavailable') {
        say(`retrying: ${err.message}`);
        await sleep(pollMs, undefined, { signal });
        continue;
      }
      // A refusal of a step the last look called for: the cluster moved meanwhile (a change
      // still applying, a new leader not yet committed in its term, another operator). The
      // next look decides again; a refusal that keeps coming back is final.
      if ((err instanceof NotFound || err instanceof Conflict) && ++refusals < MAX_REFUSALS) {
        say(`retrying: ${err.message}`);
        await sleep(pollMs, undefined, { signal });
        continue;
      }
      throw err;
    }
  }
}

/**
 * A member started with `join: true` on an empty data directory, not yet added: it knows no
 * membership at all. A member that kept its data knows the voters from its log.
 */
export function isFreshJoiner(status: NodeStatus): boolean {
  return status.conf.voters.length === 0 && status.conf.learners.length === 0;
}

function describeVoters(view: MembershipView): string {
  const voters = view.members.filter((m: MemberView) => m.role === 'voter').map((m) => m.id);
  return `${voters.length} voters: ${voters.join(', ')}`;
}
