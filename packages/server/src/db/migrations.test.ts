import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DB } from '../../test/harness.ts';
import {
  applyMigrations,
  listMigrationNames,
  MigrationChecksumError,
  type SqlRunner,
} from './migrate.ts';
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

    it('refuses a migration edited after it was applied', async () => {
      const [first] = await listMigrationNames();
      await mkdir(path.join(dir, first!), { recursive: true });
      await writeFile(path.join(dir, first!, 'migration.sql'), 'SELECT 1;');
      await expect(applyMigrations(runner(pglite), dir)).rejects.toBeInstanceOf(
        MigrationChecksumError,
      );
    });
  });
});
