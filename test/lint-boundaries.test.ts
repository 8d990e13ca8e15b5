/**
 * The boundaries between the rooms (ARCHITECTURE.md) are lint rules; this proves they fire.
 * Each case lints a one-line snippet as if it were a file of a room (the path need not
 * exist) with the `boundaries` blocks of eslint.config.js — the very objects `npm run lint`
 * uses — over the TypeScript parser, without type information (no rule here needs it).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function linter(): Promise<ESLint> {
  const config = (await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as {
    boundaries: Linter.Config[];
  };
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...config.boundaries,
    ],
  });
}

/**
 * The messages of `no-restricted-imports` (and of typescript-eslint's, which refuses paths
 * climbing out of the repository) for `source` as the file at `filePath`.
 */
async function refusals(filePath: string, source: string): Promise<string[]> {
  const [result] = await (await linter()).lintText(`${source}\n`, { filePath });
  if (!result) throw new Error('no lint result');
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(fatal.map((m) => m.message).join('; '));
  return result.messages
    .filter((m) => m.ruleId?.endsWith('no-restricted-imports'))
    .map((m) => m.message);
}

const forbidden: [string, string, RegExp][] = [
  ['raft/x.ts', "import { Internal } from '../contract/errors.js';", /raft\/ is a library/],
  ['raft/core/x.ts', "import { t } from '../../test/support/temp-dirs.js';", /not test\//],
  ['raft/sim/x.ts', "import type { S } from '../../ops/model.js';", /not ops\//],
  ['base/x.ts', "import type { NodeId } from '../raft/core/types.js';", /ground floor/],
  ['server/db/x.ts', "import { m } from '../../lab/plan.js';", /nothing of lab\//],
  ['server/store/x.ts', "import { s } from '../../cli/import/split-calendar.js';", /cli\//],
  ['server/domain/x.ts', "import { readFile } from 'node:fs/promises';", /does no I\/O/],
  ['server/domain/x.ts', "import { request } from 'undici';", /does no I\/O/],
  ['server/domain/x.ts', "import { o } from '../../ops/observer.js';", /nothing of ops\//],
  ['cli/commands/x.ts', "import { issue } from '../../lab/runner.js';", /not lab\//],
  [
    'cli/commands/x.ts',
    "import { chooseTopology } from '../../lab/observer/open.js';",
    /not lab\//,
  ],
  ['ops/x.ts', "import { runDashboard } from '../tui/run.js';", /imports none of them/],
  ['raft/x.ts', "import { register } from 'prom-client';", /Registry of its own/],
  ['contract/x.ts', "import { toIso } from '../server/domain/views.js';", /imports no room/],
  ['contract/x.ts', "import { silentLogger } from '../base/log.js';", /imports no room/],
  ['cli/commands/x.ts', "import { DbClient } from '../../server/db/client.js';", /not server\//],
  [
    'cli/cluster/x.ts',
    "import { MembershipClient } from '../../server/db/operator-client.js';",
    /not server\//,
  ],
  ['cli/ui/x.ts', "import { RaftNode } from '../../raft/runtime/raft-node.js';", /types only/],
  ['raft/x.ts', "export * from '../server/domain/views.js';", /raft\/ is a library/],
  ['server/gateway/x.ts', "import type { SignedIn } from '../../cli/session.js';", /cli\//],
  ['tui/x.ts', "import { plan } from '../lab/plan.js';", /nothing of lab\//],
  ['ops/x.ts', "import { AgendaCommand } from '../cli/base-command.js';", /none of them/],
  // Paths written so that the room rules would not recognize them.
  ['raft/x.ts', "import { toIso } from './../server/domain/views.js';", /normalized/],
  ['raft/core/x.ts', "import { toIso } from '../../raft/../server/domain/views.js';", /normalized/],
  ['raft/x.ts', "import { toIso } from '..//server/domain/views.js';", /normalized/],
  ['raft/x.ts', "import { toIso } from '/work/main/server/domain/views.js';", /relative path/],
  ['raft/x.ts', "import { toIso } from 'file:///work/main/server/views.js';", /relative path/],
  ['raft/core/x.ts', "import { toIso } from '../../../main/server/domain/views.js';", /climbs out/],
  ['cli/x.ts', "import { DbClient } from '../../main/server/db/client.js';", /climbs out/],
  // server/domain is pure through the rest of server/ too.
  ['server/domain/x.ts', "import { DbClient } from '../db/client.js';", /only itself/],
  ['server/domain/x.ts', "import { createRequire } from 'node:module';", /does no I\/O/],
  ['contract/x.ts', "import { request } from 'undici';", /only zod/],
  ['ops/x.ts', "import { RaftNode } from '../raft/runtime/raft-node.js';", /types only/],
  ['supervisor/x.ts', "import { RaftNode } from '../raft/runtime/raft-node.js';", /types only/],
  ['vip-agent/x.ts', "import { RaftNode } from '../raft/runtime/raft-node.js';", /types only/],
];

for (const [filePath, source, message] of forbidden) {
  test(`refused in ${filePath}: ${source}`, async (t) => {
    const messages = await refusals(filePath, source);
    t.is(messages.length, 1, messages.join('\n'));
    t.regex(messages[0] ?? '', message);
  });
}

const allowed: [string, string][] = [
  ['raft/x.ts', "import { silentLogger } from '../base/log.js';"],
  ['raft/core/x.ts', "import type { Message } from './types.js';"],
  ['server/db/x.ts', "import type { NodeId } from '../../raft/core/types.js';"],
  ['server/domain/x.ts', "import { DateTime } from 'luxon';"],
  ['cli/commands/x.ts', "import { ClusterObserver } from '../../ops/observer.js';"],
  ['cli/commands/x.ts', "import { chooseTopology } from '../../ops/open.js';"],
  ['cli/commands/x.ts', "import { ControllerClient } from '../../lab/client.js';"],
  ['cli/commands/x.ts', "import type { ErrorCode } from '../../contract/errors.js';"],
  ['cli/commands/x.ts', "import type { NodeId } from '../../raft/core/types.js';"],
  ['cli/cluster/x.ts', "import { MembershipClient } from '../../ops/membership-client.js';"],
  ['cli/cluster/x.ts', "import { removalProblem } from '../../contract/membership.js';"],
  ['server/gateway/x.ts', "import { API_ROUTES } from '../../contract/api-routes.js';"],
  ['contract/x.ts', "import { z } from 'zod';"],
  ['tui/x.ts', "import type { ClusterSnapshot } from '../ops/model.js';"],
  ['lab/x.ts', "import { ClusterObserver } from '../ops/observer.js';"],
  ['test/x.test.ts', "import { RaftNode } from '../raft/runtime/raft-node.js';"],
  ['raft/transport/x.ts', "import type { Message } from '../core/types.js';"],
  ['server/domain/x.ts', "import { toIso } from './views.js';"],
  ['server/domain/x.ts', "import { TIME } from '../../contract/limits.js';"],
  ['ops/x.ts', "import type { NodeStatus } from '../raft/runtime/raft-node.js';"],
  ['cli/commands/x.ts', "export type { NodeStatus } from '../../raft/runtime/raft-node.js';"],
  ['lab/chaos/x.ts', "import { RaftNode } from '../../raft/runtime/raft-node.js';"],
];

for (const [filePath, source] of allowed) {
  test(`allowed in ${filePath}: ${source}`, async (t) => {
    t.deepEqual(await refusals(filePath, source), []);
  });
}

test('a dynamic import of a forbidden room is refused too; of an allowed one it is not', async (t) => {
  const [result] = await (
    await linter()
  ).lintText(
    "export const a = () => import('../../server/db/client.js');\n" +
      "export const b = () => import('../../ops/open.js');\n",
    { filePath: 'cli/commands/x.ts' },
  );
  const messages = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax');
  t.deepEqual(
    messages.map((m) => m.line),
    [1],
  );
  t.regex(messages[0]?.message ?? '', /not server\//);
  const [domain] = await (
    await linter()
  ).lintText("export const f = () => import('node:fs');\n", { filePath: 'server/domain/x.ts' });
  t.regex(domain?.messages[0]?.message ?? '', /does no I\/O/);
});

test('an import() written as a template, and a type written import(…).T, are refused like imports', async (t) => {
  const [result] = await (
    await linter()
  ).lintText(
    'export const a = () => import(`../server/domain/views.js`);\n' +
      "export type B = import('../server/domain/views.js').EventView;\n" +
      "export type C = import('../base/log.js').Logger;\n",
    { filePath: 'raft/x.ts' },
  );
  const messages = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax');
  t.deepEqual(
    messages.map((m) => m.line),
    [1, 2],
  );
  t.regex(messages[0]?.message ?? '', /raft\/ is a library/);
  // Where types of a room are allowed, so is import('…').T.
  const [cli] = await (
    await linter()
  ).lintText("export type N = import('../../raft/runtime/raft-node.js').NodeStatus;\n", {
    filePath: 'cli/commands/x.ts',
  });
  t.deepEqual(cli?.messages ?? [], []);
});
