// `npm run generate`: rebuilds every generated file — the Prisma client and Pothos types,
// schema.graphql (printed from the built schema), and the SDK's types (GraphQL Code Generator).
// CI runs it and fails when anything changes (generated files are committed).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

run(process.execPath, ['scripts/prisma-generate.mjs']);
run(process.execPath, ['--import', 'tsx', 'scripts/print-schema.ts'], { NODE_ENV: 'production' });
run('npx', ['graphql-codegen', '--config', 'codegen.ts']);
