// Runs `prisma generate` after install. Generate does not use the schema engine, but
// Prisma's CLI insists on finding one; point it at any existing file so no download is tried.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
execFileSync('npx', ['prisma', 'generate'], { cwd: root, env, stdio: 'inherit' });
