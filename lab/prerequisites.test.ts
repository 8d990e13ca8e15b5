import { existsSync } from 'node:fs';
import test from 'ava';
import {
  ensurePrerequisites,
  LAB_PREREQUISITES,
  JEMALLOC,
  MissingPrerequisites,
  missing,
  onPath,
} from './prerequisites.js';

const only =
  (...programs: string[]) =>
  (program: string) =>
    programs.includes(program);

test('every lab program is looked for, and found where Debian puts it', (t) => {
  t.deepEqual(
    LAB_PREREQUISITES.map((p) => p.program),
    ['ip', 'iptables', 'arping', 'sysctl', 'redis-server', JEMALLOC.program],
  );
  // A library is looked for where it is.
  t.is(onPath(JEMALLOC.program), existsSync(JEMALLOC.program));
  t.false(onPath('/nonexistent/libsurely-not.so'));
  // sbin is searched even when the PATH lacks it (a non-login root shell).
  t.true(onPath('sh', { PATH: '/nonexistent' }));
  t.false(onPath('surely-not-a-program-here', { PATH: '/usr/bin' }));
  t.deepEqual(
    missing(LAB_PREREQUISITES, only('ip', 'sysctl', 'redis-server', JEMALLOC.program)).map(
      (p) => p.program,
    ),
    ['iptables', 'arping'],
  );
});

test('nothing missing: nothing is installed and nothing said', (t) => {
  const said: string[] = [];
  let installs = 0;
  ensurePrerequisites(LAB_PREREQUISITES, {
    say: (line) => said.push(line),
    installed: () => true,
    canInstall: true,
    install: () => installs++,
  });
  t.deepEqual(said, []);
  t.is(installs, 0);
});

test('what is missing is installed in one go, each package once', (t) => {
  const present = new Set(['ip', 'sysctl', JEMALLOC.program]);
  const installed: string[][] = [];
  const said: string[] = [];
  ensurePrerequisites(LAB_PREREQUISITES, {
    say: (line) => said.push(line),
    installed: (program) => present.has(program),
    canInstall: true,
    install: (packages) => {
      installed.push([...packages]);
      for (const p of ['iptables', 'arping', 'redis-server']) present.add(p);
    },
  });
  t.deepEqual(installed, [['iptables', 'iputils-arping', 'redis-server']]);
  t.regex(said[0] ?? '', /missing: iptables, arping, redis-server; installing/);
});

test('without root the error names every missing program, why, and the command', (t) => {
  const error = t.throws(
    () =>
      ensurePrerequisites(LAB_PREREQUISITES, {
        say: () => {},
        installed: only('ip', 'sysctl', 'redis-server', JEMALLOC.program),
        canInstall: false,
      }),
    { instanceOf: MissingPrerequisites },
  );
  t.regex(error.message, /iptables \(Debian package iptables\): partitions/);
  t.regex(error.message, /arping \(Debian package iputils-arping\): announcing the VIP/);
  t.regex(error.message, /On Debian: sudo apt-get install -y iptables iputils-arping$/);
});

test('an install that fails or leaves a program missing still says what is missing', (t) => {
  const said: string[] = [];
  const error = t.throws(
    () =>
      ensurePrerequisites(LAB_PREREQUISITES, {
        say: (line) => said.push(line),
        installed: only('ip', 'iptables', 'arping', 'sysctl', JEMALLOC.program),
        canInstall: true,
        install: () => {
          throw new Error('Could not get lock /var/lib/dpkg/lock-frontend');
        },
      }),
    { instanceOf: MissingPrerequisites },
  );
  t.true(said.some((line) => /apt-get failed: Could not get lock/.test(line)));
  t.regex(error.message, /redis-server \(Debian package redis-server\)/);
});
