#!/usr/bin/env node
// `npm run build` (and `npm ci`, through `prepare`): compiles the programs — the daemons, their
// workers, the lab, `npm start`, the benchmarks and the CLI's commands — and everything they
// import into dist/ (tsconfig.build.json), so that they run on plain Node, without tsx
// compiling TypeScript in every process at start-up. Then, in dist/:
//
// - removes what a deleted source left behind (tsc never deletes an output), so that a
//   removed command cannot live on in the CLI;
// - copies the files the code loads beside itself (`new URL('./x', import.meta.url)`);
// - writes the CLI's oclif root: a package.json naming the compiled commands, and
//   oclif.manifest.json, which describes every command (flags, arguments, help) so that
//   `agenda` imports only the command it runs. The manifest is made again whenever tsc
//   emitted anything or package.json changed: it is never older than the commands;
// - bundles the daemons and their workers' modules into dist/daemons/ (bundleDaemons), which
//   base/entry-points.ts starts instead of their tsc output: each holds 16–19 MB less.
//
// The compilation is incremental (dist/.tsbuildinfo): with nothing changed it takes about a
// second, which is why `npm start` and `npm run lab` run it first (bin/compiled.js). Run as
// root through sudo, it builds as the user who ran sudo, so dist/ stays theirs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(REPO, 'dist');
const BUILD_INFO = join(DIST, '.tsbuildinfo');
const MANIFEST = join(DIST, 'oclif.manifest.json');
const CLI_PACKAGE = join(DIST, 'package.json');
const CLI_BUNDLE = join(DIST, 'cli-bundle');
const CLI_BUNDLE_STAMP = join(CLI_BUNDLE, '.bundled');
const DAEMONS = join(DIST, 'daemons');
const DAEMONS_STAMP = join(DAEMONS, '.bundled');

/**
 * Files the compiled code loads relative to its own URL, copied as they are: the common
 * passwords list (server/users/common-passwords.ts) and the plain-JavaScript first module of
 * every worker thread (raft/runtime/worker-state-machine.ts, server/users/calendar-parser.ts).
 */
const ASSETS = ['server/users/common-passwords.txt', 'raft/runtime/worker-entry.mjs'];

/** What the build made itself (beside tsc's outputs and the assets): never pruned. */
const GENERATED = new Set([BUILD_INFO, MANIFEST, CLI_PACKAGE]);

/** Brings dist/ up to date; returns the exit status (non-zero: it did not build). */
export async function build() {
  const sudoUid = Number(process.env.SUDO_UID);
  if (process.getuid?.() === 0 && Number.isInteger(sudoUid) && sudoUid > 0) {
    // Built by root, dist/ would be root's, and the user's next build could not replace it.
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      cwd: REPO,
      stdio: 'inherit',
      uid: sudoUid,
      gid: Number(process.env.SUDO_GID) || sudoUid,
    });
    return run.status ?? 1;
  }
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write(
      'agenda build: TypeScript is not installed (a dev dependency: run `npm ci`, not `npm ci --omit=dev`)\n',
    );
    return 1;
  }
  if (!existsSync(BUILD_INFO)) {
    process.stderr.write('agenda build: compiling the sources into dist/ (a minute or two)…\n');
  }
  // `tsc --build` would decide by the config's root files alone: an edit to a module they
  // import (lab/runner.ts) left dist/ as it was. So the build decides itself, by the newest
  // source of any room, and compiles with `tsc -p` (incremental: it emits what changed).
  const startedAt = Date.now();
  if (mtime(BUILD_INFO) < newestInput()) {
    const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: REPO,
      stdio: 'inherit',
    });
    if (compiled.status !== 0) {
      process.stderr.write('agenda build: tsc failed (above); dist/ is not up to date\n');
      return compiled.status ?? 1;
    }
    // What changed after the compilation began is newer than this, and builds next time.
    const began = new Date(startedAt);
    utimesSync(BUILD_INFO, began, began);
  }
  prune(DIST);
  for (const asset of ASSETS) copyIfChanged(join(REPO, asset), join(DIST, asset));
  if (
    !existsSync(CLI_BUNDLE_STAMP) ||
    mtime(CLI_BUNDLE_STAMP) < mtime(BUILD_INFO) ||
    readFileSync(CLI_BUNDLE_STAMP, 'utf8') !== BUNDLER_STAMP_TEXT
  ) {
    await bundleCli();
  }
  if (
    mtime(DAEMONS_STAMP) < mtime(BUILD_INFO) ||
    readFileSync(DAEMONS_STAMP, 'utf8') !== DAEMONS_STAMP_TEXT
  ) {
    await bundleDaemons();
  }
  for (const asset of DAEMON_ASSETS) copyIfChanged(join(REPO, asset), join(DAEMONS, asset));
  writeIfChanged(CLI_PACKAGE, `${JSON.stringify(cliPackage(), null, 2)}\n`);
  if (
    !existsSync(MANIFEST) ||
    mtime(MANIFEST) < Math.max(mtime(CLI_BUNDLE_STAMP), mtime(CLI_PACKAGE))
  ) {
    await writeManifest();
  }
  return 0;
}

/**
 * The CLI as the `agenda` binary runs it: every command, hook and the help class compiled
 * into dist/cli-bundle/ by esbuild, one file each, with what several share in chunks beside
 * them, @oclif/core included (cli/oclif.ts is what bin/agenda.js takes from it). A command
 * then loads a handful of files instead of about five hundred (oclif, zod and luxon are
 * hundreds of small modules each): for Node, finding and reading that many files took
 * longer than running the command. oclif's plugins stay outside, as the packages oclif loads
 * by name; so do Ink and React, which only the dashboard loads.
 */
async function bundleCli() {
  const { build: esbuild } = await import('esbuild');
  const cli = join(DIST, 'cli');
  const entryPoints = [
    ...jsFiles(join(cli, 'commands')),
    ...jsFiles(join(cli, 'hooks')),
    join(cli, 'help.js'),
    join(cli, 'failures.js'),
    join(cli, 'oclif.js'),
  ];
  rmSync(CLI_BUNDLE, { recursive: true, force: true });
  await esbuild({
    entryPoints,
    outbase: cli,
    outdir: CLI_BUNDLE,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [
      '@oclif/plugin-*',
      // What oclif loads only to run TypeScript commands, which the bundle's are not.
      'typescript',
      'ts-node',
      'ink',
      'ink-*',
      'react',
      'react/*',
      'react-devtools-core',
    ],
    // undici and others are CommonJS, which `require`s Node's modules: an ES module has no
    // `require` of its own, so every output file gets one.
    banner: {
      js: "import { createRequire as __agendaRequire } from 'node:module'; const require = __agendaRequire(import.meta.url);",
    },
    plugins: [zodEnglishOnly],
    sourcemap: 'linked',
    minify: true,
    logLevel: 'warning',
  });
  writeFileSync(CLI_BUNDLE_STAMP, BUNDLER_STAMP_TEXT);
}

/**
 * The daemons and the modules their worker threads run (all in tsconfig.build.json), bundled
 * into dist/daemons/ at the path each has in dist/; base/entry-points.ts starts a daemon's
 * bundle when there is one. A daemon compiled by tsc alone loads 400–500 files (undici and
 * zod are hundreds each); its bundle is one file, with what it does not use left out and
 * the blanks and comments stripped, and holds 16–19 MB less once loaded (issue 17's idle
 * budgets; `npx tsx lab/bench/load-footprint.ts --idle 0`, resident MiB: DB member 73 → 57,
 * gateway 92 → 73, services 93 → 75, supervisor 77 → 61, VIP agent 73 → 56, undici's
 * stand-in below included).
 */
const DAEMON_ENTRIES = [
  'server/db/main',
  'server/gateway/main',
  'server/services/main',
  'supervisor/main',
  'vip-agent/main',
  // The worker threads' modules, found beside the modules that start them (below).
  'raft/runtime/state-machine-worker',
  'server/store/store-worker',
  'server/users/calendar-parser-worker',
];

/** Files the bundled code loads relative to its own URL (see ASSETS), copied into dist/daemons/. */
const DAEMON_ASSETS = ['server/users/common-passwords.txt', 'raft/runtime/worker-entry.mjs'];

/**
 * What dist/cli-bundle/.bundled holds: the hash of this file, so that a bundle made by another
 * version of it (other options, other plugins) is made again, as is one older than tsc's last
 * compilation.
 */
const BUNDLER_STAMP_TEXT = `${createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')}\n`;

/**
 * What dist/daemons/.bundled holds: the hash of this file and of the undici stand-in, so that
 * bundles made by another version of them (other entries, other options) are made again, as
 * are those older than tsc's last compilation.
 */
const DAEMONS_STAMP_TEXT = `${createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .update(readFileSync(join(REPO, 'bin', 'undici-for-daemons.mjs')))
  .digest('hex')}\n`;

/**
 * A bundle puts many modules in one file, so `import.meta.url` no longer says where each
 * module is, and the code finds files beside itself by it (a worker's module, the passwords
 * list, sql.js's wasm through createRequire). So in every module that reads it, it becomes the
 * URL the module would have in dist/daemons/ (`dist/daemons/raft/runtime/worker-state-machine.js`),
 * made from the bundle's own URL: relative to it, a worker's module is its bundle and an
 * asset its copy there, and packages resolve from the repository's node_modules as before.
 * CommonJS packages that read `__dirname` or `__filename` (ioredis, for its version and its
 * stack traces; an ES module has neither) get their own, where the package is installed.
 */
const MODULE_URL_BANNER = [
  "const __agendaDaemons = import.meta.url.slice(0, import.meta.url.lastIndexOf('/dist/daemons/') + '/dist/daemons/'.length);",
  'const __agendaPackageFile = (path) => decodeURIComponent(new URL(`../../node_modules/${path}`, __agendaDaemons).pathname);',
].join(' ');

/** `undici` is, for the daemons, bin/undici-for-daemons.mjs: the parts of it they use. */
const undiciForDaemons = {
  name: 'agenda-undici-for-daemons',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({
      path: join(REPO, 'bin', 'undici-for-daemons.mjs'),
    }));
  },
};

/**
 * zod's namespace exports every locale it has (`z.locales`, `core.locales`: 40-odd
 * languages of error messages, 300 KB of a bundle's 1.7 MB), which a bundler cannot leave out
 * of a namespace object. Agenda speaks English and never calls `z.config(z.locales.xx())`; zod
 * registers English by importing `locales/en.js` itself. So in the bundles the namespace holds
 * English alone: 300 KB less to read, parse and keep (its source text stays in the heap) in
 * every daemon and worker and in the CLI's shared chunk.
 */
const zodEnglishOnly = {
  name: 'agenda-zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return {
        path: join(args.resolveDir, '..', 'locales', 'english-only.js'),
        namespace: 'zod-english',
      };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-english' }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: join(args.path, '..'),
      loader: 'js',
    }));
  },
};

/** See MODULE_URL_BANNER. */
const moduleUrls = {
  name: 'agenda-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?js$/ }, (args) => {
      const contents = readFileSync(args.path, 'utf8');
      const inPackage = args.path.lastIndexOf(`${sep}node_modules${sep}`);
      if (inPackage >= 0) {
        if (!/\b__(dirname|filename)\b/.test(contents)) return undefined;
        if (/\b(var|let|const)\s+__(dirname|filename)\b/.test(contents)) return undefined;
        const file = args.path
          .slice(inPackage + `${sep}node_modules${sep}`.length)
          .split(sep)
          .join('/');
        const dir = file.slice(0, file.lastIndexOf('/'));
        return {
          contents: `var __filename = __agendaPackageFile(${JSON.stringify(file)}), __dirname = __agendaPackageFile(${JSON.stringify(dir)});${contents}`,
          loader: 'js',
        };
      }
      if (!args.path.startsWith(DIST + sep) || !contents.includes('import.meta.url')) {
        return undefined;
      }
      const at = relative(DIST, args.path).split(sep).join('/');
      return {
        contents: contents.replaceAll(
          'import.meta.url',
          `(__agendaDaemons + ${JSON.stringify(at)})`,
        ),
        loader: 'js',
      };
    });
  },
};

async function bundleDaemons() {
  const { build: esbuild } = await import('esbuild');
  rmSync(DAEMONS, { recursive: true, force: true });
  await esbuild({
    entryPoints: DAEMON_ENTRIES.map((entry) => join(DIST, `${entry}.js`)),
    outbase: DIST,
    outdir: DAEMONS,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // sql.js is one file already (and its wasm is read apart: raft/kv/sql.ts); tsx is only
    // registered by the worker entry of code run from the sources.
    external: ['sql.js', 'tsx', 'tsx/*'],
    banner: {
      js: `import { createRequire as __agendaRequire } from 'node:module'; const require = __agendaRequire(import.meta.url); ${MODULE_URL_BANNER}`,
    },
    plugins: [undiciForDaemons, zodEnglishOnly, moduleUrls],
    // Blanks, comments and dead code go; names stay, for stack traces and logs (and
    // `.name`, which error classes and log lines read, stays the source's).
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(DAEMONS_STAMP, DAEMONS_STAMP_TEXT);
}

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

/** Removes compiled files whose source is gone (and the folders they leave empty). */
function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path === CLI_BUNDLE || path === DAEMONS) continue;
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!GENERATED.has(path) && !hasSource(relative(DIST, path))) {
      rmSync(path);
    }
  }
}

function hasSource(output) {
  if (ASSETS.includes(output.split(sep).join('/'))) return existsSync(join(REPO, output));
  const stem = output.replace(/\.js(\.map)?$/, '');
  if (stem === output) return false;
  return existsSync(join(REPO, `${stem}.ts`)) || existsSync(join(REPO, `${stem}.tsx`));
}

/**
 * The CLI's oclif root in dist/: package.json's name, version and oclif settings, and the
 * oclif plugins among its dependencies (oclif loads a listed plugin only if the root depends
 * on it; they resolve from the repository's node_modules).
 */
function cliPackage() {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const plugins = pkg.oclif.plugins ?? [];
  return {
    name: pkg.name,
    version: pkg.version,
    private: true,
    // oclif shows it atop `agenda --help`.
    description: pkg.description,
    generatedBy: 'bin/build.js (npm run build): the compiled `agenda` CLI',
    type: pkg.type,
    dependencies: Object.fromEntries(plugins.map((name) => [name, pkg.dependencies[name]])),
    // The bundled CLI (bundleCli): from the sources oclif finds `./cli/hooks/x` as x.ts;
    // compiled, it needs the bundled file's name.
    oclif: {
      ...pkg.oclif,
      commands: './cli-bundle/commands',
      helpClass: bundled(pkg.oclif.helpClass),
      hooks: Object.fromEntries(
        Object.entries(pkg.oclif.hooks ?? {}).map(([event, path]) => [
          event,
          `${bundled(path)}.js`,
        ]),
      ),
    },
  };
}

/** Where the bundle has the CLI module at `path` (`./cli/help` → `./cli-bundle/help`). */
function bundled(path) {
  if (!path.startsWith('./cli/')) throw new Error(`agenda build: ${path} is not under ./cli/`);
  return `./cli-bundle/${path.slice('./cli/'.length)}`;
}

/** What `oclif manifest` writes: the root plugin's manifest, made by importing every command. */
async function writeManifest() {
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({
    root: DIST,
    type: 'core',
    isRoot: true,
    ignoreManifest: true,
    errorOnManifestCreate: true,
    respectNoCacheDefault: true,
  });
  await plugin.load();
  if (Object.keys(plugin.manifest.commands).length === 0) {
    throw new Error('agenda build: the oclif manifest lists no command');
  }
  writeFileSync(MANIFEST, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
}

function copyIfChanged(from, to) {
  if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) return;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text);
}

/** The rooms whose TypeScript the programs are compiled from (tsconfig.json's `include`). */
const ROOMS = [
  'base',
  'contract',
  'ops',
  'raft',
  'server',
  'cli',
  'tui',
  'supervisor',
  'vip-agent',
  'lab',
];
const CONFIGS = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time of any source file, asset or build config. */
function newestInput() {
  let newest = Math.max(...CONFIGS.map((c) => mtime(join(REPO, c))));
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'testdata') walk(path);
      } else if (/\.(ts|tsx|mjs|txt)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) {
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  for (const room of ROOMS) if (existsSync(join(REPO, room))) walk(join(REPO, room));
  return newest;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await build();
}
