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

/** `no-restricted-imports` with PROM_CLIENT, and more `paths` and `patterns`. */
function restrictImports({ paths = [], patterns = [] } = {}) {
  return ['error', { paths: [PROM_CLIENT, ...paths], patterns }];
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
].flatMap((m) => [m, `node:${m}`]);
const IO_PACKAGES = ['undici', 'ioredis', 'sql.js'];

const SERVER_RULES = [
  ...['lab', 'cli', 'tui', 'ops'].map((room) =>
    roomImport(room, `server/ is the product: it imports nothing of ${room}/`),
  ),
];

/**
 * `import()` of a module a room may not import is refused too: `no-restricted-imports` only
 * sees static imports and re-exports. (esquery's regular expressions cannot hold a `/`, so
 * it is written `\x2F`.)
 */
function withDynamicImports(blocks) {
  return blocks.map((block) => {
    const [, { paths = [], patterns = [] }] = block.rules['no-restricted-imports'];
    const selectors = [
      ...patterns.map(({ regex, message }) => ({
        selector: `ImportExpression > Literal.source[value=/${regex.replaceAll('/', '\\x2F')}/]`,
        message,
      })),
      ...paths
        .filter((p) => !p.importNames)
        .map(({ name, message }) => ({
          selector: `ImportExpression > Literal.source[value=${JSON.stringify(name)}]`,
          message,
        })),
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
        patterns: ROOMS.filter((r) => r !== 'contract').map((room) =>
          roomImport(
            room,
            `contract/ is what clients and servers agree on: it imports no room (here ${room}/)`,
          ),
        ),
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
        patterns: SERVER_RULES,
      }),
    },
  },
  {
    files: ['ops/**'],
    rules: {
      'no-restricted-imports': restrictImports({
        patterns: ['lab', 'cli', 'tui'].map((room) =>
          roomImport(
            room,
            `ops/ is used by cli/, tui/ and lab/; it imports none of them (here ${room}/)`,
          ),
        ),
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
          {
            ...roomImport('raft', 'cli/ imports contract/, ops/ and base/; of raft/, types only'),
            allowTypeImports: true,
          },
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
        patterns: ['lab', 'cli', 'tui', 'ops'].map((other) =>
          roomImport(other, `${room}/ is a daemon: it imports nothing of ${other}/`),
        ),
      }),
    },
  })),
]);

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
