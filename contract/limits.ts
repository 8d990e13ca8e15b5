/**
 * The named bounds of the calendar. They keep every decision cheap and every input sane;
 * the store and the clients may show them to users, so they live in one place.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 32;
export const GROUP_NAME_MIN_LENGTH = 2;
export const GROUP_NAME_MAX_LENGTH = 64;
export const DISPLAY_NAME_MAX_LENGTH = 100;
export const PASSWORD_MIN_LENGTH = 8;
/** scrypt is fed the whole password; an upper bound keeps hashing cost bounded. */
export const PASSWORD_MAX_LENGTH = 1024;

export const TITLE_MAX_LENGTH = 200;
export const DESCRIPTION_MAX_LENGTH = 5000;
export const LOCATION_MAX_LENGTH = 500;

/**
 * Reminders one event may carry ("10 minutes before", "a day before"): a few are useful,
 * more are noise, and each is announced by every watcher of every attendee.
 */
export const MAX_REMINDERS = 5;
/** Earliest a reminder may come before its event, in minutes: 4 weeks. */
export const MAX_REMINDER_MINUTES = 4 * 7 * 24 * 60;

/** Longest single occurrence. Longer spans are not appointments but periods. */
export const MAX_EVENT_DURATION_MS = 31 * DAY;

/** Instants outside these bounds are almost surely typos (or attacks on date arithmetic). */
export const EARLIEST_INSTANT = Date.UTC(1970, 0, 1);
export const LATEST_INSTANT = Date.UTC(2200, 0, 1);

/**
 * How far conflicts of a recurring event are checked: from the later of its start and
 * "now", this far ahead. Occurrences beyond it are not compared, which keeps acceptance and
 * creation cost bounded even for endless series.
 */
export const CONFLICT_HORIZON_MS = 2 * 366 * DAY;

/**
 * Most conflicting occurrences a refusal or a scheduled event lists (the earliest ones):
 * enough to say what is in the way. Finding them stops there, so a daily series over an
 * agenda of other daily series costs what 100 conflicts cost, not what 700 days of them do.
 */
export const MAX_REPORTED_CONFLICTS = 100;

/** Longest interval a list, agenda, conflicts or free-time query may span. */
export const MAX_QUERY_SPAN_MS = 366 * DAY;
/** The longest text `GET /v1/search` looks for (it needs at least one non-blank character). */
export const SEARCH_TEXT_MAX_LENGTH = 200;

export const MAX_RRULE_INTERVAL = 999;
export const MAX_RRULE_COUNT = 5000;
/**
 * Candidate days one expansion call (a validation, an expansion, a `seriesEnd`) may examine
 * before it is refused as too complex. Walks compute each period's candidates directly and
 * never go past {@link LATEST_INSTANT}, so a walk over the whole domain examines at most
 * about 85,000 days (one per day from 1970 to 2200, plus one per empty period), and a call
 * makes at most two walks: a correct rule never comes near this. It is the safety net that
 * keeps a replicated state machine from hanging on a bug, deterministically.
 */
export const MAX_RECURRENCE_STEPS = 200_000;
export const MAX_EXCEPTIONS = 1000;
/** Occurrences a series may have besides its rule's (RDATE). */
export const MAX_ADDITIONS = 1000;
/** People invited by name (`--with`) to one event. */
export const MAX_INVITEES = 100;
/** Deepest rank in a hierarchical group. */
export const MAX_LEVEL = 1000;
/** Members of one group (every group event has them all as attendees). */
export const MAX_GROUP_MEMBERS = 1000;

/**
 * Group invitations waiting for one user's answer, at most: anyone may create groups and
 * invite anyone, so without a bound a stranger could bury a user's `invite list` (and make
 * every read of it load thousands of groups).
 */
export const MAX_PENDING_GROUP_INVITATIONS = 100;

/**
 * Of those, at most this many from one inviter: with the cap alone, one account that made a
 * hundred groups and invited a user to each shut out every other inviter (an outside attack
 * did). An owner of ten teams still invites a colleague to all of them.
 */
export const MAX_PENDING_GROUP_INVITATIONS_FROM_ONE = 10;

export const TIME = { SECOND, MINUTE, HOUR, DAY } as const;

/**
 * Most events (VEVENTs that are not changed occurrences) one import request may carry, and
 * its largest size: each request is one store command, so these bound what a command costs.
 * `agenda import` splits bigger files into requests within both.
 */
export const MAX_IMPORT_CHUNK_EVENTS = 200;
/**
 * Most drafts one store command may carry. Requests carry fewer
 * ({@link MAX_IMPORT_CHUNK_EVENTS}); this bounds commands logged when a whole file was one.
 */
export const MAX_IMPORTED_EVENTS = 5000;
export const MAX_IMPORT_CHUNK_BYTES = 1024 * 1024;

/**
 * Most occurrences changed on their own that cancelling their series cancels with it. They
 * go in the series' command, each an event written and its attendees told, so this bounds
 * that command as {@link MAX_IMPORT_CHUNK_EVENTS} bounds an import request's. A series with
 * more is refused until some of them are cancelled on their own, rather than cancelled
 * with some of its moved occurrences left on everyone's calendar.
 */
export const MAX_DETACHED_CANCELLED_WITH_SERIES = MAX_IMPORT_CHUNK_EVENTS;

/**
 * Most changed or cancelled occurrences (iCalendar RECURRENCE-ID components) one imported
 * series may carry. Each moved one becomes an event detached from the series, so the bound
 * is {@link MAX_DETACHED_CANCELLED_WITH_SERIES}: a series an import made can always be
 * cancelled whole, with every occurrence the import moved.
 */
export const MAX_IMPORTED_OCCURRENCES_PER_SERIES = MAX_DETACHED_CANCELLED_WITH_SERIES;

/**
 * Most occurrences changed on their own that one answer to their series (accepting or
 * declining it) reaches: each is an attendee row written and its people told, in the
 * series' command, so this bounds that command as {@link MAX_DETACHED_CANCELLED_WITH_SERIES}
 * bounds a cancellation. A series with more is refused rather than answered with some of
 * them left as they were; answering some of them on their own takes them out of its reach.
 */
export const MAX_DETACHED_ANSWERED_WITH_SERIES = MAX_IMPORT_CHUNK_EVENTS;

/**
 * Most occurrences of one series changed on their own (live events detached from it) at
 * once. Cancelling the series, or answering it, takes every one of them along in its one
 * command, which {@link MAX_DETACHED_CANCELLED_WITH_SERIES} and
 * {@link MAX_DETACHED_ANSWERED_WITH_SERIES} bound: a series with more could be neither
 * cancelled nor answered whole. So changing one more occurrence on its own is refused at
 * this many (cancelling one of them makes room), as an import that would leave more is.
 */
export const MAX_DETACHED_PER_SERIES = Math.min(
  MAX_DETACHED_CANCELLED_WITH_SERIES,
  MAX_DETACHED_ANSWERED_WITH_SERIES,
);

/** Items per page of a list when the caller names no `limit`, and the most it may ask for. */
export const MAX_PAGE_SIZE = 500;

/**
 * The most resources one CalDAV listing answers (a PROPFIND of depth 1, a calendar-query):
 * past it the answer says it was cut (DAV:number-of-matches-within-limits, 507).
 */
export const MAX_CALENDAR_RESOURCES = 2000;
/**
 * The most iCalendar text one CalDAV listing with calendar data carries (2,000 resources of
 * long descriptions would be megabytes past what the services pass on): past it the listing
 * is cut as past {@link MAX_CALENDAR_RESOURCES}.
 */
export const MAX_CALENDAR_DATA_BYTES = 2 * 1024 * 1024;
/** The most resources one CalDAV calendar-multiget asks for. */
export const MAX_CALENDAR_RESOURCES_PER_READ = 200;
