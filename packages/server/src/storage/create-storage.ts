// Builds the Storage that STORAGE_URL names (with a span per call when traces are exported).
import type { StorageConfig } from '../config.ts';
import { tracingEnabled } from '../tracing.ts';
import { LocalStorage } from './local.storage.ts';
import type { Storage } from './storage.ts';
import { TracedStorage } from './traced.storage.ts';

export async function createStorage(config: StorageConfig): Promise<Storage> {
  // The AWS SDK is loaded only for a bucket (≈ 100 ms and 20 MB a local store never needs).
  const storage =
    config.kind === 's3'
      ? await (await import('./s3.storage.ts')).openS3Storage(config)
      : new LocalStorage(config.dir);
  return tracingEnabled() ? new TracedStorage(storage, config.kind) : storage;
}
