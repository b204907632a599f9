// Media storage in an S3 bucket (AWS, or a compatible server through an endpoint such as
// MinIO, Ceph, R2), so several API hosts share the same files.

import { PassThrough, Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { assertValidKey, type ListedObject, type Storage, type StoredObject } from './storage.ts';

export interface S3StorageOptions {
  bucket: string;
  /** Prefix of every key, without surrounding slashes; '' for the bucket's root. */
  prefix: string;
  /** An S3-compatible server's base URL (addressed path-style); null: AWS. */
  endpoint: string | null;
  region: string;
  /** Static credentials; null: the SDK's default chain (env, profiles, instance roles...). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}

/** Thrown for a missing object, with the code LocalStorage's streams use for one. */
export class StorageObjectNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(key: string) {
    super(`Storage object not found: ${key}`);
    this.name = 'StorageObjectNotFoundError';
  }
}

/** A missing object (a missing bucket is a configuration error, not a missing object). */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** The first byte of a `Content-Range: bytes a-b/size` header. */
function parseContentRangeStart(header: string | undefined): number | null {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : null;
}

/** The AWS SDK's S3 client module. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

/**
 * An S3Storage with the AWS SDK loaded now. The SDK is imported here, not at the top of this
 * module: the server's bundle (scripts/build-dist.mjs) hoists a bundled module's static
 * imports of external packages to its top, so a static import would load the SDK (≈ 100 ms,
 * 20 MB) at every start, bucket or not.
 */
export async function openS3Storage(options: S3StorageOptions): Promise<S3Storage> {
  return new S3Storage(options, await import('@aws-sdk/client-s3'));
}

export class S3Storage implements Storage {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(
    options: S3StorageOptions,
    private readonly sdk: S3Sdk,
  ) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.client = new sdk.S3Client({
      region: options.region,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestHandler: {
        // Fail a media request instead of hanging it when S3 is unreachable or stalls.
        connectionTimeout: 10_000,
        socketTimeout: 120_000,
        // Every /media download holds a socket while it streams (the default allows 50).
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
      ...(options.endpoint
        ? {
            endpoint: options.endpoint,
            // Compatible servers rarely have a DNS name per bucket.
            forcePathStyle: true,
            // The SDK's default checksums (CRC trailers, response validation) are newer than
            // many compatible servers; send and check them only where S3 requires them.
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
    });
  }

  /** The object key of a storage key; rejects keys LocalStorage would reject. */
  objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, data: Buffer): Promise<void> {
    // One PUT replaces an object atomically: readers see the old bytes or the new ones.
    await this.client.send(
      new this.sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: data,
        ContentLength: data.length,
      }),
    );
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const head = await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    const objectKey = this.objectKey(key);
    // The interface hands out a stream at once; it is fed when S3 answers. A consumer that
    // gives up early (a client that went away) aborts the request or the body download.
    const out = new PassThrough();
    const abort = new AbortController();
    out.once('close', () => {
      if (!out.readableEnded) abort.abort();
    });
    this.client
      .send(
        new this.sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        { abortSignal: abort.signal },
      )
      .then(
        (response) => {
          const body = response.Body;
          if (!(body instanceof Readable)) {
            out.destroy(new Error(`S3 returned no body stream for ${objectKey}`));
            return;
          }
          if (out.destroyed) {
            body.destroy();
            return;
          }
          let done = false;
          const finish = () => {
            done = true;
            out.end();
          };
          body.on('error', (error) => {
            if (!done) out.destroy(error);
          });
          // A reader that gave up: stop the download. After a complete read the body is left
          // to end by itself, so its keep-alive connection is reused.
          out.once('close', () => {
            if (!out.readableEnded) body.destroy();
          });
          // Cut the body to the range asked for: some compatible servers send more (s3rver
          // answers `bytes=0-0` with the whole object) or ignore Range altogether (200).
          const bodyStart = range ? (parseContentRangeStart(response.ContentRange) ?? 0) : 0;
          let skip = range ? range.start - bodyStart : 0;
          let left = range ? range.end - range.start + 1 : Number.POSITIVE_INFINITY;
          if (skip < 0) {
            body.destroy();
            out.destroy(new Error(`S3 answered ${response.ContentRange} for ${objectKey}`));
            return;
          }
          body.on('data', (chunk: Buffer) => {
            if (done) {
              body.destroy(); // bytes past the range: not worth downloading
              return;
            }
            let part = chunk;
            if (skip > 0) {
              const dropped = Math.min(skip, part.length);
              part = part.subarray(dropped);
              skip -= dropped;
            }
            if (part.length > left) part = part.subarray(0, left);
            left -= part.length;
            if (part.length && !out.write(part)) {
              body.pause();
              out.once('drain', () => body.resume());
            }
            if (left === 0) finish();
          });
          body.once('end', () => {
            if (!done) finish();
          });
        },
        (error: unknown) => {
          out.destroy(
            isNotFound(error)
              ? new StorageObjectNotFoundError(key)
              : error instanceof Error
                ? error
                : new Error(String(error)),
          );
        },
      );
    return out;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(
        new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
    } catch (error) {
      // S3 answers 204 for a missing key; some compatible servers answer 404.
      if (!isNotFound(error)) throw error;
    }
  }

  async *list(folder: string): AsyncIterable<ListedObject> {
    const prefix = `${this.objectKey(folder)}/`;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new this.sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield { key: object.Key.slice(strip), modifiedAt: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Closes the client's idle connections. */
  destroy(): void {
    this.client.destroy();
  }
}
