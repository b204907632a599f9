// Applies prisma/migrations/<name>/migration.sql in order, recording each in Prisma's own
// `_prisma_migrations` table (same columns and checksums), so `prisma migrate deploy` sees a
// database migrated here as up to date wherever Prisma's native engine exists. This is what
// Prisma's schema engine does for `migrate deploy` too (run each script, record it), so no
// engine is loaded at start: a database already up to date costs two small queries.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MIGRATIONS_DIR } from './paths.ts';

/** The raw SQL access migrations need; both PGlite and node-postgres provide it. */
export interface SqlRunner {
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /** Runs one parameterised statement and returns its rows. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

export class MigrationChecksumError extends Error {
  constructor(name: string) {
    super(
      `Migration ${name} was changed after it was applied (checksum differs). Create a new migration instead of editing an applied one.`,
    );
    this.name = 'MigrationChecksumError';
  }
}

// Same key Prisma's engine uses, so the two never run migrations at once.
const ADVISORY_LOCK_KEY = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/** Migration folder names in the order they apply (lexical, as Prisma does). */
export async function listMigrationNames(dir = MIGRATIONS_DIR): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** The migrations in `dir`, in order, with the checksums Prisma records. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  return Promise.all(
    (await listMigrationNames(dir)).map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const APPLIED =
  'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL';

/**
 * True when every migration is recorded with its checksum: the common start, answered
 * without the lock (a database being migrated by another process is not "up to
 * date" until its rows are finished, so this never skips work another process left undone).
 */
async function upToDate(db: SqlRunner, migrations: MigrationFile[]): Promise<boolean> {
  const [table] = await db.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!table?.present) return false;
  const rows = await db.query<{ migration_name: string; checksum: string }>(APPLIED);
  const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  return migrations.every((m) => applied.get(m.name) === m.checksum);
}

/** Applies every migration not applied yet; returns the names it applied. */
export async function applyMigrations(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  if (await upToDate(db, migrations)) return [];
  await db.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  try {
    await db.exec(CREATE_TABLE);
    const rows = await db.query<{ migration_name: string; checksum: string }>(APPLIED);
    const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    const done: string[] = [];
    for (const { name, sql, checksum } of migrations) {
      const previous = applied.get(name);
      if (previous !== undefined) {
        if (previous !== checksum) throw new MigrationChecksumError(name);
        continue;
      }
      const id = randomUUID();
      await db.query(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ($1, $2, $3)',
        [id, checksum, name],
      );
      await db.exec(`BEGIN;\n${sql}\nCOMMIT;`).catch(async (error: unknown) => {
        await db.exec('ROLLBACK').catch(() => {});
        await db.query('DELETE FROM "_prisma_migrations" WHERE id = $1', [id]);
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
      });
      await db.query(
        'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
        [id],
      );
      done.push(name);
    }
    return done;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
  }
}
