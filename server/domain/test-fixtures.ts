/**
 * Test support for the domain tests (not used by production code): terse builders for
 * rows, and a tiny in-memory world that applies decisions' mutations exactly as the store
 * will, so scenario tests can chain commands.
 */
import type {
  Attendee,
  CalendarEvent,
  Decision,
  EventId,
  EventRecord,
  Group,
  GroupInvitation,
  GroupKind,
  GroupName,
  GroupRecord,
  Membership,
  Millis,
  Mutation,
  User,
  Username,
} from './types.js';

/** `Date.parse` that insists on a valid ISO string. */
export function at(iso: string): Millis {
  const instant = Date.parse(iso);
  if (Number.isNaN(instant)) throw new Error(`bad instant in test: ${iso}`);
  return instant;
}

/** A group from `{ member: level }`; the first member listed is the owner. */
export function group(
  name: GroupName,
  kind: GroupKind,
  levels: Readonly<Record<Username, number>>,
): GroupRecord {
  const names = Object.keys(levels);
  const owner = names[0];
  if (owner === undefined) throw new Error('a group needs an owner');
  return {
    group: { name, kind, owner },
    members: names.map((username) => ({
      group: name,
      username,
      level: kind === 'flat' ? 0 : (levels[username] ?? 0),
    })),
    invitations: [],
  };
}

/** An event row with sensible defaults: a one-hour personal event of `organizer`. */
export function event(
  fields: Partial<CalendarEvent> & { id: EventId; start: Millis },
): CalendarEvent {
  return {
    title: fields.id,
    end: fields.start + 3_600_000,
    timeZone: 'UTC',
    description: '',
    location: '',
    visibility: 'busy',
    recurrence: null,
    organizer: 'alice',
    group: null,
    status: 'confirmed',
    createdAt: 0,
    updatedAt: 0,
    revision: 0,
    ...fields,
  };
}

/** An event with its attendees: `{ bob: 'accepted' }` etc.; the organizer is added as such. */
export function record(
  fields: Partial<CalendarEvent> & { id: EventId; start: Millis },
  others: Readonly<
    Record<Username, Attendee['status'] | [Attendee['status'], Attendee['role']]>
  > = {},
): EventRecord {
  const e = event(fields);
  const attendees: Attendee[] = [
    { eventId: e.id, username: e.organizer, status: 'accepted', role: 'organizer' },
  ];
  for (const [username, spec] of Object.entries(others)) {
    const [status, role] = Array.isArray(spec) ? spec : [spec, 'invitee' as const];
    attendees.push({ eventId: e.id, username, status, role });
  }
  return { event: e, attendees };
}

/** Everything the store would hold, as plain maps. */
export interface World {
  readonly users: ReadonlyMap<Username, User>;
  readonly groups: ReadonlyMap<GroupName, Group>;
  readonly memberships: readonly Membership[];
  readonly invitations: readonly GroupInvitation[];
  /** `group\u0000username` of each block. */
  readonly blocks: ReadonlySet<string>;
  readonly events: ReadonlyMap<EventId, CalendarEvent>;
  readonly attendees: readonly Attendee[];
}

/** The key of a block in {@link World.blocks}. */
export const blockKey = (group: GroupName, username: Username) => `${group}\u0000${username}`;

export function emptyWorld(usernames: readonly Username[] = []): World {
  return {
    users: new Map(usernames.map((username) => [username, { username, displayName: username }])),
    groups: new Map(),
    memberships: [],
    invitations: [],
    blocks: new Set(),
    events: new Map(),
    attendees: [],
  };
}

/** The world after `mutations`, applied in order with the store's semantics. */
export function applyMutations(world: World, mutations: readonly Mutation[]): World {
  const users = new Map(world.users);
  const groups = new Map(world.groups);
  let memberships = [...world.memberships];
  let invitations = [...world.invitations];
  const blocks = new Set(world.blocks);
  const events = new Map(world.events);
  let attendees = [...world.attendees];
  for (const m of mutations) {
    switch (m.kind) {
      case 'insertUser':
        if (users.has(m.user.username)) throw new Error(`duplicate user ${m.user.username}`);
        users.set(m.user.username, m.user);
        break;
      case 'insertGroup':
        if (groups.has(m.group.name)) throw new Error(`duplicate group ${m.group.name}`);
        groups.set(m.group.name, m.group);
        break;
      case 'updateGroup':
        groups.set(m.group.name, m.group);
        break;
      case 'deleteGroup':
        // As the store does: the group's blocks go with it.
        groups.delete(m.group);
        for (const key of [...blocks]) if (key.startsWith(`${m.group}\u0000`)) blocks.delete(key);
        break;
      case 'putGroupInvitation':
        invitations = [
          ...invitations.filter(
            (x) => !(x.group === m.invitation.group && x.username === m.invitation.username),
          ),
          m.invitation,
        ];
        break;
      case 'deleteGroupInvitation':
        invitations = invitations.filter(
          (x) => !(x.group === m.group && x.username === m.username),
        );
        break;
      case 'putGroupBlock':
        blocks.add(blockKey(m.group, m.username));
        break;
      case 'deleteGroupBlock':
        blocks.delete(blockKey(m.group, m.username));
        break;
      case 'putMembership':
        memberships = [
          ...memberships.filter(
            (x) => !(x.group === m.membership.group && x.username === m.membership.username),
          ),
          m.membership,
        ];
        break;
      case 'deleteMembership':
        memberships = memberships.filter(
          (x) => !(x.group === m.group && x.username === m.username),
        );
        break;
      case 'insertEvent':
        if (events.has(m.event.id)) throw new Error(`duplicate event ${m.event.id}`);
        events.set(m.event.id, m.event);
        break;
      case 'updateEvent':
        if (!events.has(m.event.id)) throw new Error(`no event ${m.event.id}`);
        events.set(m.event.id, m.event);
        break;
      case 'putAttendee':
        attendees = [
          ...attendees.filter(
            (a) => !(a.eventId === m.attendee.eventId && a.username === m.attendee.username),
          ),
          m.attendee,
        ];
        break;
      case 'deleteAttendee':
        attendees = attendees.filter(
          (a) => !(a.eventId === m.eventId && a.username === m.username),
        );
        break;
      case 'deleteEvent':
        if (!events.delete(m.eventId)) throw new Error(`no event ${m.eventId}`);
        attendees = attendees.filter((a) => a.eventId !== m.eventId);
        break;
    }
  }
  return { users, groups, memberships, invitations, blocks, events, attendees };
}

/** Applies a decision and hands back both the new world and the decision. */
export function commit<R>(world: World, decision: Decision<R>): World {
  return applyMutations(world, decision.mutations);
}

export function recordsOf(world: World): EventRecord[] {
  return [...world.events.values()].map((e) => ({
    event: e,
    attendees: world.attendees.filter((a) => a.eventId === e.id),
  }));
}

export function recordOf(world: World, id: EventId): EventRecord | undefined {
  return recordsOf(world).find((r) => r.event.id === id);
}

export function groupOf(world: World, name: GroupName): GroupRecord | undefined {
  const g = world.groups.get(name);
  return g === undefined
    ? undefined
    : {
        group: g,
        members: world.memberships.filter((m) => m.group === name),
        invitations: world.invitations.filter((i) => i.group === name),
      };
}

export function groupsOf(world: World): GroupRecord[] {
  return [...world.groups.keys()].flatMap((name) => {
    const g = groupOf(world, name);
    return g === undefined ? [] : [g];
  });
}

/** A world holding these groups and event records, plus users for every name in them. */
export function worldWith(
  groups: readonly GroupRecord[],
  records: readonly EventRecord[] = [],
  extraUsers: readonly Username[] = [],
): World {
  const names = new Set<Username>(extraUsers);
  for (const g of groups) for (const m of g.members) names.add(m.username);
  for (const r of records) for (const a of r.attendees) names.add(a.username);
  const base = emptyWorld([...names]);
  return {
    ...base,
    groups: new Map(groups.map((g) => [g.group.name, g.group])),
    memberships: groups.flatMap((g) => g.members),
    events: new Map(records.map((r) => [r.event.id, r.event])),
    attendees: records.flatMap((r) => r.attendees),
  };
}

/** Status of `username` in event `id`, or undefined if not on the list. */
export function statusOf(
  world: World,
  id: EventId,
  username: Username,
): Attendee['status'] | undefined {
  return world.attendees.find((a) => a.eventId === id && a.username === username)?.status;
}
