/**
 * Accounts. A username is unique, 3–32 characters of lowercase letters, digits and
 * `-_.`, starting with a letter or digit; the display name defaults to the username.
 * Passwords are checked here (8–1024 characters) but hashed and kept by the users service.
 */
import { Conflict } from '../../contract/errors.js';
import { decide } from './decisions.js';
import { validateDisplayName, validateUsername } from './validation.js';
import type { Decision, User } from './types.js';

export interface RegisterUserCommand {
  readonly username: string;
  readonly displayName?: string;
}

export interface RegisterUserContext {
  /** The user already holding that username, if any. */
  readonly existing: User | undefined;
  /**
   * Whether the username belonged to an account that was deleted: it is retired, never given
   * again (see accounts.ts), and answered as taken, like a name in use.
   */
  readonly retired?: boolean;
}

/**
 * Registers a user.
 * @throws InvalidInput (username or display name), Conflict (username taken or retired).
 */
export function registerUser(
  command: RegisterUserCommand,
  context: RegisterUserContext,
): Decision<User> {
  const username = validateUsername(command.username);
  const displayName = validateDisplayName(command.displayName, username);
  if (context.existing !== undefined || context.retired === true) {
    throw new Conflict(`the username ${username} is taken`);
  }
  const user: User = { username, displayName };
  return decide(user, [{ kind: 'insertUser', user }], []);
}
