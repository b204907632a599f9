// `npm run generate`: rebuilds every generated file — the Prisma client and Pothos types,
// schema.graphql (printed from the built schema), and the SDK's types (GraphQL Code Generator).
// CI runs it and fails when anything changes (generated files are committed).
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

run(process.execPath, ['scripts/prisma-generate.mjs']);
run(process.execPath, ['--import', 'tsx', 'scripts/print-schema.ts'], { NODE_ENV: 'production' });
run('npx', ['graphql-codegen', '--config', 'codegen.ts']);
// The documents are `new TypedDocumentString(...)` calls, which bundlers must keep unless
// told they are pure: marked so, an app's bundle holds only the documents it uses.
const generatedGraphql = `${root}/packages/sdk/src/generated/graphql.ts`;
writeFileSync(
  generatedGraphql,
  readFileSync(generatedGraphql, 'utf8').replaceAll(
    ' = new TypedDocumentString(',
    ' = /* @__PURE__ */ new TypedDocumentString(',
  ),
);
// The server knows the SDK's documents by hash (persisted documents), from its own copy: the
// server does not depend on the SDK package.
copyFileSync(
  `${root}/packages/sdk/src/generated/persisted-documents.json`,
  `${root}/packages/server/src/generated/persisted-documents.json`,
);
