/**
 * Stored logins, one file per profile under the config directory
 * (`AGENDA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/agenda`, else `~/.config/agenda`):
 * `profiles/<name>.json` holds where to connect (gateways, CA file) and who is logged in
 * (username, access and refresh tokens). The directory is kept at mode 0700 and every profile
 * file at 0600, because the refresh token opens the account for as long as the session lasts. Files are written to a
 * temporary name and renamed, so a crash never leaves half a token behind.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { InvalidInput, Unauthenticated } from '../contract/errors.js';

/** A session obtained by `agenda login`, its tokens as renewed last (cli/http/session-tokens.ts). */
export interface StoredLogin {
  readonly username: string;
  readonly name: string;
  /** The access token. */
  readonly token: string;
  /** ISO instant after which the gateway refuses the access token. */
  readonly expiresAt: string;
  /** Renews the access token; absent from logins stored before sessions could be renewed. */
  readonly refreshToken?: string;
  /** ISO instant the session ends: log in again after it. */
  readonly refreshExpiresAt?: string;
  /** A renewal sent whose answer is not kept yet, to be sent again as it was. */
  readonly pendingRefresh?: { readonly refreshToken: string; readonly key: string };
}

/** What a profile remembers between commands. */
export interface Profile {
  /** Gateways given at login, tried in order when no `--server` is given. */
  readonly servers: readonly string[];
  /** CA file given at login, used when no `--ca` is given. */
  readonly ca: string | null;
  readonly login: StoredLogin | null;
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The config directory from the environment, following the XDG convention. */
export function defaultConfigDir(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env.AGENDA_CONFIG_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : path.join(homedir(), '.config');
  return path.join(base, 'agenda');
}

/** Reads and writes profiles under one config directory. */
export class ProfileStore {
  constructor(readonly configDir: string) {}

  /** The file of a profile; the name becomes a file name, so it is checked first. */
  fileOf(profile: string): string {
    if (!PROFILE_NAME.test(profile)) {
      throw new InvalidInput(
        `"${profile}" is not a profile name (letters, digits, "_" and "-", at most 64)`,
        { field: 'profile' },
      );
    }
    return path.join(this.configDir, 'profiles', `${profile}.json`);
  }

  /** The stored profile, or an empty one when it was never written. */
  async read(profile: string): Promise<Profile> {
    const file = this.fileOf(profile);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { servers: [], ca: null, login: null };
      throw error;
    }
    const parsed = parseProfile(text);
    if (parsed === undefined) {
      throw new Unauthenticated(`the stored login in ${file} is damaged: run agenda login`);
    }
    return parsed;
  }

  /** Replaces the profile; the file is 0600 and its directories 0700 when this returns. */
  async write(profile: string, value: Profile): Promise<void> {
    const file = this.fileOf(profile);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir leaves existing directories as they were: tighten them explicitly.
    await chmod(this.configDir, 0o700);
    await chmod(dir, 0o700);
    const temporary = temporaryFileFor(file);
    await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, file);
  }

  /** Forgets the profile entirely. Resolves to whether there was one. */
  async remove(profile: string): Promise<boolean> {
    const file = this.fileOf(profile);
    try {
      await rm(file);
      return true;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A profile file's content, checked field by field; undefined when it is not one. */
function parseProfile(text: string): Profile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { servers, ca, login } = value;
  if (!Array.isArray(servers) || !servers.every((s) => typeof s === 'string')) return undefined;
  if (ca !== null && typeof ca !== 'string') return undefined;
  if (login === null) return { servers, ca, login: null };
  if (
    !isRecord(login) ||
    typeof login.username !== 'string' ||
    typeof login.name !== 'string' ||
    typeof login.token !== 'string' ||
    typeof login.expiresAt !== 'string' ||
    (login.refreshToken !== undefined && typeof login.refreshToken !== 'string') ||
    (login.refreshExpiresAt !== undefined && typeof login.refreshExpiresAt !== 'string') ||
    (login.pendingRefresh !== undefined &&
      (!isRecord(login.pendingRefresh) ||
        typeof login.pendingRefresh.refreshToken !== 'string' ||
        typeof login.pendingRefresh.key !== 'string'))
  ) {
    return undefined;
  }
  return {
    servers,
    ca,
    login: {
      username: login.username,
      name: login.name,
      token: login.token,
      expiresAt: login.expiresAt,
      ...(typeof login.refreshToken === 'string' ? { refreshToken: login.refreshToken } : {}),
      ...(typeof login.refreshExpiresAt === 'string'
        ? { refreshExpiresAt: login.refreshExpiresAt }
        : {}),
      ...(isRecord(login.pendingRefresh)
        ? {
            pendingRefresh: {
              refreshToken: String(login.pendingRefresh.refreshToken),
              key: String(login.pendingRefresh.key),
            },
          }
        : {}),
    },
  };
}

/** When a stored login ends: its session's end, or its token's for a login of before. */
export function loginEndsAt(login: StoredLogin): string {
  return login.refreshExpiresAt ?? login.expiresAt;
}

let temporaries = 0;

/**
 * A name beside `file` for writing it whole before renaming it over: no two processes share a
 * pid and no two writes of one process a count. (Not random bytes: `node:crypto` and its
 * twenty internal modules cost every command several milliseconds of start-up.)
 */
export function temporaryFileFor(file: string): string {
  temporaries += 1;
  return `${file}.${process.pid}.${temporaries}.tmp`;
}
