/**
 * The protocol's codec: strict, versioned, and refusing with the field at fault.
 */
import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import {
  decodeCommand,
  decodeQuery,
  encodeCommand,
  encodeQuery,
  parseCommand,
} from './protocol.js';
import type { StoreCommand, StoreQuery } from './protocol.js';

const command: StoreCommand = {
  v: 1,
  requestId: 'r-1',
  actor: 'alice',
  at: Date.UTC(2025, 0, 1),
  ids: ['e-1'],
  body: {
    type: 'event.create',
    draft: { title: 'Standup', start: Date.UTC(2025, 1, 3, 9), end: Date.UTC(2025, 1, 3, 10) },
    with: ['bob'],
  },
};

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function refusal(run: () => unknown): InvalidInput {
  const error = (() => {
    try {
      run();
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  if (!(error instanceof InvalidInput)) throw new Error('expected an InvalidInput');
  return error;
}

test('commands and queries round-trip through their bytes', (t) => {
  t.deepEqual(decodeCommand(encodeCommand(command)), command);
  const query: StoreQuery = {
    v: 1,
    actor: 'alice',
    at: 0,
    body: { type: 'agenda.view', targets: { users: ['bob'] }, from: 0, to: 1000 },
  };
  t.deepEqual(decodeQuery(encodeQuery(query)), query);
});

test('decoding refuses what is not a command of this version, naming the field', (t) => {
  t.regex(refusal(() => decodeCommand(new Uint8Array([0xc3, 0x28]))).message, /UTF-8/);
  t.regex(refusal(() => decodeCommand(bytes('x').subarray(1))).message, /JSON/);
  t.is(refusal(() => decodeCommand(bytes({ ...command, v: 2 }))).field, 'v');
  t.is(refusal(() => decodeCommand(bytes({ ...command, at: -1 }))).field, 'at');
  t.is(refusal(() => decodeCommand(bytes({ ...command, requestId: 'a b' }))).field, 'requestId');
  t.is(refusal(() => decodeCommand(bytes({ ...command, surprise: 1 }))).field, undefined);
  t.is(
    refusal(() =>
      decodeCommand(bytes({ ...command, body: { ...command.body, draft: { title: 'x' } } })),
    ).field,
    'body.draft.start',
  );
  t.is(
    refusal(() => decodeCommand(bytes({ ...command, body: { type: 'event.explode' } }))).field,
    'body.type',
  );
  t.is(
    refusal(() =>
      decodeQuery(bytes({ v: 1, actor: null, at: 0, body: { type: 'event.list', from: 0 } })),
    ).field,
    'body.to',
  );
});

test('encoding validates too, so a bad command is caught by its sender', (t) => {
  const bad = { ...command, ids: ['not an id!'] };
  t.is(refusal(() => encodeCommand(bad)).field, 'ids.0');
  t.is(refusal(() => parseCommand({ ...command, at: 1.5 })).field, 'at');
});
