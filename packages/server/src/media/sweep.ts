// Files in storage that no Media row names, deleted once they are older than any write still
// under way: an output stored by a process killed before its run's end recorded it, a
// thumbnail that another process wrote after its media was deleted, the temporary file of a
// local write cut short. A Media row names its file and its thumbnail (storageKey,
// thumbnailKey). An upload's file is written seconds before its row is inserted (its
// thumbnail after); a run's output may be stored as soon as the worker reports it, its row
// inserted when the execution ends, however long that takes. So a file without a row is one
// nobody will name once it is older than the sweep's age and than the start of every run
// still running.
import type { PrismaClient } from '../generated/prisma/client.ts';
import { observeOrphansDeleted } from '../instruments.ts';
import type { Logger } from '../log.ts';
import { PeriodicTask } from '../periodic.ts';
import type { Storage } from '../storage/storage.ts';

/** The folders media files are written to: uploads, outputs, and the thumbnails of both. */
export const MEDIA_FOLDERS = ['media', 'outputs', 'thumbs'] as const;

/** A file name's leading Media id. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** Keys looked up in one statement. */
const BATCH = 500;

/** The first sweep after a start comes this soon (or one interval, when shorter). */
const FIRST_SWEEP_MS = 60_000;

/**
 * Deletes the files of the media folders last written before `before` (and before the start
 * of every run still running) that no Media row names. Returns their keys.
 */
export async function sweepStorage(
  prisma: PrismaClient,
  storage: Storage,
  before: Date,
): Promise<string[]> {
  const running = await prisma.run.aggregate({
    where: { status: 'RUNNING' },
    _min: { startedAt: true },
  });
  const oldest = running._min.startedAt;
  if (oldest && oldest < before) before = oldest;
  const deleted: string[] = [];
  const select = { storageKey: true, thumbnailKey: true } as const;
  const settle = async (keys: string[]) => {
    // Files are named after their Media row (`outputs/<id>.png`, `thumbs/<id>.webp`): looked
    // up by primary key.
    const ids = new Set<string>();
    for (const key of keys) {
      const id = UUID.exec(key.slice(key.lastIndexOf('/') + 1))?.[0];
      if (id) ids.add(id);
    }
    const rows = ids.size
      ? await prisma.media.findMany({ where: { id: { in: [...ids] } }, select })
      : [];
    const named = new Set(rows.flatMap((r) => [r.storageKey, r.thumbnailKey]));
    // The rest is looked for by key before it goes, whatever its name (columns without an
    // index, so only for the few files left).
    let orphans = keys.filter((key) => !named.has(key));
    if (orphans.length) {
      const byKey = await prisma.media.findMany({
        where: { OR: [{ storageKey: { in: orphans } }, { thumbnailKey: { in: orphans } }] },
        select,
      });
      for (const r of byKey) named.add(r.storageKey).add(r.thumbnailKey);
      orphans = orphans.filter((key) => !named.has(key));
    }
    await Promise.all(orphans.map((key) => storage.delete(key)));
    deleted.push(...orphans);
  };
  for (const folder of MEDIA_FOLDERS) {
    let batch: string[] = [];
    for await (const object of storage.list(folder)) {
      if (object.modifiedAt >= before) continue;
      batch.push(object.key);
      if (batch.length === BATCH) {
        await settle(batch);
        batch = [];
      }
    }
    if (batch.length) await settle(batch);
  }
  return deleted;
}

/**
 * Sweeps every `everyMs` the files older than `everyMs` (the first time a minute after
 * start). Every process that executes runs sweeps: two sweeping at once delete the same
 * files, which is harmless.
 */
export class StorageSweeper {
  private readonly periodic: PeriodicTask<string[]>;

  constructor(
    private readonly deps: { prisma: PrismaClient; storage: Storage; log: Logger },
    /** 0 never sweeps. */
    private readonly everyMs: number,
  ) {
    this.periodic = new PeriodicTask(() => this.sweepOnce(), {
      everyMs,
      firstMs: FIRST_SWEEP_MS,
      fallback: [],
      onError: (error) => this.deps.log.warn('sweeping storage failed', { error }),
    });
  }

  start(): void {
    this.periodic.start();
  }

  /** Sweeps now (joins a sweep under way); failures are logged, not thrown. */
  sweep(): Promise<string[]> {
    return this.periodic.run();
  }

  private async sweepOnce(): Promise<string[]> {
    const deleted = await sweepStorage(
      this.deps.prisma,
      this.deps.storage,
      new Date(Date.now() - this.everyMs),
    );
    observeOrphansDeleted(deleted.length);
    if (deleted.length) {
      this.deps.log.info('deleted files no media names', {
        count: deleted.length,
        keys: deleted.slice(0, 20),
      });
    }
    return deleted;
  }

  /** Stops sweeping; a sweep under way ends first. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
