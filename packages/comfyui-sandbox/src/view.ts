// `GET /view` (`server.py` `view_image`): a file by filename, subfolder and type, with
// ComfyUI's traversal checks, content types, ranges, `preview` transcoding and `channel`.
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import type { SandboxCore } from './core.ts';
import { sendEmpty } from './respond.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.opus': 'audio/ogg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/x-wav',
  '.m4a': 'audio/mp4',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.glb': 'model/gltf-binary',
};
const DANGEROUS = new Set([
  'text/html',
  'application/xhtml+xml',
  'text/javascript',
  'text/css',
  'image/svg+xml',
]);

export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** `folder_paths.annotated_filepath` for /view: strips a ` [type]` suffix. */
function annotated(name: string): [string, string | undefined] {
  for (const t of ['output', 'input', 'temp']) {
    if (name.endsWith(`[${t}]`)) return [name.slice(0, -(t.length + 3)), t];
  }
  return [name, undefined];
}

function dirFor(core: SandboxCore, type: string | undefined): string | undefined {
  if (type === 'output') return core.dirs.output;
  if (type === 'input') return core.dirs.input;
  if (type === 'temp') return core.dirs.temp;
  return undefined;
}

function inside(root: string, p: string): boolean {
  const r = path.resolve(root);
  const x = path.resolve(p);
  return x === r || x.startsWith(r + path.sep);
}

export async function view(
  core: SandboxCore,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
) {
  const raw = q.get('filename');
  if (raw === null) return sendEmpty(res, 404);
  let [filename, type] = annotated(raw);
  if (filename === '' || filename.startsWith('/') || filename.includes('..'))
    return sendEmpty(res, 400);
  type ??= q.get('type') ?? 'output';
  let dir = dirFor(core, type);
  if (!dir) return sendEmpty(res, 400);
  const subfolder = q.get('subfolder');
  if (subfolder !== null) {
    const full = path.join(dir, subfolder);
    if (!inside(dir, full)) return sendEmpty(res, 403);
    dir = full;
  }
  filename = path.basename(filename);
  const file = path.join(dir, filename);
  if (!existsSync(file) || !statSync(file).isFile()) return sendEmpty(res, 404);
  const disposition = `filename="${filename}"`;

  const preview = q.get('preview');
  const channel = q.get('channel') ?? 'rgba';
  if (preview !== null) {
    const parts = preview.split(';');
    let format = parts[0] === 'jpeg' || parts[0] === 'webp' ? parts[0] : 'webp';
    if (channel.includes('a') && q.has('channel')) format = 'webp';
    const last = parts.at(-1) ?? '';
    const quality = /^\d+$/.test(last) ? Number(last) : 90;
    let img = sharp(file);
    if (format === 'jpeg' || channel === 'rgb') img = img.removeAlpha();
    const out =
      format === 'jpeg'
        ? await img.jpeg({ quality }).toBuffer()
        : await img.webp({ quality }).toBuffer();
    res.writeHead(200, {
      'Content-Type': `image/${format}`,
      'Content-Disposition': disposition,
      'Content-Length': out.length,
    });
    return res.end(out);
  }
  if (channel === 'rgb' || channel === 'a') {
    let out: Buffer;
    if (channel === 'rgb') {
      out = await sharp(file).removeAlpha().png().toBuffer();
    } else {
      const meta = await sharp(file).metadata();
      const w = meta.width ?? 1;
      const h = meta.height ?? 1;
      const alpha = meta.hasAlpha
        ? await sharp(file).extractChannel('alpha').raw().toBuffer()
        : Buffer.alloc(w * h, 255);
      const rgba = Buffer.alloc(w * h * 4);
      for (let i = 0; i < w * h; i++) rgba[i * 4 + 3] = alpha[i]!;
      out = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
        .png()
        .toBuffer();
    }
    res.writeHead(200, {
      'Content-Type': 'image/png',
      'Content-Disposition': disposition,
      'Content-Length': out.length,
    });
    return res.end(out);
  }

  let type_ = contentType(filename);
  let disp = disposition;
  if (
    DANGEROUS.has(type_) &&
    !(type_ === 'image/svg+xml' && req.headers['sec-fetch-dest'] === 'image')
  ) {
    type_ = 'application/octet-stream';
    disp = `attachment; ${disposition}`;
  }
  const st = statSync(file);
  const etag = `"${st.mtimeMs.toString(16).replace('.', '')}-${st.size.toString(16)}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': type_,
    'Content-Disposition': disp,
    'X-Content-Type-Options': 'nosniff',
    'Accept-Ranges': 'bytes',
    'Last-Modified': st.mtime.toUTCString(),
    ETag: etag,
  };
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = m?.[1] ? Number(m[1]) : undefined;
    let end = m?.[2] ? Number(m[2]) : undefined;
    if (m && start === undefined && end !== undefined) {
      start = Math.max(0, st.size - end);
      end = st.size - 1;
    }
    start ??= 0;
    end = Math.min(end ?? st.size - 1, st.size - 1);
    if (!m || start > end || start >= st.size) {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}` });
      return res.end();
    }
    res.writeHead(206, {
      ...headers,
      'Content-Range': `bytes ${start}-${end}/${st.size}`,
      'Content-Length': end - start + 1,
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': st.size });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}
