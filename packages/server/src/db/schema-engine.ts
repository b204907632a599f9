// Drives Prisma's schema engine (WebAssembly build) over an in-memory PGlite, so migrations
// can be diffed without the native schema-engine binary (which cannot be downloaded here).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { listMigrationNames } from './migrate.ts';
import { MIGRATIONS_DIR, SCHEMA_PATH } from './paths.ts';

type SchemaEngine = engineGlue.SchemaEngine;
type DiffTarget = Parameters<SchemaEngine['diff']>[0]['from'];

let engineReady: Promise<typeof engineGlue.SchemaEngine> | undefined;

/**
 * Instantiates the engine's WebAssembly module by hand (the package's own entry imports the
 * .wasm file as an ES module, which needs --experimental-wasm-modules on Node 20).
 */
function loadEngine(): Promise<typeof engineGlue.SchemaEngine> {
  engineReady ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm');
    const bytes = await readFile(path.join(path.dirname(entry), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, {
      './schema_engine_bg.js': engineGlue as unknown as WebAssembly.ModuleImports,
    });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return engineGlue.SchemaEngine;
  })();
  return engineReady;
}

async function schemaFiles() {
  return [{ path: SCHEMA_PATH, content: await readFile(SCHEMA_PATH, 'utf8') }];
}

async function migrationList(): Promise<DiffTarget> {
  const names = await listMigrationNames();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: {
          tag: 'ok' as const,
          value: await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8'),
        },
      },
    })),
  );
  const lockPath = path.join(MIGRATIONS_DIR, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    tag: 'migrations',
    baseDir: MIGRATIONS_DIR,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/**
 * SQL that takes a database built from the committed migrations to the state described by
 * prisma/schema.prisma. Empty when the migrations are up to date.
 */
export async function diffMigrationsToSchema(): Promise<string> {
  const files = await schemaFiles();
  const pglite = new PGlite();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(pglite));
  const SchemaEngineClass = await loadEngine();
  const engine = await SchemaEngineClass.new(
    { datamodels: files.map((f) => [f.path, f.content]) },
    () => {},
    adapter,
  );
  try {
    const result = await engine.diff({
      from: await migrationList(),
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const script = (result.stdout ?? '').trim();
    return script === '-- This is an empty migration.' ? '' : script;
  } finally {
    engine.free();
    await pglite.close();
  }
}
