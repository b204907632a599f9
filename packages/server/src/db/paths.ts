import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/server/src/db/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(
  new URL('../../../../prisma/schema.prisma', import.meta.url),
);
export const MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../../prisma/migrations', import.meta.url),
);
