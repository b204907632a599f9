import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB } from '../../test/harness.ts';
import { openDatabase, readPgliteTemplate, unpackPgliteTemplate } from './database.ts';
import {
  applyMigrations,
  listMigrationNames,
  MigrationChecksumError,
  type SqlRunner,
} from './migrate.ts';
import { MIGRATIONS_DIR, pgliteTemplateFile } from './paths.ts';
import { diffMigrationsToSchema } from './schema-engine.ts';

const runner = (pglite: PGlite): SqlRunner => ({
  exec: async (sql) => {
    await pglite.exec(sql);
  },
  query: async <T>(sql: string, params?: unknown[]) =>
    (await pglite.query<T>(sql, params as unknown[])).rows,
});

// Flavour-independent: runs once, in the PGlite project.
describe.runIf(TEST_DB === 'pglite')('migrations', () => {
  it('the committed migrations build exactly the datamodel in prisma/schema.prisma', async () => {
    const drift = await diffMigrationsToSchema();
    expect(
      drift,
      `schema.prisma differs from the migrations; run npm run db:migrate:new -- <name>:\n${drift}`,
    ).toBe('');
  });

  describe('applyMigrations', () => {
    let pglite: PGlite;
    let dir: string;
    beforeAll(async () => {
      pglite = new PGlite();
      dir = await mkdtemp(path.join(tmpdir(), 'atelier-migrations-'));
    });
    afterAll(async () => {
      await pglite.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('applies every migration once, records it as Prisma does, and is idempotent', async () => {
      const names = await listMigrationNames();
      expect(names.length).toBeGreaterThan(0);
      expect(await applyMigrations(runner(pglite))).toEqual(names);
      expect(await applyMigrations(runner(pglite))).toEqual([]);
      const rows = await runner(pglite).query<{ migration_name: string; checksum: string }>(
        'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(names);
      expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
      const tables = await runner(pglite).query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining([
          'Account',
          'ApiKey',
          'Media',
          'Model',
          'Run',
          'RunInput',
          'Stage',
          'Style',
        ]),
      );
    });

    it('queued_runs_counter starts each account at its QUEUED runs, then follows them', async () => {
      const names = await listMigrationNames();
      const at = names.findIndex((n) => n.endsWith('_queued_runs_counter'));
      expect(at).toBeGreaterThan(0);
      const before = await mkdtemp(path.join(tmpdir(), 'atelier-migrations-before-'));
      for (const name of names.slice(0, at)) {
        await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
      }
      const db = new PGlite();
      try {
        await applyMigrations(runner(db), before);
        const one = '00000000-0000-4000-8000-0000000000a1';
        const two = '00000000-0000-4000-8000-0000000000a2';
        await db.exec(`
          INSERT INTO "Account" ("id", "name", "updatedAt") VALUES
            ('${one}', 'one', now()), ('${two}', 'two', now());
          SET session_replication_role = replica; -- no Model rows: foreign keys not checked
          INSERT INTO "Run" ("id", "ownerId", "mode", "modelKey", "prompt", "parameters", "seed", "updatedAt", "status")
          SELECT gen_random_uuid(), o, 'TEXT_TO_IMAGE', 'm', 'p', '{}', '1', now(), s::"RunStatus"
          FROM (VALUES ('${one}'::uuid, 'QUEUED'), ('${one}', 'QUEUED'), ('${one}', 'QUEUED'),
                       ('${one}', 'RUNNING'), ('${two}', 'SUCCEEDED')) AS v(o, s);
          RESET session_replication_role;`);
        expect(await applyMigrations(runner(db))).toEqual(names.slice(at));
        const counts = async () =>
          (
            await db.query<{ name: string; n: number }>(`
              SELECT a."name", a."queuedRuns" + COALESCE(sum(d."delta"), 0)::int AS n
              FROM "Account" a LEFT JOIN "AccountQueueDelta" d ON d."accountId" = a."id"
              GROUP BY a."id" ORDER BY a."name"`)
          ).rows;
        expect(await counts()).toEqual([
          { name: 'one', n: 3 },
          { name: 'two', n: 0 },
        ]);
        await db.exec(`
          UPDATE "Run" SET "status" = 'RUNNING'
            WHERE "id" = (SELECT "id" FROM "Run" WHERE "ownerId" = '${one}' AND "status" = 'QUEUED' LIMIT 1);
          UPDATE "Run" SET "status" = 'QUEUED', "ownerId" = '${two}' WHERE "status" = 'SUCCEEDED';`);
        expect(await counts()).toEqual([
          { name: 'one', n: 2 },
          { name: 'two', n: 1 },
        ]);
      } finally {
        await db.close();
        await rm(before, { recursive: true, force: true });
      }
    });

    it('refuses a migration edited after it was applied', async () => {
      const [first] = await listMigrationNames();
      await mkdir(path.join(dir, first!), { recursive: true });
      await writeFile(path.join(dir, first!, 'migration.sql'), 'SELECT 1;');
      await expect(applyMigrations(runner(pglite), dir)).rejects.toBeInstanceOf(
        MigrationChecksumError,
      );
    });
  });

  it('unpacks every file of the template with its bytes, trailing empty pages left as holes', async () => {
    const template = await readPgliteTemplate();
    expect(template, 'the global setup builds the template').not.toBeNull();
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-unpack-'));
    try {
      const dataDir = path.join(home, 'db');
      await mkdir(dataDir);
      expect(await unpackPgliteTemplate(dataDir)).toEqual(template!.migrations);
      // The same tar unpacked by tar(1), beside it.
      const reference = path.join(home, 'reference');
      await mkdir(reference);
      await writeFile(path.join(home, 'template.tar'), template!.tar);
      await new Promise<void>((resolve, reject) =>
        execFile('tar', ['-xf', path.join(home, 'template.tar'), '-C', reference], (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      const entries = await readdir(reference, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(reference, path.join(e.parentPath, e.name)));
      expect(files.length).toBeGreaterThan(100);
      expect((await readdir(dataDir, { recursive: true })).sort()).toEqual(
        (await readdir(reference, { recursive: true })).sort(),
      );
      let holes = 0;
      for (const file of files) {
        const [a, b] = await Promise.all([
          readFile(path.join(dataDir, file)),
          readFile(path.join(reference, file)),
        ]);
        expect(a.equals(b), file).toBe(true);
        const { blocks, size } = await stat(path.join(dataDir, file));
        if (blocks * 512 < size) holes++;
      }
      expect(holes, 'files ending in empty pages are written sparse').toBeGreaterThan(0);
      // Shut down cleanly (pg_control's state, after its identifier and two versions, is
      // DB_SHUTDOWNED): a new database opens without a crash recovery.
      const control = await readFile(path.join(dataDir, 'global', 'pg_control'));
      expect(control.readInt32LE(16)).toBe(1);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('a new embedded database is unpacked from the migrated build template, reopened as is', async () => {
    expect(existsSync(pgliteTemplateFile()), 'the global setup builds the template').toBe(true);
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-template-'));
    const dataDir = path.join(home, 'db');
    try {
      const names = await listMigrationNames();
      // What unpacks cut short left: a gone process's (pids stop at 2^22 on Linux) goes, a
      // live one's stays.
      const gone = path.join(home, 'db.2147483646.tmp');
      const live = path.join(home, `db.${process.ppid}.tmp`);
      for (const leftover of [gone, live]) {
        await mkdir(path.join(leftover, 'base'), { recursive: true });
        await writeFile(path.join(leftover, 'base', 'x'), 'x');
      }
      const fresh = await openDatabase({ kind: 'pglite', dataDir });
      const before = Date.now();
      expect(await fresh.migrate()).toEqual(names);
      // Recorded as applied now (the template's rows are from the build), with new ids.
      const rows = await fresh.prisma.$queryRawUnsafe<{ id: string; started_at: Date }[]>(
        'SELECT id, started_at FROM "_prisma_migrations"',
      );
      expect(rows).toHaveLength(names.length);
      for (const row of rows)
        expect(row.started_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
      await fresh.prisma.account.create({ data: { name: 'kept' } });
      await fresh.close();
      expect((await readdir(home)).sort()).toEqual(['db', path.basename(live)]);
      await rm(live, { recursive: true });
      expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      const again = await openDatabase({ kind: 'pglite', dataDir });
      expect(await again.migrate()).toEqual([]);
      expect((await again.prisma.account.findMany()).map((a) => a.name)).toContain('kept');
      await again.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
