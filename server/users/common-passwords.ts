/**
 * The passwords people use most, which a registration may not choose: the first guesses of
 * every attacker, tried against each account before anything else, so no hashing cost
 * protects them.
 *
 * `common-passwords.txt` beside this file is the 10,000 most frequent passwords, most
 * frequent first, one per line: the first 10,000 entries of `src/passwords.json` in the npm
 * package `@zxcvbn-ts/language-common` 4.1.3 (MIT License, © 2012-2016 Dan Wheeler and
 * Dropbox, Inc., © 2021 zxcvbn-ts), the frequency list zxcvbn's own estimator draws on.
 * Only those of at least `PASSWORD_MIN_LENGTH` characters matter (about 3,500): the shorter
 * ones are refused for their length first. To rebuild it:
 *
 *     npm pack @zxcvbn-ts/language-common@4.1.3 && tar xzf zxcvbn-ts-language-common-4.1.3.tgz
 *     node -e 'console.log(require("./package/src/passwords.json").slice(0, 10000).join("\n"))' \
 *       > server/users/common-passwords.txt
 */
import { readFileSync } from 'node:fs';
import { InvalidInput } from '../../contract/errors.js';

const LIST_FILE = new URL('./common-passwords.txt', import.meta.url);

let common: ReadonlySet<string> | null = null;

/** The list, lowercased, read once on first use (a registration), not at start-up. */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(LIST_FILE, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.toLowerCase()),
  );
  return common;
}

/** Whether `password` is on the list, in any letter case (`PassWord1` is `password1`). */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/**
 * Refuses a password an attacker tries first: one on the list, one that is the account's own
 * username, one character repeated (`aaaaaaaa`, eight spaces), white space alone, or one
 * holding control characters (a NUL ends the password in more than one client's C string).
 * @throws InvalidInput (400, field `password`) saying why.
 */
export function refuseCommonPassword(password: string, username: string): void {
  const why = guessable(password, username);
  if (why !== null) throw new InvalidInput(`${why}; choose another`, { field: 'password' });
}

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function guessable(password: string, username: string): string | null {
  if (CONTROL.test(password)) return 'a password may not hold control characters';
  if (password.trim() === '') return 'a password cannot be white space alone';
  const [first] = [...password];
  if ([...password].every((c) => c === first)) {
    return 'this password is one character repeated';
  }
  if (password.toLowerCase() === username.toLowerCase()) return 'this password is your username';
  if (isCommonPassword(password)) return 'this password is among the most commonly used';
  return null;
}
