/**
 * Deleting an account in a replicated store whose every entry must cost O(entry).
 *
 * A user's data has no bound: events they organize or were invited to, groups they joined,
 * groups they blocked. So the deletion is two commands:
 *
 * 1. `user.delete`, as the user (their token checked like any other): the user row and the
 *    credentials go, the username is retired (`deleted_users`), their calendar feeds and
 *    devices' app passwords are revoked and the group invitations waiting for them declined
 *    (all bounded: at most `MAX_FEEDS_PER_USER`, `MAX_DEVICES_PER_USER` and
 *    `MAX_PENDING_GROUP_INVITATIONS`), and their live
 *    streams are told to close. From this entry on every token of theirs is refused — the
 *    store checks each request's actor against the user row — and nothing can add to what
 *    they left: nobody can invite a user who does not exist, and they cannot act.
 * 2. `user.purge`, by the users service, as many times as it takes: each removes a batch of
 *    what is left, at most {@link ACCOUNT_PURGE_BUDGET} units of work (about one per row
 *    written, key stamped or person told), in this order — their refreshable sessions, the
 *    events they are on, the groups they are in, the groups they block — by the rules of
 *    server/domain/accounts.ts.
 *    The batch that finds nothing left marks the deletion finished. A group event scheduled
 *    while they were still a member is found by a later batch: each one looks again.
 *
 * The first item of a batch is taken whatever it costs, so every batch makes progress: an
 * event with a thousand attendees is one batch, as cancelling it is one command. Leaving a
 * group reads the group (at most `MAX_GROUP_MEMBERS` members and as many invitations),
 * never its events, but for a group the user is the last member of, whose events are untied
 * {@link GROUP_EVENTS_PER_BATCH} at a time.
 */
import {
  declineGroupInvitation,
  leaveEventOfDeletedAccount,
  leaveGroupOfDeletedAccount,
} from '../domain/index.js';
import type { Decision, EventDeparture, Notification, Username } from '../domain/index.js';
import type { AccountRemovals } from '../../contract/api.js';
import { Internal, NotFound } from '../../contract/errors.js';
import type { Applied, CommandEnvironment } from './commands.js';
import type { CommandOf, CommandResults } from './protocol.js';

/** The most work one `user.purge` entry does (see the module comment). */
export const ACCOUNT_PURGE_BUDGET = 1000;
/** Rows read per load while purging: each load reads a page, then another while work is left. */
const PAGE = 100;
/** Events of a group being dissolved untied per step. */
export const GROUP_EVENTS_PER_BATCH = 100;

/** Nothing removed yet. */
export function noRemovals(): AccountRemovals {
  return {
    eventsDeleted: 0,
    eventsCancelled: 0,
    eventsLeft: 0,
    groupsLeft: 0,
    groupsHandedOver: 0,
    groupsDissolved: 0,
    groupInvitationsDeclined: 0,
    groupBlocksRemoved: 0,
    feedsRevoked: 0,
    devicesRevoked: 0,
    sessionsEnded: 0,
  };
}

type Counts = { -readonly [K in keyof AccountRemovals]: number };

/** Which count an event departure adds to. */
const EVENT_COUNT: { readonly [D in EventDeparture]: keyof Counts } = {
  deleted: 'eventsDeleted',
  cancelled: 'eventsCancelled',
  left: 'eventsLeft',
};

/** `user.delete`: the acting user's account goes (step 1 of the module comment). */
export function deleteAccount(env: CommandEnvironment): Applied<CommandResults['user.delete']> {
  const actor = env.actor();
  const removed: Counts = noRemovals();
  const notifications: Notification[] = [];
  for (const record of env.rows.groupsInviting(actor)) {
    const decision = declineGroupInvitation(
      { actor, group: record.group.name, block: false },
      { group: record, blocked: false },
    );
    env.writes.apply(decision.mutations);
    notifications.push(...decision.notifications.filter((n) => n.to !== actor));
    if (decision.result.declined) removed.groupInvitationsDeclined += 1;
  }
  for (const feed of env.rows.feedsOf(actor)) {
    env.writes.deleteFeed(feed.fid);
    removed.feedsRevoked += 1;
  }
  for (const device of env.rows.devicesOf(actor)) {
    env.writes.deleteDevice(device.did);
    removed.devicesRevoked += 1;
  }
  env.writes.deleteAccount(actor, env.now);
  notifications.push({ kind: 'session', to: actor, change: 'deleted', sid: null });
  return { result: { deletedAt: env.now, removed }, notifications };
}

/** `user.purge`: one batch of what a deleted account left behind (step 2 of the module comment). */
export function purgeAccount(
  body: CommandOf<'user.purge'>,
  env: CommandEnvironment,
): Applied<CommandResults['user.purge']> {
  const { username } = body;
  const deletion = env.rows.accountDeletion(username);
  if (deletion === undefined) throw new NotFound(`no deleted account named ${username}`);
  const removed: Counts = noRemovals();
  if (deletion.purgedAt !== null) return { result: { removed, done: true }, notifications: [] };

  const batch = new PurgeBatch(username, env);
  batch.endSessions(removed);
  batch.leaveEvents(removed);
  batch.leaveGroups(removed);
  batch.liftBlocks(removed);
  // Budget left over means every list came back empty: nothing of theirs is left.
  const done = batch.budgetLeft();
  if (done) env.writes.markAccountPurged(username, env.now);
  return { result: { removed, done }, notifications: batch.notifications };
}

/** One `user.purge` batch: what it has spent, and who it tells what. */
class PurgeBatch {
  readonly notifications: Notification[] = [];
  private spent = 0;

  constructor(
    private readonly username: Username,
    private readonly env: CommandEnvironment,
  ) {}

  budgetLeft(): boolean {
    return this.spent < ACCOUNT_PURGE_BUDGET;
  }

  /** Their sessions: none is renewed any more (the store refuses their tokens already). */
  endSessions(removed: Counts): void {
    const { env, username } = this;
    while (this.budgetLeft()) {
      const sids = env.rows.sessionIdsOf(username, PAGE);
      if (sids.length === 0) return;
      for (const sid of sids) {
        if (!this.budgetLeft()) return;
        env.writes.endSession(sid);
        this.spent += 1;
        removed.sessionsEnded += 1;
      }
    }
  }

  /** The events they are on: deleted, cancelled for the others, or left. */
  leaveEvents(removed: Counts): void {
    const { env, username } = this;
    const command = { username, now: env.now };
    const done = new Set<string>();
    while (this.budgetLeft()) {
      const ids = env.rows.attendance(username, PAGE);
      if (ids.length === 0) return;
      for (const id of ids) {
        if (!this.budgetLeft()) return;
        // Each decision takes them off the event, so it cannot come back.
        if (done.has(id)) throw new Internal(`${username} is still on event ${id}`);
        done.add(id);
        const record = env.rows.event(id);
        if (record === undefined) throw new Internal(`${username} attends a missing event ${id}`);
        const decision = leaveEventOfDeletedAccount(command, record);
        this.take(decision, record.attendees.length);
        removed[EVENT_COUNT[decision.result]] += 1;
      }
    }
  }

  /** The groups they are in: left, handed over, or dissolved (a page of events at a time). */
  leaveGroups(removed: Counts): void {
    const { env, username } = this;
    const command = { username, now: env.now };
    while (this.budgetLeft()) {
      const names = env.rows.groupNamesOf(username, PAGE);
      if (names.length === 0) return;
      for (const name of names) {
        if (!this.budgetLeft()) return;
        const group = env.rows.group(name);
        if (group === undefined) throw new Internal(`${username} is in a missing group ${name}`);
        const last = group.members.length === 1;
        const page = last
          ? env.rows.groupEventsPage(name, env.now, GROUP_EVENTS_PER_BATCH + 1)
          : [];
        const decision = leaveGroupOfDeletedAccount(command, {
          group,
          groupEvents: page.slice(0, GROUP_EVENTS_PER_BATCH),
          moreGroupEvents: page.length > GROUP_EVENTS_PER_BATCH,
        });
        // Each decision removes them or unties events: a group comes back only while it has more.
        if (decision.mutations.length === 0) {
          throw new Internal(`leaving ${name} changed nothing for ${username}`);
        }
        const attendees = page.reduce((sum, r) => sum + r.attendees.length, 0);
        this.take(decision, attendees);
        switch (decision.result) {
          case 'left':
            removed.groupsLeft += 1;
            break;
          case 'handed_over':
            removed.groupsHandedOver += 1;
            break;
          case 'dissolved':
            removed.groupsDissolved += 1;
            break;
          case 'dissolving':
            break;
        }
      }
    }
  }

  /** The groups they block: the blocks go. */
  liftBlocks(removed: Counts): void {
    const { env, username } = this;
    while (this.budgetLeft()) {
      const groups = env.rows.blockedGroupsOf(username, PAGE);
      if (groups.length === 0) return;
      for (const group of groups) {
        if (!this.budgetLeft()) return;
        env.writes.apply([{ kind: 'deleteGroupBlock', group, username }]);
        this.spent += 1;
        removed.groupBlocksRemoved += 1;
      }
    }
  }

  /**
   * Writes a decision and keeps its notifications (none for the deleted user: their streams
   * are closed). Its cost: its rows, the people it tells, and the agendas its event changes
   * stamp (`stamped`).
   */
  private take(decision: Decision<unknown>, stamped: number): void {
    this.env.writes.apply(decision.mutations);
    const told = decision.notifications.filter((n) => n.to !== this.username);
    this.notifications.push(...told);
    this.spent += Math.max(1, decision.mutations.length + told.length + stamped);
  }
}
