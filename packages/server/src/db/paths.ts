import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Relative to this module, which sits at the same depth in src/db and dist/db.

/** The repository root (this file is packages/server/src/db/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(
  new URL('../../../../prisma/schema.prisma', import.meta.url),
);
export const MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../../prisma/migrations', import.meta.url),
);

/**
 * Where the build (`npm run build -w @atelier/server`) keeps a gzipped tarball of a new PGlite
 * data directory made by the installed PGlite version, the migrations applied (listed, with
 * the tar's sha256, in `<file>.json`): a new embedded database is unpacked from it instead of
 * running initdb in WebAssembly (seconds, and hundreds of MB) and every migration.
 */
export function pgliteTemplateFile(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = path.join(path.dirname(entry), '..', 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return fileURLToPath(new URL(`../../dist/pglite-${version}.tar.gz`, import.meta.url));
}
