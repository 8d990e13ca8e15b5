import test from 'ava';
import { Conflict, InvalidInput } from '../../contract/errors.js';
import { registerUser } from './users.js';
import { validatePassword } from './validation.js';

test('registering inserts the user, display name defaulting to the username', (t) => {
  const d = registerUser({ username: 'alice' }, { existing: undefined });
  t.deepEqual(d.result, { username: 'alice', displayName: 'alice' });
  t.deepEqual(d.mutations, [{ kind: 'insertUser', user: d.result }]);
  const named = registerUser(
    { username: 'bob.smith', displayName: '  Bob Smith ' },
    { existing: undefined },
  );
  t.is(named.result.displayName, 'Bob Smith');
});

test('a taken username is a conflict', (t) => {
  const error = t.throws(() =>
    registerUser({ username: 'alice' }, { existing: { username: 'alice', displayName: 'A' } }),
  );
  t.true(error instanceof Conflict);
  t.regex(error.message, /taken/);
});

const badUsernames: ReadonlyArray<[string, RegExp]> = [
  ['al', /3 to 32/],
  ['a'.repeat(33), /3 to 32/],
  ['Alice', /lowercase/],
  ['al ice', /lowercase/],
  ['-alice', /starts with/],
  ['ålice', /lowercase/],
];
for (const [username, reason] of badUsernames) {
  test(`username ${JSON.stringify(username)} is refused`, (t) => {
    const error = t.throws(() => registerUser({ username }, { existing: undefined }));
    t.true(error instanceof InvalidInput);
    t.regex(error.message, reason);
    t.is((error as InvalidInput).field, 'username');
  });
}

test('usernames may use digits, dots, dashes and underscores', (t) => {
  for (const username of ['abc', 'a.b-c_d', '007', 'x'.repeat(32)]) {
    t.notThrows(() => registerUser({ username }, { existing: undefined }), username);
  }
});

test('display names are one line', (t) => {
  t.throws(
    () => registerUser({ username: 'alice', displayName: 'A\nB' }, { existing: undefined }),
    { instanceOf: InvalidInput },
  );
});

test('passwords have 8 to 1024 characters', (t) => {
  t.throws(() => validatePassword('short'), { instanceOf: InvalidInput, message: /at least 8/ });
  t.throws(() => validatePassword('x'.repeat(1025)), { instanceOf: InvalidInput });
  t.notThrows(() => validatePassword('correct horse'));
});
