// `POST /upload/image` and `POST /upload/mask` (`server.py` `image_upload`): multipart form
// with `image`, `type`, `subfolder`, `overwrite` and, for masks, `original_ref`; identical
// bytes reuse the name, different bytes get " (n)" appended; a mask upload writes the
// original image with its alpha replaced by the mask's alpha.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import type { SandboxCore } from './core.ts';
import { HttpError, INTERNAL_ERROR, readBody, sendEmpty, sendJson } from './respond.ts';

function dirFor(core: SandboxCore, type: string | null): [string, string] {
  const t = type ?? 'input';
  if (t === 'input') return [core.dirs.input, t];
  if (t === 'temp') return [core.dirs.temp, t];
  if (t === 'output') return [core.dirs.output, t];
  // ComfyUI fails with an UnboundLocalError here: aiohttp answers 500.
  throw new HttpError(500, INTERNAL_ERROR);
}

function inside(root: string, p: string): boolean {
  const r = path.resolve(root);
  const x = path.resolve(p);
  return x === r || x.startsWith(r + path.sep);
}

/** The mask upload's save function: original RGBA with the uploaded image's alpha. */
async function compositeMask(
  core: SandboxCore,
  form: FormData,
  upload: Buffer,
  target: string,
): Promise<void> {
  const refText = form.get('original_ref');
  if (typeof refText !== 'string') throw new HttpError(500, INTERNAL_ERROR);
  let ref: { filename?: string; subfolder?: string; type?: string };
  try {
    ref = JSON.parse(refText);
  } catch {
    throw new HttpError(500, INTERNAL_ERROR);
  }
  let filename = String(ref.filename ?? '');
  let type = ref.type ?? 'output';
  for (const t of ['output', 'input', 'temp']) {
    if (filename.endsWith(`[${t}]`)) {
      filename = filename.slice(0, -(t.length + 3));
      type = t;
    }
  }
  if (!filename || filename.startsWith('/') || filename.includes('..')) return;
  const base = { output: core.dirs.output, input: core.dirs.input, temp: core.dirs.temp }[type];
  if (!base) return;
  const dir = ref.subfolder ? path.join(base, ref.subfolder) : base;
  if (!inside(base, dir)) return;
  const original = path.join(dir, filename);
  if (!existsSync(original)) return;
  const { data, info } = await sharp(original)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const alpha = await sharp(upload)
    .ensureAlpha()
    .resize(info.width, info.height, { fit: 'fill' })
    .extractChannel('alpha')
    .raw()
    .toBuffer();
  for (let i = 0; i < info.width * info.height; i++) data[i * 4 + 3] = alpha[i]!;
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png({ compressionLevel: 4 })
    .toBuffer();
  await writeFile(target, png);
}

export async function handleUpload(
  core: SandboxCore,
  req: IncomingMessage,
  res: ServerResponse,
  mask: boolean,
): Promise<void> {
  const body = await readBody(req, core.maxUploadBytes);
  const ct = req.headers['content-type'] ?? '';
  if (
    !ct.startsWith('multipart/form-data') &&
    !ct.startsWith('application/x-www-form-urlencoded')
  ) {
    throw new HttpError(500, INTERNAL_ERROR);
  }
  let form: FormData;
  try {
    form = await new Request('http://sandbox/upload', {
      method: 'POST',
      headers: { 'content-type': ct },
      body: new Uint8Array(body),
    }).formData();
  } catch {
    throw new HttpError(500, INTERNAL_ERROR);
  }
  const image = form.get('image');
  const typeField = form.get('type');
  const [uploadDir, type] = dirFor(core, typeof typeField === 'string' ? typeField : null);
  if (!image || typeof image === 'string') return sendEmpty(res, 400);
  let filename = image.name;
  if (!filename) return sendEmpty(res, 400);
  const subfolderField = form.get('subfolder');
  const subfolder = typeof subfolderField === 'string' ? subfolderField : '';
  const folder = path.join(uploadDir, path.normalize(subfolder || '.'));
  let filepath = path.resolve(folder, filename);
  if (!inside(uploadDir, filepath)) return sendEmpty(res, 400);
  mkdirSync(path.dirname(filepath), { recursive: true });

  const bytes = Buffer.from(await image.arrayBuffer());
  const overwrite = form.get('overwrite');
  let duplicate = false;
  if (overwrite !== 'true' && overwrite !== '1') {
    const ext = path.extname(filename);
    const stem = filename.slice(0, filename.length - ext.length);
    let i = 1;
    while (existsSync(filepath)) {
      if (readFileSync(filepath).equals(bytes)) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${ext}`;
      filepath = path.resolve(folder, filename);
      i++;
    }
  }
  if (!duplicate) {
    if (mask) await compositeMask(core, form, bytes, filepath);
    else await writeFile(filepath, bytes);
  }
  sendJson(res, 200, { name: filename, subfolder, type });
}
