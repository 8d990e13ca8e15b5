/**
 * Groups and who may change them.
 *
 * - The creator owns the group; in a hierarchical group the owner is at level 0 and X is
 *   superior to Y iff `level(X) < level(Y)`.
 * - The owner adds and removes anyone. In a hierarchical group any member adds new members
 *   only at a level strictly below (numerically greater than) their own, and removes only
 *   members strictly below them. In a flat group only the owner adds and removes.
 * - Anyone leaves. The owner cannot leave while others remain (ownership must be
 *   transferred first, so a group is never ownerless); the last member leaving dissolves
 *   the group.
 * - Only the owner changes levels; the owner's own level stays 0.
 *
 * Membership changes reach into agendas: a newcomer receives the group's future events —
 * accepted at once (imposed) when organized by a superior, as a pending invitation
 * otherwise; in a flat group, only the events still waiting for everyone's answer, since
 * the others were already decided by the members of the time. Whoever leaves or is removed
 * stops attending the group's future events they did not organize.
 */
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { attendeeOf, statusFromAnswers } from './attendance.js';
import { compareText, decide, eventNotice, groupNotice } from './decisions.js';
import { MAX_GROUP_MEMBERS } from '../../contract/limits.js';
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
  GroupName,
  GroupRecord,
  Membership,
  Millis,
  Mutation,
  Notification,
  User,
  Username,
} from './types.js';
import type { GroupView } from '../../contract/views.js';

export type { GroupView };

/** The user's membership in the group, if they are a member. */
export function membershipOf(record: GroupRecord, username: Username): Membership | undefined {
  return record.members.find((m) => m.username === username);
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
  return { group: record.group, members };
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
    groupView({ group, members: [owner] }),
    [
      { kind: 'insertGroup', group },
      { kind: 'putMembership', membership: owner },
    ],
    [],
  );
}

// ---------------------------------------------------------------------------------------

export interface AddMemberCommand {
  readonly actor: Username;
  readonly group: GroupName;
  readonly username: Username;
  /** Hierarchical groups only; defaults to one below the actor's level. */
  readonly level?: number;
  readonly now: Millis;
}

export interface AddMemberContext {
  readonly group: GroupRecord | undefined;
  /** The user being added, if registered. */
  readonly user: User | undefined;
  /** The group's events that are not over (others are ignored). */
  readonly groupEvents: readonly EventRecord[];
}

/**
 * Adds a member, subject to the membership rules above, and gives them the group's future
 * events (imposed when organized by a superior, invited otherwise).
 * @throws NotFound (group or user), Forbidden (not allowed at that level), Conflict
 * (already a member), InvalidInput (bad level, a level in a flat group, group full).
 */
export function addMember(
  command: AddMemberCommand,
  context: AddMemberContext,
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
  if (record.members.length >= MAX_GROUP_MEMBERS) {
    throw new InvalidInput(`a group has at most ${MAX_GROUP_MEMBERS} members`, {
      field: 'username',
    });
  }
  const isOwner = command.actor === group.owner;

  let level = 0;
  if (group.kind === 'flat') {
    if (command.level !== undefined) {
      throw new InvalidInput(`${group.name} is a flat group: members have no levels`, {
        field: 'level',
      });
    }
    if (!isOwner) throw new Forbidden(`only the owner of ${group.name} adds members to it`);
  } else {
    level = validateLevel(command.level ?? actor.level + 1);
    if (!isOwner && level <= actor.level) {
      throw new Forbidden(
        `you are at level ${actor.level} in ${group.name}: you can add members only at a level below yours (${actor.level + 1} or more)`,
      );
    }
  }

  const membership: Membership = { group: group.name, username, level };
  const mutations: Mutation[] = [{ kind: 'putMembership', membership }];
  const notifications: Notification[] = [
    groupNotice(username, 'member_added', group.name, username, command.actor),
    groupNotice(group.owner, 'member_added', group.name, username, command.actor),
  ];

  for (const event of futureGroupEvents(group.name, context.groupEvents, command.now)) {
    if (attendeeOf(event, username) !== undefined) continue;
    const id = event.event.id;
    if (group.kind === 'hierarchical') {
      const organizer = membershipOf(record, event.event.organizer);
      const imposed = organizer !== undefined && organizer.level < level;
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
    groupView(withMembers(record, [...record.members, membership])),
    mutations,
    notifications,
  );
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
  if (target === undefined)
    throw new NotFound(`${command.username} is not a member of ${group.name}`);
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
        `you own ${group.name}: transfer ownership to another member before leaving`,
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
    return decide(
      { group: null },
      [
        { kind: 'deleteMembership', group: group.name, username: command.actor },
        { kind: 'deleteGroup', group: group.name },
        ...detached,
      ],
      [groupNotice(command.actor, 'dissolved', group.name, command.actor, command.actor)],
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
 * The owner moves a member to another level of a hierarchical group. Events already
 * scheduled keep the answers they have; the new rank counts for decisions from now on.
 * @throws NotFound, Forbidden (not the owner), InvalidInput (flat group, the owner's level, bad level).
 */
export function changeLevel(
  command: ChangeLevelCommand,
  context: GroupContext,
): Decision<GroupView> {
  const record = requireGroup(context.group, command.group);
  const { group } = record;
  requireMember(record, command.actor);
  if (group.kind !== 'hierarchical') {
    throw new InvalidInput(`${group.name} is a flat group: members have no levels`, {
      field: 'level',
    });
  }
  if (command.actor !== group.owner)
    throw new Forbidden(`only the owner of ${group.name} changes levels`);
  const target = membershipOf(record, command.username);
  if (target === undefined)
    throw new NotFound(`${command.username} is not a member of ${group.name}`);
  if (target.username === group.owner) {
    throw new InvalidInput(`the owner of ${group.name} is always at level 0`, {
      field: 'username',
    });
  }
  const level = validateLevel(command.level);
  const membership: Membership = { ...target, level };
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
      : [groupNotice(target.username, 'level_changed', group.name, target.username, command.actor)],
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
    groupView({ group: updatedGroup, members }),
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
