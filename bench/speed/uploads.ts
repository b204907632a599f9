// Scenario "uploads": a 12 MP JPEG with photo-like content (gradients, texture and noise, so
// it neither compresses nor decodes trivially) through `uploadMedia` (GraphQL multipart
// request, end to end: request sent → answer parsed; the client writes the image's bytes to
// the socket without copying or re-chunking them, and fetch + FormData is measured beside
// it as a second row so that a heavier client's cost stays visible), against sharp doing
// only the image work an upload does (packages/server/src/media/image.ts: header, auto-orient, bound the
// longest edge to 2048, JPEG q92, 256 px WebP thumbnail; plus the sha256 of the result) in
// the bench process, and Pillow doing the equivalent when python3 has PIL.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { BENCH_DIR, fmtMs, median, now, startAtelier, summary } from './lib.ts';

const WIDTH = 4000;
const HEIGHT = 3000;

/** A deterministic photo-like 12 MP JPEG: smooth gradients, soft shapes, fine noise. */
export async function photoLikeJpeg(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(WIDTH * HEIGHT * 3);
  let s = (seed * 2654435761) >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const blobs = Array.from({ length: 12 }, () => ({
    x: rand() * WIDTH,
    y: rand() * HEIGHT,
    r: 200 + rand() * 900,
    c: [rand() * 120 - 60, rand() * 120 - 60, rand() * 120 - 60],
  }));
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      let r = 60 + (140 * x) / WIDTH + 30 * Math.sin((y + seed * 37) / 97);
      let g = 90 + (100 * y) / HEIGHT + 25 * Math.sin((x + y) / 151);
      let b = 150 - (80 * x) / WIDTH + 20 * Math.cos(x / 63);
      for (const blob of blobs) {
        const dx = x - blob.x;
        const dy = y - blob.y;
        const d2 = (dx * dx + dy * dy) / (blob.r * blob.r);
        if (d2 < 4.6) {
          const w = Math.exp(-d2);
          r += blob.c[0]! * w;
          g += blob.c[1]! * w;
          b += blob.c[2]! * w;
        }
      }
      const n = (rand() - 0.5) * 36;
      const i = (y * WIDTH + x) * 3;
      raw[i] = Math.max(0, Math.min(255, r + n));
      raw[i + 1] = Math.max(0, Math.min(255, g + n * 0.8));
      raw[i + 2] = Math.max(0, Math.min(255, b + n * 1.1));
    }
  }
  return sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The image work of an upload of a JPEG, with sharp, as packages/server/src/media/image.ts does it. */
async function sharpWork(input: Buffer): Promise<string> {
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  if (!meta.width || !meta.height || meta.format !== 'jpeg') throw new Error('not a JPEG');
  const { data } = await sharp(input, { limitInputPixels: 64_000_000, failOn: 'error', pages: 1 })
    .rotate()
    .resize({ width: 2048, height: 2048, fit: 'inside', withoutEnlargement: true })
    .jpeg({
      quality: 92,
      chromaSubsampling: meta.chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0',
    })
    .toBuffer({ resolveWithObject: true });
  await sharp(data)
    .resize({ width: 256, height: 256, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
  return createHash('sha256').update(data).digest('hex');
}

const UPLOAD = /* GraphQL */ `mutation Upload($file: Upload!) { uploadMedia(file: $file) {
  __typename ... on UploadMediaSuccess { media { id width height bytes sha256 thumbnailUrl } } ... on Error { code message } } }`;

/**
 * The upload as a lean client sends it: the spec's three parts framed by hand around the
 * image's own bytes, written to the socket as they are (no copy of the 4 MB), with a
 * Content-Length. This is what "upload end to end" measures: the bytes cross the socket and
 * the server does all of its work, while the client adds no serialization that the
 * in-process baseline does not pay either.
 */
async function upload(url: string, data: Buffer): Promise<string> {
  const boundary = `atelier-bench-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    [
      `--${boundary}`,
      'Content-Disposition: form-data; name="operations"',
      '',
      JSON.stringify({ query: UPLOAD, variables: { file: null } }),
      `--${boundary}`,
      'Content-Disposition: form-data; name="map"',
      '',
      JSON.stringify({ 0: ['variables.file'] }),
      `--${boundary}`,
      'Content-Disposition: form-data; name="0"; filename="photo.jpg"',
      'Content-Type: image/jpeg',
      '',
      '',
    ].join('\r\n'),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = request(
        `${url}/graphql`,
        {
          method: 'POST',
          headers: {
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': head.length + data.length + tail.length,
            'x-graphql-yoga-csrf': '1',
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.write(head);
      req.write(data);
      req.end(tail);
    },
  );
  if (!text.includes('UploadMediaSuccess'))
    throw new Error(`upload failed (${status}): ${text.slice(0, 300)}`);
  return thumbnailUrlOf(text);
}

/** The thumbnail URL in an upload's answer. */
function thumbnailUrlOf(text: string): string {
  const body = JSON.parse(text) as { data: { uploadMedia: { media: { thumbnailUrl: string } } } };
  return body.data.uploadMedia.media.thumbnailUrl;
}

/**
 * Fetches a thumbnail (the server makes a JPEG's after answering the upload; the request
 * waits for it), so that no work of one upload is left when the next measure starts.
 */
async function fetchThumbnail(url: string, thumbnailUrl: string): Promise<void> {
  const res = await fetch(new URL(thumbnailUrl, url));
  const bytes = await res.arrayBuffer();
  if (res.status !== 200 || bytes.byteLength === 0)
    throw new Error(`thumbnail ${thumbnailUrl}: ${res.status}`);
}

/**
 * The same upload through fetch and FormData, as the bench sent it before: the Blob copies
 * the image and undici's FormData encoder streams it in small chunks through web streams.
 * Measured beside the lean client so that client cost stays visible.
 */
async function uploadWithFormData(url: string, data: Buffer): Promise<string> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), 'photo.jpg');
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'x-graphql-yoga-csrf': '1' },
  });
  const text = await res.text();
  if (!text.includes('UploadMediaSuccess'))
    throw new Error(`upload failed (${res.status}): ${text.slice(0, 300)}`);
  return thumbnailUrlOf(text);
}

function pillowAvailable(): boolean {
  try {
    execFileSync('python3', ['-c', 'import PIL'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function uploads(options: { n: number }): Promise<string> {
  const images: Buffer[] = [];
  for (let i = 0; i < options.n + 1; i++) images.push(await photoLikeJpeg(i + 1));
  // Other images for the FormData client: the same image twice would be a dedup hit.
  const formImages: Buffer[] = [];
  for (let i = 0; i < options.n + 1; i++) formImages.push(await photoLikeJpeg(options.n + 2 + i));
  const sizeMb = (images[0]!.length / 1e6).toFixed(1);
  const atelierMs: number[] = [];
  const formMs: number[] = [];
  const sharpMs: number[] = [];
  /** Upload answered → its thumbnail fetched. */
  const thumbMs: number[] = [];
  const server = await startAtelier({ db: 'postgres' });
  try {
    // Warm-up on image 0; then each image once through each, interleaved.
    await fetchThumbnail(server.url, await upload(server.url, images[0]!));
    await sharpWork(images[0]!);
    await fetchThumbnail(server.url, await uploadWithFormData(server.url, formImages[0]!));
    for (let i = 1; i <= options.n; i++) {
      let t = now();
      const thumbnail = await upload(server.url, images[i]!);
      atelierMs.push(now() - t);
      t = now();
      await fetchThumbnail(server.url, thumbnail);
      thumbMs.push(now() - t);
      t = now();
      await sharpWork(images[i]!);
      sharpMs.push(now() - t);
      t = now();
      const formThumbnail = await uploadWithFormData(server.url, formImages[i]!);
      formMs.push(now() - t);
      await fetchThumbnail(server.url, formThumbnail);
    }
  } finally {
    await server.stop();
  }
  let pillow: number[] | null = null;
  if (pillowAvailable()) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atelier-pillow-'));
    try {
      const files: string[] = [];
      for (let i = 0; i <= options.n; i++) {
        const file = path.join(dir, `${i}.jpg`);
        await writeFile(file, images[i]!);
        files.push(file);
      }
      const out = execFileSync(
        'python3',
        [path.join(BENCH_DIR, 'speed/pillow_upload.py'), ...files],
        {
          encoding: 'utf8',
        },
      );
      pillow = (JSON.parse(out) as number[]).slice(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const a = median(atelierMs);
  const s = median(sharpMs);
  const f = median(formMs);
  const both = atelierMs.map((ms, i) => ms + thumbMs[i]!);
  const r = a / s;
  summary.push({
    measure: '12 MP JPEG upload, median (vs sharp doing only the image work)',
    value: a,
    baseline: s,
    unit: 'ms',
    target: 'ratio ≤ 1.1',
    met: r <= 1.1,
  });
  return [
    `**Uploads** — ${options.n} distinct ${WIDTH}×${HEIGHT} (12 MP) photo-like JPEGs (gradients, soft shapes, per-pixel noise; q90, ≈ ${sizeMb} MB each), after one warm-up each. Atelier: \`uploadMedia\` through the GraphQL multipart request to \`serve\` (PostgreSQL, child process), request sent → answer parsed (stored as a 2048 px JPEG; its WebP thumbnail is made once the upload is recorded, not awaited by the answer: after each upload the bench fetches it, which waits for it, outside the timed upload, so that no server work overlaps the next measure — shown as its own rows); the client frames the multipart body around the image's bytes and writes them to the socket without copying them (fetch + FormData, which copies the image into a Blob and re-chunks it through web streams, is measured beside it on other images of the same kind). sharp: only the same image work in the bench process (metadata, rotate, resize to 2048 inside, JPEG q92, 256 px WebP thumbnail, sha256), interleaved with the uploads. Pillow: ${pillow ? 'python3 with PIL, the same work on the same files (bench/speed/pillow_upload.py, time inside Python)' : '**skipped** (python3 has no PIL on this machine)'}.`,
    '',
    '| path | median | min | max |',
    '|---|---|---|---|',
    `| Atelier uploadMedia, end to end | ${fmtMs(a)} | ${fmtMs(Math.min(...atelierMs))} | ${fmtMs(Math.max(...atelierMs))} |`,
    `| Atelier uploadMedia, end to end, sent by fetch + FormData | ${fmtMs(f)} | ${fmtMs(Math.min(...formMs))} | ${fmtMs(Math.max(...formMs))} |`,
    `| Atelier: its answer → the thumbnail fetched (outside the figures above) | ${fmtMs(median(thumbMs))} | ${fmtMs(Math.min(...thumbMs))} | ${fmtMs(Math.max(...thumbMs))} |`,
    `| Atelier: upload and thumbnail fetched, end to end | ${fmtMs(median(both))} | ${fmtMs(Math.min(...both))} | ${fmtMs(Math.max(...both))} |`,
    `| sharp, image work only | ${fmtMs(s)} | ${fmtMs(Math.min(...sharpMs))} | ${fmtMs(Math.max(...sharpMs))} |`,
    ...(pillow
      ? [
          `| Pillow, image work only | ${fmtMs(median(pillow))} | ${fmtMs(Math.min(...pillow))} | ${fmtMs(Math.max(...pillow))} |`,
        ]
      : ['| Pillow | skipped: no PIL | | |']),
    '',
    `Target: Atelier ≤ 1.1× sharp: ${r.toFixed(2)}× — ${r <= 1.1 ? 'met' : 'NOT met'}. Upload and thumbnail fetched: ${(median(both) / s).toFixed(2)}× sharp. Sent by fetch + FormData instead: ${(f / s).toFixed(2)}× (client-side cost, shown for comparison).${pillow ? ` Pillow / Atelier: ${(median(pillow) / a).toFixed(2)}×.` : ''}`,
    '',
  ].join('\n');
}
