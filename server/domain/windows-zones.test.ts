import test from 'ava';
import { ianaOfWindowsId, ianaOfWindowsZone, WINDOWS_DISPLAY_NAMES } from './windows-zones.js';
import { isIanaZone } from './validation.js';

test('Windows zone ids map to the IANA zones CLDR names for them', (t) => {
  t.is(ianaOfWindowsZone('W. Europe Standard Time'), 'Europe/Berlin');
  t.is(ianaOfWindowsZone('Pacific Standard Time'), 'America/Los_Angeles');
  t.is(ianaOfWindowsZone('Romance Standard Time'), 'Europe/Paris');
  t.is(ianaOfWindowsZone('AUS Eastern Standard Time'), 'Australia/Sydney');
  t.is(ianaOfWindowsZone('E. South America Standard Time'), 'America/Sao_Paulo');
  // Canonical as this process's zone data spells it (ICU keeps Calcutta).
  t.is(ianaOfWindowsZone('India Standard Time'), 'Asia/Calcutta');
});

test('display names, with or without their offset and accents, map as the zone they show', (t) => {
  for (const [name, iana] of [
    ['Canberra, Melbourne, Sydney', 'Australia/Sydney'],
    ['(UTC+10:00) Canberra, Melbourne, Sydney', 'Australia/Sydney'],
    ['(UTC-03:00) Brasília', 'America/Sao_Paulo'],
    ['(GMT-03.00) Brasilia', 'America/Sao_Paulo'],
    ['(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna', 'Europe/Berlin'],
    ['(GMT-06.00) Central Time (US & Canada)', 'America/Chicago'],
    ['(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London', 'Europe/London'],
    ['(UTC) Coordinated Universal Time', 'UTC'],
    ['(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi', 'Asia/Calcutta'],
  ] as const) {
    t.is(ianaOfWindowsZone(name), iana, name);
  }
});

test('every display name in the table stands for a Windows zone CLDR maps', (t) => {
  for (const [display, id] of WINDOWS_DISPLAY_NAMES) {
    const iana = ianaOfWindowsId(id);
    t.not(iana, null, `${display} → ${id}`);
    t.true(isIanaZone(iana ?? ''), `${display} → ${id} → ${String(iana)}`);
  }
});

test('names that are no Windows zone map to nothing', (t) => {
  for (const name of [
    'Mars Standard Time',
    '(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien',
    '',
    'Customized Time Zone',
  ]) {
    t.is(ianaOfWindowsZone(name), null, name);
  }
});
