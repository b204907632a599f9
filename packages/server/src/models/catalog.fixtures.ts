// Test helpers for the catalog: where the node specifications and the catalog live, and
// temporary catalog directories built from the real files with one thing broken.
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_NODE_SPECS_FILE } from './comfyui-nodes.ts';

/** The server's own catalog directory. */
export const CATALOG_DIR = fileURLToPath(new URL('../../catalog', import.meta.url));

const SHARED_NODE_SPECS = path.resolve(
  fileURLToPath(new URL('../../../../', import.meta.url)),
  '../shared/comfyui/nodes.json',
);

const SHARED_OBJECT_INFO = path.join(path.dirname(SHARED_NODE_SPECS), 'object_info.json');

/** The shared `/object_info` answer of a real ComfyUI (all 886 classes), when it exists. */
export const SHARED_OBJECT_INFO_FILE = existsSync(SHARED_OBJECT_INFO) ? SHARED_OBJECT_INFO : null;

/**
 * Node specifications to validate against in tests: $COMFYUI_NODES_JSON (a nodes.json or an
 * `/object_info` answer), else the shared `/object_info` answer of a real ComfyUI next to the
 * repository when it exists, else the copies committed in the catalog.
 */
export const TEST_NODE_SPECS_FILE =
  process.env.COMFYUI_NODES_JSON ?? SHARED_OBJECT_INFO_FILE ?? BUNDLED_NODE_SPECS_FILE;

export const SHARED_NODE_SPECS_FILE = existsSync(SHARED_NODE_SPECS) ? SHARED_NODE_SPECS : null;

/** Reads a JSON file of the real catalog, e.g. `models/flux1-dev.json`. */
export async function readCatalogJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await readFile(path.join(CATALOG_DIR, file), 'utf8')) as T;
}

const created: string[] = [];

/** Deletes every directory `writeTempCatalog` created in this test file. */
export async function removeTempCatalogs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * Creates a catalog directory in a temp folder with `models/` and `styles/` and writes the
 * given files (objects are JSON-encoded, strings written as they are). `copyReal` first copies
 * the real catalog's models and styles.
 */
export async function writeTempCatalog(
  files: Record<string, unknown>,
  { copyReal = false }: { copyReal?: boolean } = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'atelier-catalog-'));
  created.push(dir);
  await mkdir(path.join(dir, 'models'));
  await mkdir(path.join(dir, 'styles'));
  if (copyReal) {
    await cp(path.join(CATALOG_DIR, 'models'), path.join(dir, 'models'), { recursive: true });
    await cp(path.join(CATALOG_DIR, 'styles'), path.join(dir, 'styles'), { recursive: true });
  }
  for (const [file, content] of Object.entries(files)) {
    await writeFile(
      path.join(dir, file),
      typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`,
    );
  }
  return dir;
}
