// Vacuuming for the embedded database. PGlite runs PostgreSQL in single-user mode, which
// has no autovacuum: the dead rows every update and delete leaves (a run's status changes,
// its lease renewals, the queue's folded changes) were never reclaimed, so the tables and
// their indexes only grew (measured: a table taking 4,000 inserts and 2,000 deletes a round
// grew by 230 KB every round, 19,762 dead rows after five; one VACUUM halved it). This does
// autovacuum's work on a timer: the tables past autovacuum's own threshold are vacuumed,
// one statement each, between the server's other queries. A PostgreSQL server runs its own
// autovacuum, and nothing here runs for it.
import { Prisma } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { PeriodicTask } from '../periodic.ts';
import type { Database } from './database.ts';

/** PostgreSQL's defaults: autovacuum_vacuum_threshold and autovacuum_vacuum_scale_factor. */
const THRESHOLD = 50;
const SCALE_FACTOR = 0.2;

/** The tables autovacuum would vacuum now (dead rows > 50 + 20% of the live ones). */
export async function tablesToVacuum(db: Pick<Database, 'query'>): Promise<string[]> {
  const rows = await db.query<{ name: string }>(Prisma.sql`
    SELECT quote_ident(relname) AS name FROM pg_stat_user_tables
      WHERE n_dead_tup > ${THRESHOLD}::float8 + ${SCALE_FACTOR}::float8 * n_live_tup
      ORDER BY n_dead_tup DESC`);
  return rows.map((r) => r.name);
}

export class EmbeddedVacuum {
  private readonly periodic: PeriodicTask<string[]>;

  constructor(
    private readonly deps: { db: Pick<Database, 'kind' | 'query'>; log: Logger },
    /** 0 never vacuums. */
    everyMs: number,
  ) {
    this.periodic = new PeriodicTask(() => this.vacuumTables(), {
      everyMs,
      fallback: [],
      onError: (error) => this.deps.log.warn('vacuuming the embedded database failed', { error }),
    });
  }

  /** Starts the timer on PGlite; does nothing on PostgreSQL. */
  start(): void {
    if (this.deps.db.kind === 'pglite') this.periodic.start();
  }

  /** Vacuums the tables that need it now (joins a vacuum under way); logs failures. */
  vacuum(): Promise<string[]> {
    return this.periodic.run();
  }

  private async vacuumTables(): Promise<string[]> {
    const tables = await tablesToVacuum(this.deps.db);
    const done: string[] = [];
    for (const table of tables) {
      if (this.periodic.isStopped) break;
      const started = performance.now();
      await this.deps.db.query(Prisma.raw(`VACUUM ${table}`));
      done.push(table);
      this.deps.log.debug('vacuumed', { table, ms: Math.round(performance.now() - started) });
    }
    return done;
  }

  /** Stops the timer and waits for a vacuum under way (the database closes after). */
  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
