/**
 * What the users service's tokens say, shared by the side that signs them (./tokens.ts, where
 * each kind is described) and the side that checks them (./token-verifier.ts).
 */

export const TOKEN_ISSUER = 'agenda-users';
/** Audience of access tokens: the API. */
export const SESSION_AUDIENCE = 'agenda';
/** Audience of refresh tokens: the refresh route only. */
export const REFRESH_AUDIENCE = 'agenda-refresh';
/** Audience of feed tokens: the `.ics` subscription route only. */
export const FEED_AUDIENCE = 'agenda-feed';
/** The `scope` claim of feed tokens. */
export const FEED_SCOPE = 'feed';
/** Audience of device tokens: CalDAV only (server/gateway/caldav.ts). */
export const DEVICE_AUDIENCE = 'agenda-dav';
/** The `scope` claim of device tokens. */
export const DEVICE_SCOPE = 'device';

/**
 * The longest an access token may last: verifiers refuse longer-lived ones (the 12-hour
 * session tokens of before, among others), so a logout's revocation need never be kept
 * longer than this.
 */
export const MAX_ACCESS_TTL_MS = 60 * 60_000;
