// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Everywhere: prom-client's global registry is off limits. (Each `files:` block of
 * {@link boundaries} sets `no-restricted-imports` whole, so it repeats this.)
 */
const PROM_CLIENT = {
  name: 'prom-client',
  importNames: ['register', 'default'],
  message:
    "each daemon has a Registry of its own (server/metrics/daemon-metrics.ts); prom-client's global one would mix them",
};

/** Every room of the house (ARCHITECTURE.md). */
const ROOMS = [
  'base',
  'contract',
  'raft',
  'server',
  'ops',
  'cli',
  'tui',
  'lab',
  'supervisor',
  'vip-agent',
  'test',
];

/**
 * An import of another room: a relative path that climbs out (`../`, as many as it takes)
 * into `room/`. Import paths are not resolved, so a folder inside a room named like a room
 * would match too (`cli/test/` is the one, and no rule concerns `test/` from cli/).
 */
function roomImport(room, reason, except = []) {
  const allowed = except.length
    ? `(?!(?:${except.map((e) => e.replace(/[.]/g, '\\.')).join('|')})$)`
    : '';
  return { regex: `^(\\.\\./)+${room}/${allowed}`, message: `${reason} (ARCHITECTURE.md)` };
}

/**
 * The room rules read an import path as written, so it must be written plainly: relative,
 * and normalized. Refused everywhere: an absolute path or a `file:` URL (it names the
 * checkout, and `/work/main/server/…` is no `../server/`), and a path with `./../`, `//`, a
 * `.` or a `..` after a name (`./../server/`, `../../raft/../server/`, `..//server/`).
 */
const PLAIN_PATHS = [
  {
    regex: '^(?:/|file:)',
    message:
      'import by a relative path: an absolute path or file: URL depends on where the checkout is, and the room rules do not read it (ARCHITECTURE.md)',
  },
  {
    regex: '^(?:\\./\\.\\.(?:/|$)|(?:\\./|(?:\\.\\./)+)(?!\\.\\./)(?:.*/)?\\.{0,2}(?:/|$))',
    message:
      'write the import path normalized (no ./../, //, or a name followed by ..): the room rules read it as written (ARCHITECTURE.md)',
  },
];

/** `no-restricted-imports` with PROM_CLIENT and PLAIN_PATHS, and more `paths` and `patterns`. */
function restrictImports({ paths = [], patterns = [] } = {}) {
  return ['error', { paths: [PROM_CLIENT, ...paths], patterns: [...PLAIN_PATHS, ...patterns] }];
}

/** Of raft/, types only (`import type`, `import { type … }`, `export type … from`). */
function raftTypesOnly(reason) {
  return { ...roomImport('raft', reason), allowTypeImports: true };
}

/** Modules that do I/O, which server/domain must not import: its functions return decisions. */
const IO_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'dns',
  'child_process',
  'worker_threads',
  'cluster',
  'readline',
  'readline/promises',
  // createRequire loads any module, the ones above too.
  'module',
].flatMap((m) => [m, `node:${m}`]);
const IO_PACKAGES = ['undici', 'ioredis', 'sql.js'];

const SERVER_RULES = [
  ...['lab', 'cli', 'tui', 'ops'].map((room) =>
    roomImport(room, `server/ is the product: it imports nothing of ${room}/`),
  ),
];

/**
 * `import()` of a module a room may not import is refused too, its path written as a string
 * or as a template without substitutions, and so is a type written `import('…').T` where
 * type imports are refused: `no-restricted-imports` only sees static imports and
 * re-exports. (esquery's regular expressions cannot hold a `/`, so it is written `\x2F`.)
 * An `import()` of a computed path is not seen: the one in the tree is Raft's worker loading
 * the state machine its host names (raft/runtime/state-machine-worker.ts).
 */
function withDynamicImports(blocks) {
  return blocks.map((block) => {
    const [, { paths = [], patterns = [] }] = block.rules['no-restricted-imports'];
    const selectors = [
      ...patterns.flatMap(({ regex, message, allowTypeImports }) => {
        const value = `/${regex.replaceAll('/', '\\x2F')}/`;
        return [
          `ImportExpression > Literal.source[value=${value}]`,
          `ImportExpression > TemplateLiteral.source[expressions.length=0] > TemplateElement[value.cooked=${value}]`,
          ...(allowTypeImports ? [] : [`TSImportType > Literal.source[value=${value}]`]),
        ].map((selector) => ({ selector, message }));
      }),
      ...paths
        .filter((p) => !p.importNames)
        .flatMap(({ name, message }) =>
          [
            `ImportExpression > Literal.source[value=${JSON.stringify(name)}]`,
            `ImportExpression > TemplateLiteral.source[expressions.length=0] > TemplateElement[value.cooked=${JSON.stringify(name)}]`,
            `TSImportType > Literal.source[value=${JSON.stringify(name)}]`,
          ].map((selector) => ({ selector, message })),
        ),
    ];
    if (selectors.length === 0) return block;
    return { ...block, rules: { ...block.rules, 'no-restricted-syntax': ['error', ...selectors] } };
  });
}

/**
 * Who may import whom, room by room (ARCHITECTURE.md). Tests follow their room's rules: a
 * test that needs something from a room above it is a test of that room and lives there.
 */
export const boundaries = withDynamicImports([
  {
    files: ['base/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: ROOMS.filter((r) => r !== 'base').map((room) =>
          roomImport(room, `base/ is the ground floor: it imports no room (here ${room}/)`),
        ),
      }),
    },
  },
  {
    files: ['contract/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: ROOMS.filter((r) => r !== 'contract')
          .map((room) =>
            roomImport(
              room,
              `contract/ is what clients and servers agree on: it imports no room (here ${room}/)`,
            ),
          )
          .concat({
            regex: '^(?![.]|zod$)',
            message: 'contract/ is declarations: of packages it imports only zod (ARCHITECTURE.md)',
          }),
      }),
    },
  },
  {
    files: ['raft/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: ROOMS.filter((r) => r !== 'raft' && r !== 'base').map((room) =>
          roomImport(room, `raft/ is a library: it imports only itself and base/, not ${room}/`),
        ),
      }),
    },
  },
  {
    files: ['server/**'],
    rules: { 'no-restricted-imports': restrictImports({ patterns: SERVER_RULES }) },
  },
  {
    files: ['server/domain/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        paths: [...IO_MODULES, ...IO_PACKAGES].map((name) => ({
          name,
          message:
            'server/domain does no I/O: its functions take state and return decisions (ARCHITECTURE.md)',
        })),
        patterns: [
          ...SERVER_RULES,
          // One level up is the rest of server/ (server/domain/ has no subfolders).
          {
            regex: '^\\.\\./(?!\\.\\./)',
            message:
              'server/domain is pure: of server/ it imports only itself, nothing that does I/O behind it (ARCHITECTURE.md)',
          },
        ],
      }),
    },
  },
  {
    files: ['ops/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: [
          ...['lab', 'cli', 'tui'].map((room) =>
            roomImport(
              room,
              `ops/ is used by cli/, tui/ and lab/; it imports none of them (here ${room}/)`,
            ),
          ),
          raftTypesOnly('ops/ observes the DB members; of raft/, it imports types only'),
        ],
      }),
    },
  },
  {
    files: ['cli/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: [
          // One seam remains (ARCHITECTURE.md, "What is left"): `cluster member replace --lab`
          // asks the lab controller to wipe and restart a member (lab/client.ts).
          roomImport('lab', 'cli/ imports contract/, ops/ and base/, not lab/', ['client.js']),
          roomImport('server', 'cli/ imports contract/, ops/ and base/, not server/'),
          ...['supervisor', 'vip-agent'].map((room) =>
            roomImport(room, `cli/ imports contract/, ops/ and base/, not ${room}/`),
          ),
          // Member ids and statuses are the Raft library's types; the CLI loads none of its code.
          raftTypesOnly('cli/ imports contract/, ops/ and base/; of raft/, types only'),
        ],
      }),
    },
  },
  {
    files: ['tui/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: ['lab', 'cli'].map((room) =>
          roomImport(room, `tui/ draws ops/' model; it imports nothing of ${room}/`),
        ),
      }),
    },
  },
  ...['supervisor', 'vip-agent'].map((room) => ({
    files: [`${room}/**`],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: [
          ...['lab', 'cli', 'tui', 'ops'].map((other) =>
            roomImport(other, `${room}/ is a daemon: it imports nothing of ${other}/`),
          ),
          raftTypesOnly(
            `${room}/ talks to the DB through server/; of raft/, it imports types only`,
          ),
        ],
      }),
    },
  })),
]).concat(outOfTheCheckout());

/**
 * A path that climbs above the repository and comes back down (`../../main/server/…` from
 * `raft/x.ts`) would pass every room rule: refused by how deep the file is. (Its own rule,
 * so that it does not replace the rooms' `no-restricted-imports`.)
 */
function outOfTheCheckout() {
  return Array.from({ length: 8 }, (_, depth) => ({
    files: [`${'*/'.repeat(depth)}*.{ts,tsx,js,mjs}`],
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./){${depth + 1}}`,
              message: 'this path climbs out of the repository (ARCHITECTURE.md)',
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.agenda/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-restricted-imports': restrictImports(),
    },
  },
  ...boundaries,
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
