// Builds the Storage that STORAGE_URL names.
import type { StorageConfig } from '../config.ts';
import { LocalStorage } from './local.storage.ts';
import { S3Storage } from './s3.storage.ts';
import type { Storage } from './storage.ts';

export function createStorage(config: StorageConfig): Storage {
  return config.kind === 's3' ? new S3Storage(config) : new LocalStorage(config.dir);
}
