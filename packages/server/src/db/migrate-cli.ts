// `npm run db:migrate:new -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql
// with the SQL that takes the committed migrations to prisma/schema.prisma.
// `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded PGlite).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { openDatabase } from './database.ts';
import { MIGRATIONS_DIR } from './paths.ts';
import { diffMigrationsToSchema } from './schema-engine.ts';

function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function createMigration(name: string | undefined): Promise<void> {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    throw new Error('Usage: npm run db:migrate:new -- <name> (lowercase letters, digits, _)');
  }
  const sql = await diffMigrationsToSchema();
  if (!sql) {
    console.log('prisma/schema.prisma matches the migrations: nothing to create.');
    return;
  }
  const dir = path.join(MIGRATIONS_DIR, `${timestamp()}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), `${sql}\n`);
  console.log(`Created ${path.relative(process.cwd(), dir)}/migration.sql`);
}

async function deploy(): Promise<void> {
  const config = loadConfig(process.env);
  const db = await openDatabase(config.database);
  try {
    const applied = await db.migrate();
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
  } finally {
    await db.close();
  }
}

const [command, arg] = process.argv.slice(2);
try {
  if (command === 'new') await createMigration(arg);
  else if (command === 'deploy') await deploy();
  else throw new Error('Usage: migrate-cli.ts new <name> | deploy');
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
