/**
 * Where the repository is, and how to start one of its programs (a daemon, the lab's
 * controller, the chaos load) as another Node process.
 *
 * The code runs in one of two forms. Compiled (`npm run build`: `dist/`, what `npm start`,
 * the lab, the Multipass VMs and the `agenda` binary run), or from the TypeScript sources
 * through tsx (the tests, `npx tsx …`, and anything run with `AGENDA_FROM_SOURCES=1`). A
 * process starts its programs in its own form: compiled code starts compiled programs, and
 * code running from sources starts sources — so a test, which runs from sources, always
 * runs the current sources of what it starts, never a `dist/` built from older ones.
 * `AGENDA_FROM_SOURCES=1` makes compiled code start sources too (the CLI and
 * `bin/compiled.js` read it as well); the test configuration (ava.config.js) sets it, for
 * the `agenda` binary the tests run.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This module runs from its TypeScript source (under tsx), not from `dist/`. */
export const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

/** The repository's root, whichever form this runs in (`dist/base/…` is one level deeper). */
export const REPO = resolve(
  fileURLToPath(new URL(RUNNING_FROM_SOURCES ? '..' : '../..', import.meta.url)),
);

/** The compiled code (`npm run build`). */
export const DIST = join(REPO, 'dist');

/**
 * The daemons and their workers' modules bundled (`npm run build`, bin/build.js): one file
 * each, at the path its tsc output has in `dist/`. A daemon loaded from its bundle holds
 * 16–19 MB less (issue 17), so it is started from there when the bundle is as new as `dist/`.
 */
export const DAEMON_BUNDLES = join(DIST, 'daemons');

/** The programs this process starts run from the TypeScript sources (see the module comment). */
export const STARTS_FROM_SOURCES = RUNNING_FROM_SOURCES || process.env.AGENDA_FROM_SOURCES === '1';

/**
 * The Node arguments that run the program whose TypeScript source is `entry` (a path from
 * the repository's root, `server/db/main.ts`, or an absolute one): the source through tsx,
 * or its compiled `dist/` file (see the module comment), or that file's bundle if it has one.
 * Node flags go before them; the program's own arguments after. Run with the repository as
 * the working directory (tsx is found from there).
 */
export function nodeEntry(entry: string): string[] {
  const source = isAbsolute(entry) ? relative(REPO, entry) : entry;
  if (!/\.tsx?$/.test(source) || source.startsWith('..')) {
    throw new Error(`not a TypeScript program of this repository: ${entry}`);
  }
  return STARTS_FROM_SOURCES
    ? ['--import', 'tsx', join(REPO, source)]
    : [compiledFile(source.replace(/\.tsx?$/, '.js'))];
}

/**
 * `dist/daemons/<js>` if bin/build.js bundled it since tsc last compiled (a `dist/` compiled
 * by tsc alone would leave it older than the code beside it), else `dist/<js>`.
 */
export function compiledFile(js: string, dist = DIST): string {
  const bundles = join(dist, 'daemons');
  const bundle = join(bundles, js);
  return existsSync(bundle) &&
    mtimeMs(join(bundles, '.bundled')) >= mtimeMs(join(dist, '.tsbuildinfo'))
    ? bundle
    : join(dist, js);
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The environment for a child that runs the `agenda` binary (`bin/agenda.js`): it runs
 * from the sources when this process starts sources.
 */
export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return STARTS_FROM_SOURCES ? { ...env, AGENDA_FROM_SOURCES: '1' } : env;
}
