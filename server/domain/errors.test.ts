import test from 'ava';
import {
  AgendaError,
  Conflict,
  ERROR_CODES,
  errorFromWire,
  Forbidden,
  Internal,
  InvalidInput,
  NotFound,
  RateLimited,
  TooComplex,
  Unauthenticated,
  Unavailable,
  asAgendaError,
} from '../../contract/errors.js';
import type { ErrorCode, ErrorCodeMapping } from '../../contract/errors.js';

// The error module lives at contract/errors.ts; its tests sit with the domain, its main user.

const samples: readonly AgendaError[] = [
  new InvalidInput('the title cannot be empty', { field: 'title' }),
  new InvalidInput('bad'),
  new Unauthenticated('log in first'),
  new Forbidden('not yours'),
  new NotFound('no event e1'),
  new NotFound('that occurrence was already changed on its own: it is now event x1', {
    detachedEventId: 'x1',
  }),
  new Conflict('overlaps', [
    {
      id: 'e2',
      title: 'Lunch',
      start: '2025-01-01T12:00:00.000Z',
      end: '2025-01-01T13:00:00.000Z',
    },
  ]),
  new Conflict('the username alice is taken'),
  new Unavailable('no leader'),
  new RateLimited('slow down', { retryAfterMs: 500 }),
  new TooComplex('the recurrence rule needs too much work to expand'),
  new Internal('bug'),
];

for (const error of samples) {
  test(`${error.name} "${error.message}" survives the wire`, (t) => {
    const back = errorFromWire(JSON.parse(JSON.stringify(error.toWire())));
    t.is(back.constructor, error.constructor);
    t.is(back.code, error.code);
    t.is(back.message, error.message);
    t.deepEqual(back.toWire(), error.toWire());
    t.is(AgendaError.fromWire(error.toWire()).code, error.code);
  });
}

test('exit codes and HTTP statuses follow the CLI contract', (t) => {
  const expected: Record<ErrorCode, [number, ErrorCodeMapping['exitCode']]> = {
    invalid: [400, 1],
    unauthenticated: [401, 2],
    forbidden: [403, 3],
    not_found: [404, 3],
    conflict: [409, 4],
    rate_limited: [429, 5],
    too_complex: [422, 1],
    unavailable: [503, 5],
    internal: [500, 5],
  };
  for (const [code, [http, exit]] of Object.entries(expected) as Array<
    [ErrorCode, [number, ErrorCodeMapping['exitCode']]]
  >) {
    t.is(ERROR_CODES[code].httpStatus, http, code);
    t.is(ERROR_CODES[code].exitCode, exit, code);
  }
  t.is(new Conflict('x').exitCode, 4);
  t.is(new NotFound('x').httpStatus, 404);
});

test('garbage from the wire becomes an internal error, never a throw', (t) => {
  for (const garbage of [
    null,
    42,
    'oops',
    [],
    {},
    { code: 'invalid' },
    { code: 'teapot', message: 'x' },
  ]) {
    t.is(errorFromWire(garbage).code, 'internal');
  }
  const conflict = errorFromWire({
    code: 'conflict',
    message: 'x',
    details: { conflicts: [{ id: 1 }, { id: 'a', title: 't', start: 's', end: 'e' }] },
  });
  t.true(conflict instanceof Conflict);
  t.is((conflict as Conflict).conflicts.length, 1);
});

test('causes stay home and unknown throwables become Internal', (t) => {
  const cause = new Error('sqlite exploded');
  const wrapped = asAgendaError(cause);
  t.true(wrapped instanceof Internal);
  t.is(wrapped.cause, cause);
  t.false(JSON.stringify(wrapped.toWire()).includes('sqlite'));
  const mine = new Forbidden('no');
  t.is(asAgendaError(mine), mine);
});
