import { defineConfig } from 'vitest/config';

// The suite runs once on embedded PGlite and, when TEST_DATABASE_URL is set, once more on
// PostgreSQL (each test file creates and drops its own database there).
const postgres = process.env.TEST_DATABASE_URL;
if (!postgres) {
  console.warn(
    '\n*** TEST_DATABASE_URL is not set: the PostgreSQL half of the suite is SKIPPED (PGlite only). ***\n',
  );
}

const shared = {
  include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  // graphql 16 has no "exports": Node loads its CommonJS build for packages that are not
  // bundled, while Vite would pick the ES build for ours — two copies. Use the one Node uses.
  // @atelier/sdk from its sources here; installed elsewhere it resolves to its built dist/.
  resolve: {
    alias: [
      { find: /^graphql$/, replacement: 'graphql/index.js' },
      { find: /^@atelier\/sdk$/, replacement: `${import.meta.dirname}/packages/sdk/src/index.ts` },
      {
        find: /^@atelier\/sdk\/react$/,
        replacement: `${import.meta.dirname}/packages/sdk/src/react.ts`,
      },
      // The sandbox's sources (production loads its dist/).
      {
        find: /^@atelier\/comfyui-sandbox$/,
        replacement: `${import.meta.dirname}/packages/comfyui-sandbox/src/index.ts`,
      },
    ],
  },
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Builds dist/ when stale: tests spawn the server's bin, which runs it.
    globalSetup: ['./scripts/vitest-global-setup.mjs'],
    projects: [
      {
        extends: true as const,
        test: { ...shared, name: 'pglite', env: { ATELIER_TEST_DB: 'pglite' } },
      },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                ...shared,
                // Only the server touches the database.
                include: ['packages/server/src/**/*.test.ts', 'packages/server/test/**/*.test.ts'],
                name: 'postgres',
                env: { ATELIER_TEST_DB: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
