// File naming and lookup as ComfyUI's folder_paths does it: `<prefix>_<counter:05>_.<ext>`
// with a `/` in the prefix becoming the subfolder, `%width%`-style variables, annotated
// input paths (`name.png [output]`), and PNG text chunks carrying the prompt.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Dirs } from './context.ts';
import { NodeError } from './context.ts';

export interface SavePath {
  folder: string;
  filename: string;
  counter: number;
  subfolder: string;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `folder_paths.get_save_image_path`. */
export function saveImagePath(prefix: string, outputDir: string, width = 0, height = 0): SavePath {
  let p = prefix;
  if (p.includes('%')) {
    const now = new Date();
    p = p
      .replaceAll('%width%', String(width))
      .replaceAll('%height%', String(height))
      .replaceAll('%year%', String(now.getFullYear()))
      .replaceAll('%month%', pad(now.getMonth() + 1))
      .replaceAll('%day%', pad(now.getDate()))
      .replaceAll('%hour%', pad(now.getHours()))
      .replaceAll('%minute%', pad(now.getMinutes()))
      .replaceAll('%second%', pad(now.getSeconds()));
  }
  const normalized = path.posix.normalize(p.replaceAll('\\', '/'));
  const subfolder = path.posix.dirname(normalized) === '.' ? '' : path.posix.dirname(normalized);
  const filename = path.posix.basename(normalized);
  const folder = path.resolve(outputDir, subfolder);
  const root = path.resolve(outputDir);
  if (folder !== root && !folder.startsWith(root + path.sep)) {
    throw new NodeError(
      `**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${folder}\n         output_dir: ${root}`,
      'Exception',
    );
  }
  let counter = 1;
  if (existsSync(folder)) {
    const prefixLen = filename.length;
    let max = 0;
    let found = false;
    for (const f of readdirSync(folder)) {
      const head = f.slice(0, prefixLen + 1);
      if (head.slice(0, -1).toLowerCase() !== filename.toLowerCase() || !head.endsWith('_'))
        continue;
      const digits = Number.parseInt(f.slice(prefixLen + 1).split('_')[0] ?? '', 10);
      found = true;
      max = Math.max(max, Number.isNaN(digits) ? 0 : digits);
    }
    if (found) counter = max + 1;
  } else {
    mkdirSync(folder, { recursive: true });
  }
  return { folder, filename, counter, subfolder };
}

export function fileName(base: string, counter: number, ext: string, batch = 0): string {
  return `${base.replaceAll('%batch_num%', String(batch))}_${String(counter).padStart(5, '0')}_.${ext}`;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** PreviewImage-style prefix: `ComfyUI_temp_` plus five random letters. */
export function tempPrefix(base = 'ComfyUI'): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += LETTERS[Math.floor(Math.random() * 26)];
  return `${base}_temp_${s}`;
}

/** Resolves `name`, `sub/name` or `name [output]` to a path under its base directory. */
export function annotatedPath(
  name: string,
  dirs: Dirs,
  defaultDir = dirs.input,
): string | undefined {
  let base = defaultDir;
  let rel = name;
  for (const [suffix, dir] of [
    [' [output]', dirs.output],
    [' [input]', dirs.input],
    [' [temp]', dirs.temp],
  ] as const) {
    if (name.endsWith(suffix)) {
      base = dir;
      rel = name.slice(0, -suffix.length);
      break;
    }
  }
  const root = path.resolve(base);
  const full = path.resolve(root, rel);
  if (!full.startsWith(root + path.sep)) return undefined;
  return full;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Adds tEXt chunks (ComfyUI stores `prompt` and each `extra_pnginfo` key) before IEND. */
export function withPngText(png: Buffer, text: Record<string, string>): Buffer {
  const entries = Object.entries(text);
  if (entries.length === 0) return png;
  const iend = png.length - 12;
  const chunks = entries.map(([k, v]) =>
    chunk(
      'tEXt',
      Buffer.concat([Buffer.from(k, 'latin1'), Buffer.from([0]), Buffer.from(v, 'latin1')]),
    ),
  );
  return Buffer.concat([png.subarray(0, iend), ...chunks, png.subarray(iend)]);
}
