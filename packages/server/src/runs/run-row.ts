// A Run row read by our own SQL (row_to_json / jsonb of the table row), as Prisma's client
// would have returned it: the database queue's claim and createRun's function answer rows.
import type { Run } from '../generated/prisma/client.ts';

/** The Run columns of type DateTime (row_to_json writes them as UTC without a zone). */
const RUN_DATES = ['createdAt', 'updatedAt', 'startedAt', 'finishedAt', 'leaseExpiresAt'] as const;

/** The Run columns that are lists: Prisma gives [] for a NULL there. */
const RUN_LISTS = ['skipStages', 'adjustments', 'webhookEvents'] as const;

/**
 * A Run as Prisma returns it, from the row_to_json of its table row: timestamps become Dates
 * (stored in UTC, as Prisma stores them), a NULL list becomes []; JSON, arrays, numbers and
 * enum names are already what Prisma gives.
 */
export function runFromJson(json: Record<string, unknown>): Run {
  const run: Record<string, unknown> = { ...json };
  for (const key of RUN_DATES) {
    const value = run[key];
    if (typeof value === 'string') run[key] = new Date(`${value}Z`);
  }
  for (const key of RUN_LISTS) run[key] ??= [];
  return run as unknown as Run;
}

/** What the function "atelier_create_run" answers (see its migration). */
export type CreateRunRow =
  | { run: Record<string, unknown> }
  | { existing: Record<string, unknown> }
  | { error: 'ACCOUNT' | 'QUEUE_LIMIT' | 'CREDITS'; balance?: number };
