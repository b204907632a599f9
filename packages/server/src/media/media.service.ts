// Media logic: capped upload streaming, image normalization, per-owner dedup, storage,
// lookups, the gallery and deletion. No GraphQL here.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { jsonbText } from '../db/jsonb.ts';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import {
  type Media,
  type MediaKind,
  type MediaPurpose,
  Prisma,
  type PrismaClient,
} from '../generated/prisma/client.ts';
import { isUuid } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/storage.ts';
import { processImage, THUMBNAIL_MIME } from './image.ts';
import { MediaInUseError, MediaTooLargeError } from './media.errors.ts';
import { Thumbnails } from './outputs.ts';

/** A readable byte stream; busboy's file streams also say whether they were truncated. */
export type UploadStream = NodeJS.ReadableStream & { truncated?: boolean };

export interface UploadRequest {
  stream: UploadStream;
  purpose: MediaPurpose;
  /** The client's file name; stored for display only, never used for paths. */
  originalName?: string | null;
  /** The client's claimed MIME type; informational only, the bytes decide. */
  clientMime?: string | null;
}

/** Prisma selection the GraphQL layer passes through (Pothos' `query`). */
export interface MediaQuery {
  select?: Prisma.MediaSelect | null;
  include?: Prisma.MediaInclude | null;
}

/** Page arguments for the gallery (Pothos' prismaConnection passes take/skip/cursor). */
export interface GalleryPage extends MediaQuery {
  take?: number;
  skip?: number;
  cursor?: Prisma.MediaWhereUniqueInput;
}

export class MediaService {
  /** Thumbnails in the making: a deleted media's is removed once it is written. */
  readonly thumbnails: Thumbnails;

  readonly prisma: PrismaClient;
  /** Its statements sent by the driver itself (Database.query): an upload's insert. */
  private readonly db: Pick<Database, 'query'>;

  constructor(
    db: Pick<Database, 'prisma' | 'query'>,
    readonly storage: Storage,
    readonly limits: Config['uploads'],
    readonly log?: Logger,
    /** The process's (the media route waits for the ones in the making there). */
    thumbnails?: Thumbnails,
  ) {
    this.prisma = db.prisma;
    this.db = db;
    this.thumbnails = thumbnails ?? new Thumbnails(storage, limits.thumbnailEdge);
  }

  /**
   * Reads an upload (never more than maxFileBytes + 1 bytes in memory), validates and
   * normalizes it, and stores it for `ownerId`. The same resulting bytes from the same
   * owner return the existing Media. Nothing is stored when anything fails.
   */
  async upload(ownerId: string, request: UploadRequest): Promise<Media> {
    if (request.purpose === 'OUTPUT') {
      throw new ValidationError('purpose', 'OUTPUT media are made by runs and cannot be uploaded.');
    }
    const input = await readCapped(request.stream, this.limits.maxFileBytes);
    const image = await processImage(input, {
      maxPixels: this.limits.maxPixels,
      maxEdge: this.limits.maxEdge,
      thumbnailEdge: this.limits.thumbnailEdge,
      keepAlpha: request.purpose === 'MASK',
    });

    // Keys are made here from a fresh UUID (the Media id), never from user input.
    const id = randomUUID();
    const storageKey = `media/${id}.${image.extension}`;
    const thumbnailKey = `thumbs/${id}.webp`;
    // The stored file is written and hashed (and a PNG's thumbnail, made beside its encode,
    // written) at once. The row is then inserted straight away, without looking the dedup
    // key up first: a new upload (the common case) waits for one database round trip, not
    // two. A dedup hit inserts nothing (ON CONFLICT), and is handled below like a concurrent
    // upload of the same bytes.
    const made = image.thumbnail;
    const writes = [
      this.storage.put(storageKey, image.data),
      made?.then(async (thumbnail) => {
        await this.storage.put(thumbnailKey, thumbnail.data);
        return thumbnail;
      }) ?? null,
    ] as const;
    const sha256 = createHash('sha256').update(image.data).digest('hex');
    const dedupKey = `${ownerId}:${sha256}`;
    let media: Media;
    try {
      // Both writes settled before a failure is handled (and cleaned up), so no write still
      // under way can leave a file behind.
      const [file, thumb] = await Promise.allSettled(writes);
      if (file.status === 'rejected') throw file.reason;
      if (thumb.status === 'rejected') throw thumb.reason;
      const row: Media = {
        id,
        ownerId,
        kind: 'IMAGE',
        purpose: request.purpose,
        mimeType: image.mimeType,
        width: image.width,
        height: image.height,
        durationMs: null,
        bytes: image.data.length,
        sha256,
        dedupKey,
        hasAlpha: image.hasAlpha,
        originalName: cleanFileName(request.originalName),
        originalBytes: image.source.bytes,
        originalWidth: image.source.width,
        originalHeight: image.source.height,
        storageKey,
        thumbnailKey,
        thumbnailMime: THUMBNAIL_MIME,
        // A thumbnail made after the answer is not counted here.
        thumbnailBytes: thumb.value?.data.length ?? null,
        runId: null,
        outputIndex: null,
        createdAt: new Date(),
      };
      media = (await this.insertUpload(row)) ?? (await this.dedupWinner(dedupKey, row));
    } catch (error) {
      await this.removeFiles([storageKey, made ? thumbnailKey : null]);
      throw error;
    }
    if (media.id !== id) {
      // The same bytes of the same owner were stored already (or a concurrent upload of
      // them won the race for the dedup key): that row is the answer, these files go.
      await this.removeFiles([storageKey, made ? thumbnailKey : null]);
      return media;
    }
    // A JPEG's or WebP's thumbnail is made from the stored bytes once the upload is recorded,
    // not before its answer; /media/{id}/thumbnail waits for it, or makes it when its making
    // failed or its process stopped first.
    if (!made) {
      this.thumbnails
        .make(thumbnailKey, image.data)
        .catch((error: unknown) =>
          this.log?.warn('could not make an upload thumbnail', { key: thumbnailKey, error }),
        );
    }
    return media;
  }

  /**
   * A media item within `scope` (an owner id, or `{ ownerId }` / `{}` for admins), or null
   * when unknown, not theirs, or `id` is no UUID.
   */
  async get(
    scope: string | { ownerId?: string },
    id: string,
    query: MediaQuery = {},
  ): Promise<Media | null> {
    if (!isUuid(id)) return null;
    const owner = typeof scope === 'string' ? { ownerId: scope } : scope;
    return (await this.prisma.media.findFirst({
      ...selection(query),
      where: { id, ...owner },
    })) as Media | null;
  }

  /** A page of `ownerId`'s media, newest first (id breaks ties), optionally of one kind. */
  async gallery(ownerId: string, filter: { kind?: MediaKind | null }, page: GalleryPage) {
    return (await this.prisma.media.findMany({
      ...selection(page),
      take: page.take,
      skip: page.skip,
      cursor: page.cursor,
      where: { ownerId, ...(filter.kind ? { kind: filter.kind } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    })) as Media[];
  }

  /**
   * Deletes a media item of `ownerId` and its files. Throws NotFoundError when unknown
   * (or not theirs) and MediaInUseError while a run uses it as an input.
   */
  async delete(ownerId: string, id: string): Promise<void> {
    const media = isUuid(id)
      ? await this.prisma.media.findFirst({
          where: { id, ownerId },
          select: { id: true, storageKey: true, thumbnailKey: true },
        })
      : null;
    if (!media) throw new NotFoundError('Media', id);

    const inUse = () => this.prisma.run.count({ where: { inputs: { some: { mediaId: id } } } });
    const runs = await inUse();
    if (runs > 0) throw new MediaInUseError(id, runs);
    try {
      await this.prisma.media.delete({ where: { id } });
    } catch (error) {
      const code = prismaErrorCode(error);
      // A run started using it (RunInput is onDelete: Restrict) or a concurrent delete won.
      if (code === 'P2003') throw new MediaInUseError(id, Math.max(1, await inUse()));
      if (code === 'P2025') throw new NotFoundError('Media', id);
      throw error;
    }
    // Row first, files second: a failure here leaves an orphan file, never a dangling row.
    if (media.thumbnailKey) await this.thumbnails.settled(media.thumbnailKey);
    await this.removeFiles([media.storageKey, media.thumbnailKey]);
  }

  /**
   * Inserts an upload's row in one statement through the driver (through Prisma's client,
   * this insert took 4-13 ms of an upload's answer here); null when the owner has the same
   * bytes already (the dedup key's unique index: nothing is inserted).
   */
  private async insertUpload(row: Media): Promise<Media | null> {
    const columns = Prisma.raw(MEDIA_ROW_COLUMNS.map((c) => `"${c}"`).join(', '));
    const inserted = await this.db.query<{ id: string }>(Prisma.sql`
      INSERT INTO "Media" (${columns})
      SELECT ${columns} FROM jsonb_populate_record(NULL::"Media", ${jsonbText(row)}::jsonb)
      ON CONFLICT ("dedupKey") DO NOTHING
      RETURNING "id"`);
    return inserted.length ? row : null;
  }

  /**
   * The row that holds an upload's dedup key; when it went away meanwhile (deleted), `row`
   * is inserted after all.
   */
  private async dedupWinner(dedupKey: string, row: Media): Promise<Media> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const winner = await this.prisma.media.findUnique({ where: { dedupKey } });
      if (winner) return winner;
      const inserted = await this.insertUpload(row);
      if (inserted) return inserted;
    }
    throw new Error(`uploads of the same bytes kept being deleted (${dedupKey})`);
  }

  private async removeFiles(keys: (string | null)[]) {
    for (const key of keys) {
      if (!key) continue;
      try {
        await this.storage.delete(key);
      } catch (error) {
        this.log?.warn('could not remove media file', { key, error });
      }
    }
  }
}

/**
 * Collects a stream into one Buffer of at most `maxBytes`. Over the limit (or when busboy
 * reports truncation) it throws MediaTooLargeError right away, drops what it collected
 * and lets the rest of the stream drain, so the request body is still consumed.
 */
export function readCapped(stream: UploadStream, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    // A stream destroyed before we got here emits nothing more: answer now, never hang.
    const dead = stream as NodeJS.ReadableStream & { destroyed?: boolean; errored?: unknown };
    if (dead.destroyed) {
      reject(
        dead.errored instanceof Error ? dead.errored : new Error('The upload stream was closed.'),
      );
      return;
    }
    let chunks: Buffer[] = [];
    let total = 0;
    let settled = false;

    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('limit', onLimit);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      chunks = [];
      cleanup();
      // Keep consuming (and discarding) so the multipart parser can finish the request; the
      // failure is the rejection below, later stream errors change nothing.
      stream.on('error', () => {});
      stream.resume();
      reject(error);
    };
    const tooLarge = () => fail(MediaTooLargeError.bytes(maxBytes));
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += buffer.length;
      if (total > maxBytes) return tooLarge();
      chunks.push(buffer);
    };
    const onLimit = () => tooLarge();
    const onEnd = () => {
      if (settled) return;
      if (stream.truncated) return tooLarge();
      settled = true;
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => fail(error);

    stream.on('data', onData);
    stream.on('limit', onLimit);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

function selection(query: MediaQuery): MediaQuery {
  return {
    ...(query.select ? { select: query.select } : {}),
    ...(query.include ? { include: query.include } : {}),
  };
}

function prismaErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Every column of a Media row, as an upload inserts it. */
const MEDIA_ROW_COLUMNS: readonly (keyof Media)[] = [
  'id',
  'ownerId',
  'kind',
  'purpose',
  'mimeType',
  'width',
  'height',
  'durationMs',
  'bytes',
  'sha256',
  'dedupKey',
  'hasAlpha',
  'originalName',
  'originalBytes',
  'originalWidth',
  'originalHeight',
  'storageKey',
  'thumbnailKey',
  'thumbnailMime',
  'thumbnailBytes',
  'runId',
  'outputIndex',
  'createdAt',
];

/** Keeps the base name, drops control characters, caps the length. */
function cleanFileName(name: string | null | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/\p{Cc}/gu, '')
    .trim()
    .slice(0, 255);
  return clean || null;
}
