/**
 * How our daemons log in to Redis, and how they say so when Redis refuses them.
 *
 * Every Redis of the cluster runs with one ACL user per role (./acl.ts) and its `default`
 * user switched off, so a certificate of the cluster CA (which `tls-auth-clients` still
 * requires) no longer opens Redis on its own: the client also logs in as its role's user with
 * that user's password. Redis 7.0 cannot take the user from the client certificate (it has no
 * `tls-auth-clients-user`), hence passwords: one per role, generated when the system is
 * prepared, kept in a file of mode 0600 next to the certificates, and named in each daemon's
 * config as `"redisAuth": { "user": "gateway", "passwordFile": "pki/redis-gateway.password" }`.
 *
 * A command the role may not run is answered `NOPERM …` (from a script: "The user executing
 * the script can't …"); a wrong or missing password `WRONGPASS …` / `NOAUTH …`.
 * {@link RefusalLog} logs each such refusal once per command with the user and the command,
 * and {@link AclRedis} reports every command's refusal to it, whoever issued the command (the
 * bus, the rate limiter, a script, the connection's own handshake). The caller still gets the
 * error, and handles it as any other failed command: nothing crashes.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { RedisCredentials } from './redis-credentials.js';

// The users and the config section, for the clients that log in (./redis-credentials.ts).
export {
  REDIS_USERS,
  RedisAuthSchema,
  readRedisCredentials,
  type RedisAuthFile,
  type RedisCredentials,
  type RedisUser,
} from './redis-credentials.js';

/** The ioredis options that log in as `credentials` (none: Redis's `default` user). */
export function loginOptions(credentials: RedisCredentials | undefined): RedisOptions {
  return credentials === undefined
    ? {}
    : { username: credentials.user, password: credentials.password };
}

/** Whether a Redis error says the user may not do this, or could not log in at all. */
export function isAccessRefusal(message: string): boolean {
  return (
    /^(NOPERM|NOAUTH|WRONGPASS)\b/.test(message) ||
    // Redis 7.0 reports a refused command inside a script as a plain ERR.
    message.includes('The user executing the script can')
  );
}

/** What a refusal log writes to. */
export interface RefusalLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Distinct refusals logged at most: the rest would be the same mistake again. */
const MAX_LOGGED_REFUSALS = 100;

/**
 * Logs each refusal by Redis once: the first `NOPERM` of a command, with the ACL user it
 * was refused to and the command, so a missing grant shows up once in the log, not once per
 * request; and a failed login (`WRONGPASS`, then `NOAUTH` for whatever follows) once in all.
 * Errors that are not refusals are ignored here.
 */
export class RefusalLog {
  private readonly seen = new Set<string>();
  private refusals = 0;

  constructor(
    /** The ACL user the client logs in as; `default` without credentials. */
    readonly user: string,
    private readonly logger: RefusalLogger,
  ) {}

  /** Refusals noted so far, logged or not. */
  get count(): number {
    return this.refusals;
  }

  /** Notes the outcome of `command` (as ACL rules name it: `xadd`, `client|unblock`). */
  note(command: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (!isAccessRefusal(message)) return;
    this.refusals++;
    const login = /^(NOAUTH|WRONGPASS)\b/.test(message);
    const key = login ? 'login' : `${command} ${message}`;
    if (this.seen.has(key) || this.seen.size >= MAX_LOGGED_REFUSALS) return;
    this.seen.add(key);
    this.logger.warn(
      login ? 'Redis refused the login of this role' : 'Redis refused a command to this role',
      { user: this.user, command, error: message },
    );
  }
}

/** Commands whose ACL rules name a subcommand: `client|setname`, `xgroup|create`. */
const CONTAINER_COMMANDS: ReadonlySet<string> = new Set([
  'acl',
  'client',
  'cluster',
  'command',
  'config',
  'function',
  'memory',
  'module',
  'object',
  'pubsub',
  'script',
  'slowlog',
  'xgroup',
  'xinfo',
]);

/** A command as ACL rules name it. */
export function aclCommandName(name: string, args: readonly unknown[]): string {
  const command = name.toLowerCase();
  const sub = args[0];
  if (!CONTAINER_COMMANDS.has(command)) return command;
  return typeof sub === 'string' || Buffer.isBuffer(sub)
    ? `${command}|${sub.toString().toLowerCase()}`
    : command;
}

/**
 * An ioredis client that tells a {@link RefusalLog} about every command Redis refuses.
 * Everything goes through `sendCommand` — direct calls, pipelines, scripts defined by other
 * libraries, the AUTH and CLIENT SETNAME of each (re)connection — so one hook sees it all.
 */
export class AclRedis extends Redis {
  // Not an ES private field: the base constructor may send before this one assigns it.
  private refusals: RefusalLog | undefined;

  constructor(options: RedisOptions, refusals: RefusalLog) {
    super(options);
    this.refusals = refusals;
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const sent = super.sendCommand(...args);
    const [command] = args;
    command.promise.catch((error: unknown) =>
      this.refusals?.note(aclCommandName(command.name, command.args), error),
    );
    return sent;
  }
}
