/**
 * The project's one error module. Every refusal a user or operator can see is an
 * {@link AgendaError} with a literal `code`; the code — never the message text — is what
 * crosses process boundaries ({@link AgendaError.toWire} / {@link errorFromWire}) and what
 * the gateway maps to an HTTP status and the CLI to an exit code ({@link ERROR_CODES}), so
 * both edges share one source of truth.
 */

/** The kinds of failure, as they appear on the wire. */
export type ErrorCode =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unavailable'
  | 'rate_limited'
  | 'too_complex'
  | 'internal';

/** How each error code surfaces at the two edges of the system. */
export interface ErrorCodeMapping {
  /** Status the HTTPS gateway answers with. */
  readonly httpStatus: number;
  /** Exit status of the `agenda` CLI (0 is success and never appears here). */
  readonly exitCode: 1 | 2 | 3 | 4 | 5;
}

/**
 * The single mapping table. Exit codes follow the CLI contract: 1 usage or invalid input,
 * 2 authentication, 3 not found or forbidden, 4 conflict, 5 service unavailable. Rate
 * limiting and internal faults are the service's problem, not the user's input, and the
 * right reaction to both is "try again later", hence 5. A request that is well formed but
 * too costly to answer (422) is the input's problem and retrying cannot help, hence 1.
 */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeMapping>> = {
  invalid: { httpStatus: 400, exitCode: 1 },
  unauthenticated: { httpStatus: 401, exitCode: 2 },
  forbidden: { httpStatus: 403, exitCode: 3 },
  not_found: { httpStatus: 404, exitCode: 3 },
  conflict: { httpStatus: 409, exitCode: 4 },
  rate_limited: { httpStatus: 429, exitCode: 5 },
  too_complex: { httpStatus: 422, exitCode: 1 },
  unavailable: { httpStatus: 503, exitCode: 5 },
  internal: { httpStatus: 500, exitCode: 5 },
};

/** Exit status of a successful CLI command. */
export const EXIT_OK = 0;

/** HTTP status for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code].httpStatus;
}

/** CLI exit status for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return ERROR_CODES[code].exitCode;
}

/** One occurrence that stands in the way of a scheduling decision, as the user sees it. */
export interface ConflictingEvent {
  readonly id: string;
  readonly title: string;
  /** ISO 8601 UTC. */
  readonly start: string;
  /** ISO 8601 UTC. */
  readonly end: string;
}

/** An error as it travels between processes: the code decides, the message explains. */
export type WireError =
  | {
      readonly code: 'invalid';
      readonly message: string;
      readonly details: { readonly field?: string };
    }
  | {
      readonly code: 'conflict';
      readonly message: string;
      readonly details: { readonly conflicts: readonly ConflictingEvent[] };
    }
  | {
      readonly code: 'rate_limited';
      readonly message: string;
      /** `limit` names the limit that refused (e.g. `login-address`), for clients to tell apart. */
      readonly details: { readonly retryAfterMs?: number; readonly limit?: string };
    }
  | {
      readonly code: 'unauthenticated';
      readonly message: string;
      /**
       * `reason` `token_expired`: the access token ran out, and nothing else is wrong with
       * it: a client holding a refresh token renews it (`POST /v1/sessions/refresh`) and
       * retries, instead of asking the person to log in again.
       */
      readonly details: { readonly reason?: UnauthenticatedReason };
    }
  | {
      readonly code: 'not_found';
      readonly message: string;
      /**
       * `detachedEventId`: what was asked for, an occurrence of a series, was changed on its
       * own and is this event now, where a change to it goes.
       */
      readonly details: { readonly detachedEventId?: string };
    }
  | {
      readonly code: 'unavailable';
      readonly message: string;
      /**
       * `forwarded: false`: the request was refused before it was passed on to any service
       * (the gateway knew the service to be down), so a write certainly did not apply and a
       * client need not wonder whether it did. Absent, a write's fate is unknown: a service
       * may have it still.
       */
      readonly details: { readonly forwarded?: false };
    }
  | {
      readonly code: 'forbidden' | 'too_complex' | 'internal';
      readonly message: string;
      readonly details: Readonly<Record<string, never>>;
    };

/** Why a token was refused, where a client acts on it (see `WireError`). */
export type UnauthenticatedReason = 'token_expired';

/** Base of every error the project raises on purpose. `message` is a reason a person understands. */
export abstract class AgendaError extends Error {
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** HTTP status from {@link ERROR_CODES}. */
  get httpStatus(): number {
    return httpStatusFor(this.code);
  }

  /** CLI exit status from {@link ERROR_CODES}. */
  get exitCode(): number {
    return exitCodeFor(this.code);
  }

  /** The wire form. The cause stays behind: it may hold internals that are not the peer's business. */
  abstract toWire(): WireError;

  /** Inverse of {@link AgendaError.toWire}; see {@link errorFromWire}. */
  static fromWire(wire: unknown): AgendaError {
    return errorFromWire(wire);
  }
}

/** The input breaks a rule (bad title, end before start, malformed RRULE, unknown field…). */
export class InvalidInput extends AgendaError {
  readonly code = 'invalid' as const;
  override readonly name = 'InvalidInput';
  /** The input field at fault, when there is one (e.g. `title`, `start`, `recurrence`). */
  readonly field: string | undefined;

  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options);
    this.field = options?.field;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      details: this.field === undefined ? {} : { field: this.field },
    };
  }
}

/** No valid credentials came with the request. */
export class Unauthenticated extends AgendaError {
  readonly code = 'unauthenticated' as const;
  override readonly name = 'Unauthenticated';
  /** Set when the client can do something about it other than logging in again. */
  readonly reason: UnauthenticatedReason | undefined;

  constructor(message: string, options?: { reason?: UnauthenticatedReason; cause?: unknown }) {
    super(message, options);
    this.reason = options?.reason;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      details: this.reason === undefined ? {} : { reason: this.reason },
    };
  }
}

/** The caller is known but the rules do not let them do this. */
export class Forbidden extends AgendaError {
  readonly code = 'forbidden' as const;
  override readonly name = 'Forbidden';

  toWire(): WireError {
    return { code: this.code, message: this.message, details: {} };
  }
}

/** The user, group or event named does not exist (or is not the caller's to see). */
export class NotFound extends AgendaError {
  readonly code = 'not_found' as const;
  override readonly name = 'NotFound';
  /**
   * Set when the occurrence of a series asked for was changed on its own: the id of the
   * event it became, which a client can offer to act on instead.
   */
  readonly detachedEventId: string | undefined;

  constructor(message: string, options?: { detachedEventId?: string; cause?: unknown }) {
    super(message, options);
    this.detachedEventId = options?.detachedEventId;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      details: this.detachedEventId === undefined ? {} : { detachedEventId: this.detachedEventId },
    };
  }
}

/**
 * The request collides with existing state: a scheduling conflict (then `conflicts` lists
 * the occurrences in the way) or a taken name (then `conflicts` is empty).
 */
export class Conflict extends AgendaError {
  readonly code = 'conflict' as const;
  override readonly name = 'Conflict';
  readonly conflicts: readonly ConflictingEvent[];

  constructor(
    message: string,
    conflicts: readonly ConflictingEvent[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.conflicts = conflicts;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, details: { conflicts: this.conflicts } };
  }
}

/** A part of the system needed to answer is down or has no leader right now; retry later. */
export class Unavailable extends AgendaError {
  readonly code = 'unavailable' as const;
  override readonly name = 'Unavailable';
  /**
   * False when the request was refused before it was passed on to any service, so a write
   * certainly did not apply; undefined when that is not known (see `WireError`).
   */
  readonly forwarded: false | undefined;

  constructor(message: string, options?: { forwarded?: false; cause?: unknown }) {
    super(message, options);
    this.forwarded = options?.forwarded;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      details: this.forwarded === false ? { forwarded: false } : {},
    };
  }
}

/** The caller sent too much too fast. */
export class RateLimited extends AgendaError {
  readonly code = 'rate_limited' as const;
  override readonly name = 'RateLimited';
  readonly retryAfterMs: number | undefined;
  /** Which limit refused, when the refuser names it. */
  readonly limit: string | undefined;

  constructor(
    message: string,
    options?: { retryAfterMs?: number; limit?: string; cause?: unknown },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.limit = options?.limit;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      details: {
        ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
        ...(this.limit === undefined ? {} : { limit: this.limit }),
      },
    };
  }
}

/**
 * The input is well formed but answering it would take more work than one request is
 * allowed (a recurrence whose expansion exceeds its step budget). Deterministic: the same
 * input is refused the same way on every replica, and retrying cannot help.
 */
export class TooComplex extends AgendaError {
  readonly code = 'too_complex' as const;
  override readonly name = 'TooComplex';

  toWire(): WireError {
    return { code: this.code, message: this.message, details: {} };
  }
}

/** A bug or broken invariant on our side. */
export class Internal extends AgendaError {
  readonly code = 'internal' as const;
  override readonly name = 'Internal';

  toWire(): WireError {
    return { code: this.code, message: this.message, details: {} };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isConflictingEvent(value: unknown): value is ConflictingEvent {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.title === 'string' &&
    typeof value.start === 'string' &&
    typeof value.end === 'string'
  );
}

/**
 * Rebuilds an error received from another process. Never throws: anything that is not a
 * well-formed wire error becomes an {@link Internal} error saying so, because a peer that
 * speaks garbage is our fault, not the user's.
 */
export function errorFromWire(wire: unknown): AgendaError {
  if (!isRecord(wire) || typeof wire.code !== 'string' || typeof wire.message !== 'string') {
    return new Internal('received a malformed error from another service');
  }
  const { message } = wire;
  const details = isRecord(wire.details) ? wire.details : {};
  switch (wire.code) {
    case 'invalid':
      return new InvalidInput(
        message,
        typeof details.field === 'string' ? { field: details.field } : undefined,
      );
    case 'unauthenticated':
      return new Unauthenticated(
        message,
        details.reason === 'token_expired' ? { reason: details.reason } : undefined,
      );
    case 'forbidden':
      return new Forbidden(message);
    case 'not_found':
      return new NotFound(
        message,
        typeof details.detachedEventId === 'string'
          ? { detachedEventId: details.detachedEventId }
          : undefined,
      );
    case 'conflict': {
      const conflicts = Array.isArray(details.conflicts)
        ? details.conflicts.filter(isConflictingEvent)
        : [];
      return new Conflict(message, conflicts);
    }
    case 'unavailable':
      return new Unavailable(
        message,
        details.forwarded === false ? { forwarded: false } : undefined,
      );
    case 'rate_limited':
      return new RateLimited(message, {
        ...(typeof details.retryAfterMs === 'number' ? { retryAfterMs: details.retryAfterMs } : {}),
        ...(typeof details.limit === 'string' ? { limit: details.limit } : {}),
      });
    case 'too_complex':
      return new TooComplex(message);
    case 'internal':
      return new Internal(message);
    default:
      return new Internal(`received an error with unknown code ${JSON.stringify(wire.code)}`);
  }
}

/** Narrowing helper for catch blocks. */
export function isAgendaError(error: unknown): error is AgendaError {
  return error instanceof AgendaError;
}

/**
 * Wraps anything thrown into an {@link AgendaError}: ours pass through, anything else is an
 * {@link Internal} error that keeps the original as its cause.
 */
export function asAgendaError(error: unknown): AgendaError {
  if (error instanceof AgendaError) return error;
  return new Internal('an unexpected error occurred', { cause: error });
}
