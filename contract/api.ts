/**
 * The public HTTPS API of the gateway, version 1: the schemas of its requests and the types
 * of its answers. Which route takes and answers which is declared in ./api-routes.ts, from
 * which the gateway's router and the `agenda` CLI's client are both derived. Field names
 * are the stable ones of MISSION §4.
 *
 * Conventions:
 * - Bodies are JSON (`content-type: application/json`) except `.ics` import/export
 *   (`text/calendar`).
 * - Instants are ISO 8601 strings WITH an offset (`2026-03-01T09:00:00Z`,
 *   `2026-03-01T10:00:00+01:00`): local times are resolved by the client, which alone knows
 *   the user's zone; `timeZone` (IANA) says in which zone a recurrence is expanded.
 * - Durations are `1h30m`, `45m`, `2h`, `1d` or ISO `PT1H30M`.
 * - Every request but register, login, refresh and the health routes carries
 *   `authorization: Bearer <access token>` (see {@link LoginAnswer} for renewing it).
 * - Writes may carry `idempotency-key: <id>` (letters, digits, `_`, `-`; ≤ 64): a retry
 *   with the same key applies once and returns the original answer.
 * - Errors: `{"error":{"code","message","details"?}}`, status from contract/errors.ts
 *   (400 invalid, 401 unauthenticated, 403 forbidden, 404 not_found, 409 conflict — with
 *   `details.conflicts` listing the conflicting events — 429 rate_limited, 503 unavailable —
 *   with `details.forwarded: false` when the request was refused before it reached any
 *   service, so a write certainly did not apply).
 */
import { z } from 'zod';
import { MAX_ADDITIONS } from './limits.js';
import type {
  AgendaView,
  ConflictView,
  EventDetailsView,
  EventView,
  GroupInvitationView,
  GroupView,
  ScheduledEvent,
  SlotView,
  Visibility,
} from './views.js';

/**
 * Bounds of one import request: VEVENTs that are not changed occurrences, and bytes.
 * Bigger files go in several requests (the CLI splits them); bigger requests are refused
 * (400) with a reason that says so.
 */
export {
  MAX_IMPORT_CHUNK_BYTES as IMPORT_REQUEST_MAX_BYTES,
  MAX_IMPORT_CHUNK_EVENTS as IMPORT_REQUEST_MAX_EVENTS,
} from './limits.js';

/**
 * Paging of the occurrence lists (the routes declared `paged`: events, agendas, conflicts): each
 * answers at most `limit` items (default and maximum `LIST_PAGE_MAX_ITEMS`; for agendas,
 * entries counted over all agendas) and `next`, an opaque cursor to pass as `after` for the
 * following page, or null when the list is complete. Items are in one total order (start,
 * end, event id; conflicts by their overlap, then their two occurrences), so pages neither
 * repeat nor skip what stayed put between them. A malformed cursor is refused (400
 * `invalid`, field `after`). A query without `limit` still gets a page and a `next`.
 */
export { MAX_PAGE_SIZE as LIST_PAGE_MAX_ITEMS } from './limits.js';

const username = z.string().min(1).max(64);
const iso = z.string().min(1).max(64);
/**
 * A string of at most `max` UTF-16 code units: a text's length as the domain counts it
 * (`text.length`, server/domain/validation.ts), so that the CLI's check before sending, the
 * gateway's and the domain's agree. zod's own `max` counts code points: a title of 101 emoji
 * passed the CLI and the gateway, then the domain refused it as longer than 200.
 */
const text = (max: number) =>
  z.string().refine((value) => value.length <= max, {
    message: `longer than ${max} characters (as the server counts them: most emoji and some rare CJK characters count as 2)`,
  });

// ---------------------------------------------------------------------------------------
// Accounts

/** Registering an account. */
export const RegisterRequest = z.strictObject({
  username,
  password: z.string().min(1).max(1024),
  name: text(200).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Logging in. */
export const LoginRequest = z.strictObject({ username, password: z.string().min(1).max(1024) });
export type LoginRequest = z.infer<typeof LoginRequest>;

export interface UserInfo {
  readonly username: string;
  readonly name: string;
}
/** An account, as registering it or asking who one is answers it. */
export interface UserAnswer {
  readonly user: UserInfo;
}
/**
 * A session: a login, a refresh or a password change answers one. `token` is the access
 * token, sent as `authorization: Bearer` with every request; it lives minutes. When it has
 * expired (a 401 whose `details.reason` is `token_expired`), `refreshToken` renews the
 * session (`POST /v1/sessions/refresh`) until `refreshExpiresAt`, 30 days after the login;
 * each refresh answers a new refresh token and the old one must not be sent again: a
 * refresh token used twice ends the session.
 */
export interface LoginAnswer {
  readonly token: string;
  /** ISO instant the access token stops being accepted. */
  readonly expiresAt: string;
  readonly refreshToken: string;
  /** ISO instant the session ends: its refresh tokens stop being accepted. */
  readonly refreshExpiresAt: string;
  readonly user: UserInfo;
}

/** Renewing a session with its current refresh token. */
export const RefreshRequest = z.strictObject({ refreshToken: z.string().min(1).max(4096) });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

// ---------------------------------------------------------------------------------------
// Events

const eventFields = {
  title: text(200),
  start: iso,
  description: text(5000).optional(),
  location: text(500).optional(),
  visibility: z.enum(['public', 'busy', 'private']).optional(),
  /** RRULE text (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY). */
  repeat: text(500).optional(),
  /**
   * Starts of occurrences besides the rule's (iCalendar's RDATE), each lasting as the event
   * does: with `repeat` only (`FREQ=DAILY;COUNT=1` repeats on these dates alone). On an
   * update the list replaces the series'; `[]` removes them.
   */
  alsoOn: z.array(iso).max(MAX_ADDITIONS).optional(),
  /** IANA zone the event is scheduled in; recurrence is expanded there. Default UTC. */
  timeZone: text(100).optional(),
  /**
   * Minutes before the start at which to be reminded (whole numbers; at most
   * `MAX_REMINDERS`, each at most `MAX_REMINDER_MINUTES`: the domain says why it refuses).
   * On an update the list replaces the event's; `[]` removes them.
   */
  reminders: z.array(z.number()).max(100).optional(),
  /**
   * Shown as free: the event takes no time from its attendees, so it neither conflicts nor
   * makes anyone busy (a holiday, a reminder to oneself; iCalendar's TRANSP:TRANSPARENT).
   * Default false; on an update, absent keeps what the event has.
   */
  transparent: z.boolean().optional(),
};

/**
 * A new event. Exactly one of `end` and `duration`.
 * `with` makes an appointment; `group` a group event. A conflict for the organizer is
 * refused (409) unless `allowConflict`.
 */
export const CreateEventRequest = z.strictObject({
  ...eventFields,
  end: iso.optional(),
  duration: text(32).optional(),
  with: z.array(username).max(200).optional(),
  group: text(100).optional(),
  allowConflict: z.boolean().optional(),
});
export type CreateEventRequest = z.infer<typeof CreateEventRequest>;

/** Changes to an event. Absent fields keep their value; `repeat: null` ends recurrence. */
export const UpdateEventRequest = z.strictObject({
  title: eventFields.title.optional(),
  start: iso.optional(),
  end: iso.optional(),
  duration: text(32).optional(),
  description: eventFields.description,
  location: eventFields.location,
  visibility: eventFields.visibility,
  repeat: text(500).nullable().optional(),
  alsoOn: eventFields.alsoOn,
  timeZone: eventFields.timeZone,
  reminders: eventFields.reminders,
  transparent: eventFields.transparent,
  with: z.array(username).max(200).optional(),
  allowConflict: z.boolean().optional(),
});
export type UpdateEventRequest = z.infer<typeof UpdateEventRequest>;

/**
 * Answer of creating or updating an event: the event, the organizer's commitments it
 * overlaps (non-empty only with `allowConflict`), and the members it was imposed on although
 * it conflicts with their agenda.
 */
export type ScheduledAnswer = ScheduledEvent;

/** One page of the occurrences expanded inside an interval (see `LIST_PAGE_MAX_ITEMS`). */
export interface EventsAnswer {
  readonly events: readonly EventView[];
  /** The cursor of the next page (`after`), null on the last. */
  readonly next: string | null;
}
/** One event as its viewer sees it, after showing, cancelling or answering an invitation. */
export interface EventAnswer {
  readonly event: EventDetailsView;
}

// ---------------------------------------------------------------------------------------
// Invitations

/**
 * What waits for the caller's answer: one page of invitations to events (by the event's
 * first start, then its id; paged as the lists above are), and the invitations to join
 * groups (all of them, on the first page: at most `MAX_PENDING_GROUP_INVITATIONS`).
 */
export interface InvitationsAnswer {
  readonly invitations: readonly EventDetailsView[];
  /** Oldest first; answer with `POST /v1/groups/:group/join` or `…/decline`. Empty after the first page. */
  readonly groupInvitations: readonly GroupInvitationView[];
  /** The cursor of the next page (`after`), null on the last. */
  readonly next: string | null;
}
/** Accepting an invitation; a conflict is refused unless `allowConflict`. */
export const AcceptRequest = z.strictObject({ allowConflict: z.boolean().optional() });
export type AcceptRequest = z.infer<typeof AcceptRequest>;

/** The body of requests that take none (declining, leaving): no body, or `{}` only. */
export const EmptyRequest = z.strictObject({});
export type EmptyRequest = z.infer<typeof EmptyRequest>;

// ---------------------------------------------------------------------------------------
// Groups

/** A new group. */
export const CreateGroupRequest = z.strictObject({
  name: text(100).min(1),
  kind: z.enum(['flat', 'hierarchical']),
});
export type CreateGroupRequest = z.infer<typeof CreateGroupRequest>;

/** A new member. `level` only in hierarchical groups. */
/** Invites a user to join (they become a member when they join). */
export const AddMemberRequest = z.strictObject({
  username,
  level: z.number().int().min(0).max(1000).optional(),
});
export type AddMemberRequest = z.infer<typeof AddMemberRequest>;

/** The member who becomes a group's owner (the owner asks). */
export const TransferGroupRequest = z.strictObject({ to: username });
export type TransferGroupRequest = z.infer<typeof TransferGroupRequest>;

/** A member's new level (owner only). */
export const ChangeLevelRequest = z.strictObject({ level: z.number().int().min(0).max(1000) });
export type ChangeLevelRequest = z.infer<typeof ChangeLevelRequest>;

/** Declining an invitation to join; `block` also refuses the group's further invitations. */
export const DeclineGroupRequest = z.strictObject({ block: z.boolean().optional() });
export type DeclineGroupRequest = z.infer<typeof DeclineGroupRequest>;

/** After declining (or unblocking): whether an invitation was declined, and whether the group is blocked. */
export interface DeclineGroupAnswer {
  readonly group: string;
  readonly declined: boolean;
  readonly blocked: boolean;
}

/** A group after a change to it, or as shown; null when leaving dissolved it. */
export interface GroupAnswer {
  readonly group: GroupView | null;
}
/** The caller's groups. */
export interface GroupsAnswer {
  readonly groups: readonly GroupView[];
}

// ---------------------------------------------------------------------------------------
// Views of time

/**
 * Agendas of a group's members or of listed users, privacy applied per viewer: one page of
 * entries over all agendas, in target order. An
 * agenda cut by the end of a page goes on at the start of the next one under the same
 * `user`; an agenda with no entries appears once, in order.
 */
export interface AgendasAnswer {
  readonly agendas: readonly AgendaView[];
  readonly next: string | null;
}
/** One page of the caller's conflicts. */
export interface ConflictsAnswer {
  readonly conflicts: readonly ConflictView[];
  readonly next: string | null;
}
/** Maximal gaps of at least the duration asked for. */
export interface FreeAnswer {
  readonly slots: readonly SlotView[];
}

// ---------------------------------------------------------------------------------------
// Interop and live updates

/**
 * Exports are iCalendar documents; each event's UID is the one it was imported with, else
 * its id. An import reads the file's times that name no zone in the `timeZone` asked for
 * (default UTC), and is idempotent by UID: an event whose UID the caller already imported
 * (or exported, for events made here) is updated when the file changed it and otherwise
 * left `unchanged`.
 */
export interface ImportAnswer {
  /** Each event imported, in file order: its UID (derived for VEVENTs without one), its id, and what happened. */
  readonly events: readonly ImportedEventAnswer[];
  /** Events that could not be imported; `index` counts the events of the request, from 0. */
  readonly failed: readonly {
    readonly index: number;
    readonly uid: string | null;
    readonly error: { code: string; message: string };
  }[];
  /**
   * Components of the file that Agenda does not support, with the reason; and parts of the
   * events imported that are not kept (their VALARMs that make no reminder, their
   * ATTENDEEs), each under its event's UID.
   */
  readonly skipped: readonly {
    readonly uid: string | null;
    readonly reason: string;
    /**
     * Set when what was left out is a part of an event that was imported (an alarm, its
     * attendees); absent when a whole component was left out, and from servers that did not
     * say (read as whole).
     */
    readonly part?: true;
  }[];
  /**
   * Events imported otherwise than the file has them, with how and why (a title too long,
   * shortened). Absent from servers that did not say.
   */
  readonly changed?: readonly { readonly uid: string | null; readonly reason: string }[];
  /**
   * The events created or updated whose VEVENT says no CLASS, by UID, and the visibility
   * they were given for it (the request's `visibility`, else public: RFC 5545's default).
   * Google Calendar writes no CLASS for events of default visibility. Absent from servers
   * that did not say, and when there were none.
   */
  readonly withoutClass?: {
    readonly visibility: Visibility;
    readonly uids: readonly string[];
  };
}
export interface ImportedEventAnswer {
  readonly uid: string;
  readonly id: string;
  readonly action: 'created' | 'updated' | 'unchanged';
  /**
   * Set on an `unchanged` event that the file has otherwise, but in a version (SEQUENCE,
   * LAST-MODIFIED) no newer than the one it was imported from: why the agenda's is kept.
   */
  readonly kept?: string;
}
/** A subscription URL for calendar apps; it carries its own token, the only authentication. */
/**
 * A calendar feed just made: its subscription URL (shown this once: the server keeps no copy
 * of its token) and the feed, which `GET /v1/feeds` lists and `DELETE /v1/feeds/:id` revokes.
 */
export interface FeedAnswer {
  readonly url: string;
  readonly feed: FeedView;
}

/** A calendar feed as its owner sees it; the URL is shown only when it is made. */
export interface FeedView {
  readonly id: string;
  readonly label: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** The caller's calendar feeds, oldest first. */
export interface FeedsAnswer {
  readonly feeds: readonly FeedView[];
}

/** A feed revoked: its URL no longer works. */
export interface FeedRevokedAnswer {
  readonly feed: FeedView;
}

/** Naming a calendar feed: what it is for ("phone", "work laptop"). */
export const CreateFeedRequest = z.strictObject({ label: z.string().max(100).optional() });
export type CreateFeedRequest = z.infer<typeof CreateFeedRequest>;

/**
 * A device just added: its app password (shown this once: the server keeps only its hash),
 * the username to give with it, where CalDAV clients find the calendar, and the device, which
 * `GET /v1/devices` lists and `DELETE /v1/devices/:id` revokes.
 */
export interface DeviceAnswer {
  readonly password: string;
  readonly username: string;
  /** The CalDAV server's URL (RFC 6764's `/.well-known/caldav` redirects there too). */
  readonly url: string;
  readonly device: DeviceView;
}

/** A device as its owner sees it: never its app password. */
export interface DeviceView {
  readonly id: string;
  readonly label: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
}

/** The caller's devices, oldest first. */
export interface DevicesAnswer {
  readonly devices: readonly DeviceView[];
}

/** A device revoked: its app password opens nothing any more. */
export interface DeviceRevokedAnswer {
  readonly device: DeviceView;
}

/** Naming a device: where its app password goes ("phone", "Thunderbird at work"). */
export const CreateDeviceRequest = z.strictObject({ label: z.string().max(100).optional() });
export type CreateDeviceRequest = z.infer<typeof CreateDeviceRequest>;

/** Logged out: the session's tokens are refused from now on, on every gateway. */
export interface LogoutAnswer {
  readonly loggedOut: true;
}

/** A password change: the current one proves it is you; every session (and feed) ends. */
export const ChangePasswordRequest = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

/** Deleting the account: the current password proves it is you (a stolen token is not enough). */
export const DeleteAccountRequest = z.strictObject({ password: z.string().min(1).max(1024) });
export type DeleteAccountRequest = z.infer<typeof DeleteAccountRequest>;

/** What deleting an account removed, by kind (server/domain/accounts.ts says what becomes of each). */
export interface AccountRemovals {
  /** Events only you were on: gone. */
  readonly eventsDeleted: number;
  /** Events you organized with others on them: cancelled for them. */
  readonly eventsCancelled: number;
  /** Events you are off now that stay for the others (theirs, or yours already over). */
  readonly eventsLeft: number;
  /** Groups you were a member of that go on without you. */
  readonly groupsLeft: number;
  /** Groups you owned that passed to another member. */
  readonly groupsHandedOver: number;
  /** Groups you were the last member of: dissolved. */
  readonly groupsDissolved: number;
  /** Invitations to groups that were waiting for you: declined. */
  readonly groupInvitationsDeclined: number;
  /** Groups whose invitations you blocked. */
  readonly groupBlocksRemoved: number;
  /** Calendar feeds: their URLs stop working. */
  readonly feedsRevoked: number;
  /** Devices' app passwords (CalDAV): they open nothing any more. */
  readonly devicesRevoked: number;
  /** Sessions (logins on a device): none can be renewed; their tokens were refused already. */
  readonly sessionsEnded: number;
}

/**
 * The account is deleted: its tokens are refused everywhere, its live streams closed, and its
 * username retired (never registered again). `complete` is false when some of its data was
 * still being removed as the answer went out (a large account); the rest goes in the
 * background, and `removed` counts what went before the answer.
 */
export interface AccountDeletedAnswer {
  readonly deleted: true;
  readonly username: string;
  /** ISO 8601, UTC. */
  readonly deletedAt: string;
  readonly complete: boolean;
  readonly removed: AccountRemovals;
}

/**
 * The live update stream: server-sent events of the caller's live updates, one `update` event per
 * change, `data` being a {@link LiveUpdate}; a comment line every 15 s keeps it open. A
 * `resync` event (`data: {"reason"}`) says updates may have been missed (the system's
 * messaging failed over): re-read what you show. A stream lives no longer than the access
 * token that opened it: an `expired` event (`data: {"reason"}`) ends it when that token
 * expires, and the client reopens it at once with a renewed token (updates made in between
 * are not replayed).
 */
export type LiveUpdate =
  | {
      readonly kind: 'event';
      readonly change: string;
      readonly eventId: string;
      readonly by: string;
      readonly at: string;
    }
  | {
      readonly kind: 'group';
      readonly change: string;
      readonly group: string;
      readonly member: string;
      readonly by: string;
      readonly at: string;
    }
  /**
   * `ended`: a session of yours was logged out (`session`, its id), or all of them (`session`
   * null: the password changed); `deleted`: the account was deleted (`session` null). A
   * stream opened by an ended session closes after it.
   */
  | {
      readonly kind: 'session';
      readonly change: string;
      readonly session: string | null;
      readonly at: string;
    };

/** What `/healthz` and `/readyz` answer when all is well. */
export interface HealthAnswer {
  readonly ok: true;
}

/** The error body of every refusal. */
export interface ErrorAnswer {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}
