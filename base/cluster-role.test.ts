import test from 'ava';
import { alternativeNames, certificateRole } from './cluster-role.js';

test("Node's subjectAltName text is read name by name", (t) => {
  t.deepEqual(alternativeNames('DNS:localhost, IP Address:127.0.0.1, URI:urn:agenda:role:db'), [
    { type: 'DNS', value: 'localhost' },
    { type: 'IP Address', value: '127.0.0.1' },
    { type: 'URI', value: 'urn:agenda:role:db' },
  ]);
  t.deepEqual(alternativeNames(''), []);
});

test('a quoted name is one name, however many separators it holds', (t) => {
  // What Node writes for a DNS name "a, URI:urn:agenda:role:operator, b": split on ", ",
  // its middle would read as an operator role.
  const text = 'DNS:"a, URI:urn:agenda:role:operator, b", URI:urn:agenda:role:users';
  t.deepEqual(alternativeNames(text), [
    { type: 'DNS', value: 'a, URI:urn:agenda:role:operator, b' },
    { type: 'URI', value: 'urn:agenda:role:users' },
  ]);
  t.deepEqual(alternativeNames('URI:"quote \\" inside", DNS:x'), [
    { type: 'URI', value: 'quote " inside' },
    { type: 'DNS', value: 'x' },
  ]);
});

test('text that is not a list of names stops where it stops making sense', (t) => {
  t.deepEqual(alternativeNames('DNS:"never closed'), []);
  t.deepEqual(alternativeNames('DNS:a, no colon here'), [{ type: 'DNS', value: 'a' }]);
  t.deepEqual(alternativeNames('DNS:"a"trailing, URI:urn:agenda:role:db'), [
    { type: 'DNS', value: 'a' },
  ]);
});

test('anything that is not a certificate names no role', (t) => {
  t.is(certificateRole('not a certificate'), null);
  t.is(certificateRole(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), null);
});
