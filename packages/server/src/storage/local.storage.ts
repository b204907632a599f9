// Media storage on the local filesystem under one root folder.
import { createReadStream, type Dirent } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { assertValidKey, type ListedObject, type Storage, type StoredObject } from './storage.ts';

export class LocalStorage implements Storage {
  constructor(readonly root: string) {}

  /** Maps a key to a path inside the root; rejects anything that could escape it. */
  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename, so a reader never sees a half-written file.
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, data);
    await rename(temp, file);
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { size: s.size } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(key), range);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(folder: string): AsyncIterable<ListedObject> {
    const walk = async function* (dir: string, prefix: string): AsyncIterable<ListedObject> {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const file = path.join(dir, entry.name);
        const key = `${prefix}/${entry.name}`;
        if (entry.isDirectory()) yield* walk(file, key);
        else if (entry.isFile()) {
          // Gone meanwhile (deleted, or a temporary file renamed): not listed.
          const s = await stat(file).catch(() => null);
          if (s) yield { key, modifiedAt: s.mtime };
        }
      }
    };
    yield* walk(this.pathOf(folder), folder);
  }
}
