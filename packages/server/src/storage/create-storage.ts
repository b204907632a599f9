// Builds the Storage that STORAGE_URL names (with a span per call when traces are exported).
import type { StorageConfig } from '../config.ts';
import { tracingEnabled } from '../tracing.ts';
import { LocalStorage } from './local.storage.ts';
import { S3Storage } from './s3.storage.ts';
import type { Storage } from './storage.ts';
import { TracedStorage } from './traced.storage.ts';

export function createStorage(config: StorageConfig): Storage {
  const storage = config.kind === 's3' ? new S3Storage(config) : new LocalStorage(config.dir);
  return tracingEnabled() ? new TracedStorage(storage, config.kind) : storage;
}
