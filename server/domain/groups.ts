/**
 * Groups and who may change them.
 *
 * - The creator owns the group; in a hierarchical group the owner is at level 0 and X is
 *   superior to Y iff `level(X) < level(Y)`.
 * - Membership is by consent. Adding a member is an invitation (`inviteMember`); the
 *   invitee becomes a member only by joining (`joinGroup`), and may decline, and block
 *   further invitations to the group (`declineGroupInvitation`). Until they join they are
 *   not a member for any purpose: nobody imposes events on them, sees their agenda through
 *   the group, or counts them in free time or conflicts. (Before, anyone could make
 *   themselves a stranger's superior and read her busy events in full.)
 * - The owner invites and removes anyone. In a hierarchical group any member invites only
 *   at a level strictly below (numerically greater than) their own, and removes members only
 *   strictly below them. A pending invitation is changed (invited again at another level)
 *   or withdrawn only by its inviter, the owner, or a member above both the inviter and the
 *   level it offers: a subordinate never undoes a superior's invitation. (Before, a member at
 *   level 2 could invite again at level 3 someone the owner had invited at level 1, become
 *   the inviter of record, and so the superior of the newcomer.) In a flat group only the
 *   owner invites and removes.
 * - Anyone leaves. The owner cannot leave while others remain (ownership must be
 *   transferred first, so a group is never ownerless); the last member leaving dissolves
 *   the group.
 * - Levels are changed by the owner, or by a member above both the old and the new level;
 *   moving a member down needs their consent, which is their own command (see
 *   `changeLevel`). The owner's own level stays 0.
 *
 * Membership changes reach into agendas: whoever joins receives the group's future events —
 * accepted at once (imposed) when organized by a superior, as a pending invitation
 * otherwise; in a flat group, only the events still waiting for everyone's answer, since
 * the others were already decided by the members of the time. Whoever leaves or is removed
 * stops attending the group's future events they did not organize.
 */
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { attendeeOf, statusFromAnswers } from './attendance.js';
import { compareText, decide, eventNotice, groupNotice } from './decisions.js';
import {
  MAX_GROUP_MEMBERS,
  MAX_PENDING_GROUP_INVITATIONS,
  MAX_PENDING_GROUP_INVITATIONS_FROM_ONE,
} from '../../contract/limits.js';
import { seriesEnd } from './recurrence.js';
import {
  validateGroupKind,
  validateGroupName,
  validateLevel,
  validateUsername,
} from './validation.js';
import type {
  Decision,
  EventRecord,
  Group,
  GroupInvitation,
  GroupName,
  GroupRecord,
  Membership,
  Millis,
  Mutation,
  Notification,
  User,
  Username,
} from './types.js';
import type { GroupInvitationView, GroupView } from '../../contract/views.js';

export type { GroupInvitationView, GroupView };

/** The user's membership in the group, if they are a member. */
export function membershipOf(record: GroupRecord, username: Username): Membership | undefined {
  return record.members.find((m) => m.username === username);
}

/** The user's pending invitation to the group, if any. */
export function invitationOf(record: GroupRecord, username: Username): GroupInvitation | undefined {
  return record.invitations.find((i) => i.username === username);
}

/**
 * Whether `superior` outranks `subordinate` in the group: only in a hierarchical group,
 * both members, `level(superior) < level(subordinate)`.
 */
export function isSuperior(
  record: GroupRecord,
  superior: Username,
  subordinate: Username,
): boolean {
  if (record.group.kind !== 'hierarchical') return false;
  const a = membershipOf(record, superior);
  const b = membershipOf(record, subordinate);
  return a !== undefined && b !== undefined && a.level < b.level;
}

/** The groups among `groups` that have both users as members. */
export function sharedGroups(
  groups: readonly GroupRecord[],
  a: Username,
  b: Username,
): GroupRecord[] {
  return groups.filter((g) => membershipOf(g, a) !== undefined && membershipOf(g, b) !== undefined);
}

/** The group as its members see it, members by rank then name. */
export function groupView(record: GroupRecord): GroupView {
  const flat = record.group.kind === 'flat';
  return {
    name: record.group.name,
    kind: record.group.kind,
    owner: record.group.owner,
    members: [...record.members]
      .sort((a, b) => (flat ? 0 : a.level - b.level) || compareText(a.username, b.username))
      .map((m) => ({ username: m.username, level: flat ? null : m.level })),
    invited: [...record.invitations]
      .sort((a, b) => (flat ? 0 : a.level - b.level) || compareText(a.username, b.username))
      .map((i) => ({
        username: i.username,
        level: flat ? null : i.level,
        invitedBy: i.invitedBy,
      })),
  };
}

function requireGroup(record: GroupRecord | undefined, name: GroupName): GroupRecord {
  if (record === undefined || record.group.name !== name)
    throw new NotFound(`no group named ${name}`);
  return record;
}

function requireMember(record: GroupRecord, actor: Username): Membership {
  const membership = membershipOf(record, actor);
  if (membership === undefined) {
    throw new Forbidden(`you are not a member of ${record.group.name}`);
  }
  return membership;
}

function withMembers(record: GroupRecord, members: readonly Membership[]): GroupRecord {
  return { ...record, members };
}

/** The group's events that still have occurrences to come and are not cancelled. */
function futureGroupEvents(
  name: GroupName,
  events: readonly EventRecord[],
  now: Millis,
): EventRecord[] {
  return events.filter(
    (r) =>
      r.event.group?.name === name && r.event.status !== 'cancelled' && seriesEnd(r.event) > now,
  );
}

// ---------------------------------------------------------------------------------------

export interface CreateGroupCommand {
  readonly actor: Username;
  readonly name: string;
  /** `flat` or `hierarchical`. */
  readonly kind: string;
}

export interface CreateGroupContext {
  /** The group already holding that name, if any. */
  readonly existing: Group | undefined;
}

/**
 * Creates a group owned by the actor, who becomes its only member (level 0).
 * @throws InvalidInput for a bad name or kind; Conflict if the name is taken.
 */
export function createGroup(
  command: CreateGroupCommand,
  context: CreateGroupContext,
): Decision<GroupView> {
  const name = validateGroupName(command.name);
  const kind = validateGroupKind(command.kind);
  if (context.existing !== undefined) throw new Conflict(`a group named ${name} already exists`);
  const group: Group = { name, kind, owner: command.actor };
  const owner: Membership = { group: name, username: command.actor, level: 0 };
  return decide(
    groupView({ group, members: [owner], invitations: [] }),
    [
      { kind: 'insertGroup', group },
      { kind: 'putMembership', membership: owner },
    ],
    [],
  );
}

// ---------------------------------------------------------------------------------------

export interface InviteMemberCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly username: Username;
  /** Hierarchical groups only; defaults to one below the actor's level. */
  readonly level?: number;
  readonly now: Millis;
}

export interface InviteMemberContext {
  readonly group: GroupRecord | undefined;
  /** The user being invited, if registered. */
  readonly user: User | undefined;
  /** Whether that user blocked invitations to this group. */
  readonly blocked: boolean;
  /** How many group invitations wait for that user's answer. */
  readonly invitationsWaiting: number;
  /** Of those, how many the actor sent. */
  readonly invitationsFromActor: number;
}

/**
 * Invites a user to join, subject to the membership rules above: adding a member begins with
 * an invitation, and only the invitee's `joinGroup` makes them a member. Inviting someone
 * already invited changes the level they are invited at (to one the actor may invite at).
 * @throws NotFound (group or user), Forbidden (not allowed at that level; the user blocked
 * invitations to the group), Conflict (already a member), InvalidInput (bad level, a level in
 * a flat group, group full counting pending invitations).
 */
export function inviteMember(
  command: InviteMemberCommand,
  context: InviteMemberContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  const actor = requireMember(record, command.actor);
  const username = validateUsername(command.username);
  if (context.user === undefined || context.user.username !== username) {
    throw new NotFound(`no user named ${username}`);
  }
  if (membershipOf(record, username) !== undefined) {
    throw new Conflict(`${username} is already a member of ${group.name}`);
  }
  const level = invitedLevel(record, actor, command.level);
  if (context.blocked) {
    throw new Forbidden(`${username} does not accept invitations to ${group.name}`);
  }
  const previous = invitationOf(record, username);
  if (
    previous === undefined &&
    record.members.length + record.invitations.length >= MAX_GROUP_MEMBERS
  ) {
    throw new InvalidInput(
      `a group has at most ${MAX_GROUP_MEMBERS} members, counting pending invitations`,
      { field: 'username' },
    );
  }
  if (previous === undefined && context.invitationsWaiting >= MAX_PENDING_GROUP_INVITATIONS) {
    throw new InvalidInput(
      `${username} has ${MAX_PENDING_GROUP_INVITATIONS} group invitations waiting for an answer, the most one user gets; they must answer some first`,
      { field: 'username' },
    );
  }
  if (
    previous === undefined &&
    context.invitationsFromActor >= MAX_PENDING_GROUP_INVITATIONS_FROM_ONE
  ) {
    throw new InvalidInput(
      `${username} has ${MAX_PENDING_GROUP_INVITATIONS_FROM_ONE} of your group invitations waiting for an answer, the most one inviter may send; wait for their answer`,
      { field: 'username' },
    );
  }
  if (previous?.level === level) {
    throw new Conflict(`${username} is already invited to ${group.name}`);
  }
  if (previous !== undefined && !mayChangeInvitation(record, actor, previous)) {
    throw new Forbidden(
      `${username} was invited to ${group.name} by ${previous.invitedBy}; only they, the owner or a member above them changes that invitation`,
    );
  }
  const invitation: GroupInvitation = {
    group: group.name,
    username,
    level,
    invitedBy: command.actor,
    invitedAt: command.now,
  };
  return decide(
    groupView({
      ...record,
      invitations: [...record.invitations.filter((i) => i.username !== username), invitation],
    }),
    [{ kind: 'putGroupInvitation', invitation }],
    [groupNotice(username, 'invited', group.name, username, command.actor)],
  );
}

/** The level an invitation by `actor` puts the invitee at, checked against the rules above. */
function invitedLevel(record: GroupRecord, actor: Membership, asked: number | undefined): number {
  const { group } = record;
  const isOwner = actor.username === group.owner;
  if (group.kind === 'flat') {
    if (asked !== undefined) {
      throw new InvalidInput(`${group.name} is a flat group: members have no levels`, {
        field: 'level',
      });
    }
    if (!isOwner) throw new Forbidden(`only the owner of ${group.name} adds members to it`);
    return 0;
  }
  const level = validateLevel(asked ?? actor.level + 1);
  if (!isOwner && level <= actor.level) {
    throw new Forbidden(
      `you are at level ${actor.level} in ${group.name}: you can add members only at a level below yours (${actor.level + 1} or more)`,
    );
  }
  return level;
}

export interface JoinGroupCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly now: Millis;
}

/**
 * The invitee accepts an invitation and becomes a member at the level they were invited at,
 * receiving the group's future events: accepted at once (imposed) when organized by a
 * superior, as a pending invitation otherwise; in a flat group, only the events still
 * waiting for everyone's answer, since the others were already decided by the members of
 * the time.
 * @throws NotFound (no such group, or no invitation to it), InvalidInput (the group is full).
 */
export function joinGroup(
  command: JoinGroupCommand,
  context: MembershipChangeContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  const username = command.actor;
  if (membershipOf(record, username) !== undefined) {
    throw new Conflict(`you are already a member of ${group.name}`);
  }
  const invitation = invitationOf(record, username);
  if (invitation === undefined) {
    throw new NotFound(`you have no invitation to ${group.name}`);
  }
  if (record.members.length >= MAX_GROUP_MEMBERS) {
    throw new InvalidInput(`${group.name} already has ${MAX_GROUP_MEMBERS} members`);
  }
  const membership: Membership = { group: group.name, username, level: invitation.level };
  const mutations: Mutation[] = [
    { kind: 'deleteGroupInvitation', group: group.name, username },
    { kind: 'putMembership', membership },
  ];
  const notifications: Notification[] = [
    groupNotice(group.owner, 'member_joined', group.name, username, username),
    ...(invitation.invitedBy === group.owner
      ? []
      : [groupNotice(invitation.invitedBy, 'member_joined', group.name, username, username)]),
  ];

  for (const event of futureGroupEvents(group.name, context.groupEvents, command.now)) {
    if (attendeeOf(event, username) !== undefined) continue;
    const id = event.event.id;
    if (group.kind === 'hierarchical') {
      const organizer = membershipOf(record, event.event.organizer);
      const imposed = organizer !== undefined && organizer.level < membership.level;
      mutations.push({
        kind: 'putAttendee',
        attendee: imposed
          ? { eventId: id, username, status: 'accepted', role: 'imposed' }
          : { eventId: id, username, status: 'pending', role: 'invitee' },
      });
      notifications.push(
        eventNotice(username, imposed ? 'imposed' : 'invited', id, event.event.organizer),
      );
    } else if (event.event.status === 'pending') {
      mutations.push({
        kind: 'putAttendee',
        attendee: { eventId: id, username, status: 'pending', role: 'invitee' },
      });
      notifications.push(eventNotice(username, 'invited', id, event.event.organizer));
    }
  }

  return decide(
    groupView({
      group,
      members: [...record.members, membership],
      invitations: record.invitations.filter((i) => i.username !== username),
    }),
    mutations,
    notifications,
  );
}

export interface DeclineGroupCommand {
  readonly actor: Username;
  readonly group: GroupName;
  /** Also refuse every further invitation to the group, until `unblockGroup`. */
  readonly block: boolean;
}

export interface DeclineGroupContext {
  readonly group: GroupRecord | undefined;
  /** Whether the actor already blocks invitations to the group. */
  readonly blocked: boolean;
}

/** What declining did: the invitation is gone, and invitations may now be blocked. */
export interface DeclineGroupResult {
  readonly group: GroupName;
  /** Whether an invitation was waiting (and is now declined). */
  readonly declined: boolean;
  /** Whether further invitations to the group are refused. */
  readonly blocked: boolean;
}

/**
 * The invitee declines an invitation; with `block`, further invitations to the group are
 * refused too (which needs no invitation waiting: a user may block a group before it
 * invites them). The inviter is told of the decline, not of the block.
 * @throws NotFound (no such group; no invitation and no block asked), Conflict (a member:
 * leave instead).
 */
export function declineGroupInvitation(
  command: DeclineGroupCommand,
  context: DeclineGroupContext,
): Decision<DeclineGroupResult> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  if (membershipOf(record, command.actor) !== undefined) {
    throw new Conflict(`you are a member of ${group.name}: leave it instead`);
  }
  const invitation = invitationOf(record, command.actor);
  if (invitation === undefined && !command.block) {
    throw new NotFound(`you have no invitation to ${group.name}`);
  }
  const mutations: Mutation[] = [];
  const notifications: Notification[] = [];
  if (invitation !== undefined) {
    mutations.push({ kind: 'deleteGroupInvitation', group: group.name, username: command.actor });
    notifications.push(
      groupNotice(
        invitation.invitedBy,
        'invitation_declined',
        group.name,
        command.actor,
        command.actor,
      ),
    );
  }
  if (command.block && !context.blocked) {
    mutations.push({ kind: 'putGroupBlock', group: group.name, username: command.actor });
  }
  return decide(
    {
      group: group.name,
      declined: invitation !== undefined,
      blocked: command.block || context.blocked,
    },
    mutations,
    notifications,
  );
}

/**
 * The user accepts invitations to the group again. Blocks outlive nothing: a group that
 * dissolves takes them with it, so a new group of the same name starts unblocked.
 * @throws NotFound (no such group, or not blocked).
 */
export function unblockGroup(
  command: { readonly actor: Username; readonly group: GroupName },
  context: DeclineGroupContext,
): Decision<DeclineGroupResult> {
  const record = requireGroup(context.group, command.group);
  if (!context.blocked) {
    throw new NotFound(`you do not block invitations to ${record.group.name}`);
  }
  return decide(
    { group: record.group.name, declined: false, blocked: false },
    [{ kind: 'deleteGroupBlock', group: record.group.name, username: command.actor }],
    [],
  );
}

/** `agenda invite list`: the group invitations waiting for the actor's answer, oldest first. */
export function listGroupInvitations(
  query: { readonly actor: Username },
  context: { readonly groups: readonly GroupRecord[] },
): GroupInvitationView[] {
  return context.groups
    .flatMap((record) => {
      const invitation = invitationOf(record, query.actor);
      if (invitation === undefined || membershipOf(record, query.actor) !== undefined) return [];
      const flat = record.group.kind === 'flat';
      return [
        {
          group: record.group.name,
          kind: record.group.kind,
          owner: record.group.owner,
          level: flat ? null : invitation.level,
          invitedBy: invitation.invitedBy,
          invitedAt: new Date(invitation.invitedAt).toISOString(),
          members: record.members.length,
          at: invitation.invitedAt,
        },
      ];
    })
    .sort((a, b) => a.at - b.at || compareText(a.group, b.group))
    .map(({ at: _at, ...view }) => view);
}

// ---------------------------------------------------------------------------------------

/**
 * Takes `username` off the group's future events they attend but did not organize. A
 * flat-group event that was only waiting for them becomes confirmed.
 */
function detachFromGroupEvents(
  groupName: GroupName,
  username: Username,
  events: readonly EventRecord[],
  now: Millis,
  by: Username,
): { mutations: Mutation[]; notifications: Notification[] } {
  const mutations: Mutation[] = [];
  const notifications: Notification[] = [];
  for (const record of futureGroupEvents(groupName, events, now)) {
    const { event } = record;
    if (event.organizer === username || attendeeOf(record, username) === undefined) continue;
    mutations.push({ kind: 'deleteAttendee', eventId: event.id, username });
    notifications.push(eventNotice(username, 'removed', event.id, by));
    const remaining = record.attendees.filter((a) => a.username !== username);
    const status = statusFromAnswers(record, remaining);
    if (status !== event.status) {
      mutations.push({
        kind: 'updateEvent',
        event: { ...event, status, updatedAt: now, revision: event.revision + 1 },
      });
      for (const a of remaining)
        notifications.push(eventNotice(a.username, 'confirmed', event.id, by));
    }
  }
  return { mutations, notifications };
}

export interface RemoveMemberCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly username: Username;
  readonly now: Millis;
}

export interface MembershipChangeContext {
  readonly group: GroupRecord | undefined;
  /** The group's events that are not over (others are ignored). */
  readonly groupEvents: readonly EventRecord[];
}

/**
 * Removes another member: the owner removes anyone; in a hierarchical group a member
 * removes members strictly below them. The removed member stops attending the group's
 * future events they did not organize.
 * @throws NotFound, Forbidden, InvalidInput (removing yourself: leave instead; the owner).
 */
export function removeMember(
  command: RemoveMemberCommand,
  context: MembershipChangeContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  const actor = requireMember(record, command.actor);
  if (command.username === command.actor) {
    throw new InvalidInput(`to leave ${group.name}, leave it rather than remove yourself`, {
      field: 'username',
    });
  }
  const target = membershipOf(record, command.username);
  if (target === undefined) {
    const invitation = invitationOf(record, command.username);
    if (invitation !== undefined) return withdrawInvitation(record, actor, invitation);
    throw new NotFound(`${command.username} is not a member of ${group.name}`);
  }
  if (target.username === group.owner)
    throw new Forbidden(`nobody can remove the owner of ${group.name}`);
  const allowed =
    command.actor === group.owner || (group.kind === 'hierarchical' && actor.level < target.level);
  if (!allowed) {
    throw new Forbidden(
      group.kind === 'flat'
        ? `only the owner of ${group.name} removes members from it`
        : `you can remove only members below your level (${actor.level}) in ${group.name}`,
    );
  }
  const detached = detachFromGroupEvents(
    group.name,
    target.username,
    context.groupEvents,
    command.now,
    command.actor,
  );
  return decide(
    groupView(
      withMembers(
        record,
        record.members.filter((m) => m.username !== target.username),
      ),
    ),
    [
      { kind: 'deleteMembership', group: group.name, username: target.username },
      ...detached.mutations,
    ],
    [
      groupNotice(target.username, 'member_removed', group.name, target.username, command.actor),
      groupNotice(group.owner, 'member_removed', group.name, target.username, command.actor),
      ...detached.notifications,
    ],
  );
}

/**
 * Whether `actor` may change or withdraw `invitation`: its inviter, the owner, or in a
 * hierarchical group a member above both the inviter (as they stand now; an inviter who left
 * counts for nothing) and the level it offers.
 */
function mayChangeInvitation(
  record: GroupRecord,
  actor: Membership,
  invitation: GroupInvitation,
): boolean {
  const { group } = record;
  if (actor.username === group.owner || actor.username === invitation.invitedBy) return true;
  if (group.kind !== 'hierarchical' || actor.level >= invitation.level) return false;
  const inviter = membershipOf(record, invitation.invitedBy);
  return inviter === undefined || actor.level < inviter.level;
}

/** Withdraws a pending invitation, if {@link mayChangeInvitation}. */
function withdrawInvitation(
  record: GroupRecord,
  actor: Membership,
  invitation: GroupInvitation,
): Decision<GroupView> {
  const { group } = record;
  if (!mayChangeInvitation(record, actor, invitation)) {
    throw new Forbidden(
      `${invitation.username} was invited to ${group.name} by ${invitation.invitedBy}; only they, the owner or a member above them and above level ${invitation.level} withdraws that invitation`,
    );
  }
  return decide(
    groupView({
      ...record,
      invitations: record.invitations.filter((i) => i.username !== invitation.username),
    }),
    [{ kind: 'deleteGroupInvitation', group: group.name, username: invitation.username }],
    [
      groupNotice(
        invitation.username,
        'invitation_withdrawn',
        group.name,
        invitation.username,
        actor.username,
      ),
    ],
  );
}

export interface LeaveGroupCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly now: Millis;
}

/** What is left after leaving: the group, or null when the last member left and it dissolved. */
export type LeaveResult = { readonly group: GroupView | null };

/**
 * The actor leaves the group and stops attending its future events they did not organize.
 * The owner may leave only as the last member, which dissolves the group; the group's
 * remaining events then stay in agendas as ordinary events (no longer tied to the group,
 * so a future group of the same name inherits nothing).
 * @throws NotFound (no such group, or not a member), Forbidden (the owner while others remain).
 */
export function leaveGroup(
  command: LeaveGroupCommand,
  context: MembershipChangeContext,
): Decision<LeaveResult> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  if (membershipOf(record, command.actor) === undefined) {
    throw new NotFound(`you are not a member of ${group.name}`);
  }
  if (command.actor === group.owner) {
    if (record.members.length > 1) {
      throw new Forbidden(
        `you own ${group.name}: hand it to another member first (agenda group transfer ${group.name} <member>)`,
      );
    }
    const detached: Mutation[] = futureGroupEvents(
      group.name,
      context.groupEvents,
      command.now,
    ).map((r) => ({
      kind: 'updateEvent',
      event: { ...r.event, group: null, updatedAt: command.now, revision: r.event.revision + 1 },
    }));
    // The group's invitations go (those invited are told), and its blocks with the group
    // (deleteGroup), so a new group of the same name inherits neither.
    return decide(
      { group: null },
      [
        { kind: 'deleteMembership', group: group.name, username: command.actor },
        ...record.invitations.map((i): Mutation => ({
          kind: 'deleteGroupInvitation',
          group: group.name,
          username: i.username,
        })),
        { kind: 'deleteGroup', group: group.name },
        ...detached,
      ],
      [
        groupNotice(command.actor, 'dissolved', group.name, command.actor, command.actor),
        ...record.invitations.map((i) =>
          groupNotice(i.username, 'invitation_withdrawn', group.name, i.username, command.actor),
        ),
      ],
    );
  }
  const detached = detachFromGroupEvents(
    group.name,
    command.actor,
    context.groupEvents,
    command.now,
    command.actor,
  );
  return decide(
    {
      group: groupView(
        withMembers(
          record,
          record.members.filter((m) => m.username !== command.actor),
        ),
      ),
    },
    [
      { kind: 'deleteMembership', group: group.name, username: command.actor },
      ...detached.mutations,
    ],
    [
      groupNotice(command.actor, 'member_left', group.name, command.actor, command.actor),
      groupNotice(group.owner, 'member_left', group.name, command.actor, command.actor),
      ...detached.notifications,
    ],
  );
}

// ---------------------------------------------------------------------------------------

export interface ChangeLevelCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly username: Username;
  readonly level: number;
}

export interface GroupContext {
  readonly group: GroupRecord | undefined;
}

/**
 * Moves a member to another level of a hierarchical group. Events already scheduled keep the
 * answers they have; the new rank counts for decisions from now on.
 *
 * Who may: the owner, or a member above (at a lower number than) both the member's current
 * level and the new one — as with invitations, nobody places anyone at or above their own
 * rank, nor moves someone who ranks as high as they do. The owner's own level stays 0.
 *
 * Consent. A member joined at a level, agreeing to who ranks above them: their superiors see
 * their busy events in full and impose events on them. Moving a member *up* (a lower number)
 * only shrinks that set, so it needs no more than the mover's authority. Moving a member
 * *down* (a higher number) puts them under people who were their equals or subordinates, who
 * would then read their busy events and impose events on them: that needs the member's own
 * yes, and the yes is their own command — a member may move themselves down, and nobody else
 * may move them down. A member never moves themselves up. (Moving someone up does make them
 * the superior of the members between the two levels, without asking those members: they
 * joined accepting that the owner and their superiors arrange the ranks above them, exactly
 * as when the owner invites a newcomer above them.)
 * @throws NotFound (group, member), Forbidden (not allowed to move them there, or a move down
 * asked by someone else), InvalidInput (flat group, the owner's level, bad level).
 */
export function changeLevel(
  command: ChangeLevelCommand,
  context: GroupContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  const actor = requireMember(record, command.actor);
  if (group.kind !== 'hierarchical') {
    throw new InvalidInput(`${group.name} is a flat group: members have no levels`, {
      field: 'level',
    });
  }
  const target = membershipOf(record, command.username);
  if (target === undefined)
    throw new NotFound(`${command.username} is not a member of ${group.name}`);
  if (target.username === group.owner) {
    throw new InvalidInput(`the owner of ${group.name} is always at level 0`, {
      field: 'username',
    });
  }
  const level = validateLevel(command.level);
  const self = actor.username === target.username;
  if (self) {
    if (level < target.level) {
      throw new Forbidden(
        `you cannot raise yourself in ${group.name}: the owner, or a member above level ${level}, moves you up`,
      );
    }
  } else {
    const isOwner = actor.username === group.owner;
    if (!isOwner && !(actor.level < target.level && actor.level < level)) {
      throw new Forbidden(
        `you are at level ${actor.level} in ${group.name}: you can move only members below you, to levels below yours (${actor.level + 1} or more)`,
      );
    }
    if (level > target.level) {
      const newSuperiors = record.members
        .filter((m) => m.username !== target.username && m.level >= target.level && m.level < level)
        .map((m) => m.username)
        .sort(compareText);
      const under =
        newSuperiors.length === 0
          ? 'below the levels in between'
          : `under ${newSuperiors.join(', ')}`;
      throw new Forbidden(
        `moving ${target.username} down to level ${level} puts them ${under}, who would see their busy events in full and impose events on them; that needs their consent: only ${target.username} can move themselves down`,
      );
    }
  }
  const membership: Membership = { ...target, level };
  const told = self ? group.owner : target.username;
  return decide(
    groupView(
      withMembers(
        record,
        record.members.map((m) => (m.username === target.username ? membership : m)),
      ),
    ),
    level === target.level ? [] : [{ kind: 'putMembership', membership }],
    level === target.level
      ? []
      : [groupNotice(told, 'level_changed', group.name, target.username, command.actor)],
  );
}

export interface TransferOwnershipCommand {
  readonly actor: Username;
  readonly group: GroupName;
  /** The member who becomes the owner. */
  readonly to: Username;
}

/**
 * The owner hands the group to another member. In a hierarchical group the two swap levels,
 * so the new owner is at 0 and nobody else's rank changes.
 * @throws NotFound, Forbidden (not the owner), InvalidInput (to yourself).
 */
export function transferOwnership(
  command: TransferOwnershipCommand,
  context: GroupContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  requireMember(record, command.actor);
  if (command.actor !== group.owner)
    throw new Forbidden(`only the owner of ${group.name} can transfer it`);
  if (command.to === command.actor) {
    throw new InvalidInput(`you already own ${group.name}`, { field: 'to' });
  }
  const heir = membershipOf(record, command.to);
  if (heir === undefined) throw new NotFound(`${command.to} is not a member of ${group.name}`);
  const updatedGroup: Group = { ...group, owner: heir.username };
  const newOwner: Membership = { ...heir, level: 0 };
  const oldOwner: Membership = { group: group.name, username: command.actor, level: heir.level };
  const members = record.members.map((m) =>
    m.username === heir.username ? newOwner : m.username === command.actor ? oldOwner : m,
  );
  return decide(
    groupView({ ...record, group: updatedGroup, members }),
    [
      { kind: 'updateGroup', group: updatedGroup },
      { kind: 'putMembership', membership: newOwner },
      { kind: 'putMembership', membership: oldOwner },
    ],
    [
      groupNotice(heir.username, 'owner_changed', group.name, heir.username, command.actor),
      groupNotice(command.actor, 'owner_changed', group.name, heir.username, command.actor),
    ],
  );
}

// ---------------------------------------------------------------------------------------

/**
 * `group show`: the group, to its members only.
 * @throws NotFound, Forbidden (not a member).
 */
export function showGroup(
  query: { readonly actor: Username; readonly group: GroupName },
  context: GroupContext,
): GroupView {
  const record = requireGroup(context.group, query.group);
  requireMember(record, query.actor);
  return groupView(record);
}

/** `group list`: the groups the actor belongs to, by name. */
export function listGroups(
  query: { readonly actor: Username },
  context: { readonly groups: readonly GroupRecord[] },
): GroupView[] {
  return context.groups
    .filter((g) => membershipOf(g, query.actor) !== undefined)
    .sort((a, b) => compareText(a.group.name, b.group.name))
    .map(groupView);
}
