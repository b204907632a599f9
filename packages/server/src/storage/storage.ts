// Where media bytes live. Keys are opaque strings made by Atelier (never user input).
import type { Readable } from 'node:stream';

export interface StoredObject {
  size: number;
}

export interface ListedObject {
  key: string;
  /** When it was last written. */
  modifiedAt: Date;
}

export interface Storage {
  /** Writes an object, replacing any previous one with the same key. */
  put(key: string, data: Buffer): Promise<void>;
  /** Size of an object, or null when it does not exist. */
  stat(key: string): Promise<StoredObject | null>;
  /** Streams an object, optionally a byte range (inclusive `end`). */
  read(key: string, range?: { start: number; end: number }): Readable;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object under a folder (`outputs`, …: a key prefix without a slash), in no order. */
  list(folder: string): AsyncIterable<ListedObject>;
}

const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Rejects keys that could escape a folder or a prefix (every Storage checks them). */
export function assertValidKey(key: string): void {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`Invalid storage key: ${key}`);
}
