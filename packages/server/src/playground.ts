// Serves the studio (packages/playground, built by Vite into its dist/) at `/`: static files
// with their content types, hashed assets cached forever, index.html revalidated every time,
// and an SPA fallback to index.html for paths that are not files. GraphQL, media and health
// routes are never the playground's.
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `vite build` writes the studio (packages/playground/dist). */
export const PLAYGROUND_DIST = fileURLToPath(new URL('../../playground/dist/', import.meta.url));

/** First path segments that belong to the API server, not to the studio. */
const RESERVED = new Set(['graphql', 'media', 'healthz', 'readyz', 'metrics']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Vite puts content-hashed files under assets/: their URL changes when their bytes do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const MISSING_BUILD = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Atelier: studio not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
code{background:#f0f1f3;padding:.1rem .35rem;border-radius:4px}</style></head>
<body>
<h1>The Atelier studio is not built</h1>
<p>The API is running; only the web studio's files are missing. Build them with</p>
<p><code>npm run build -w @atelier/playground</code></p>
<p>and reload this page. GraphiQL is available at <a href="/graphql">/graphql</a>.</p>
</body>
</html>
`;

/**
 * Answers GET/HEAD requests for the studio. Returns false (and writes nothing) when the path
 * is not the studio's (`/graphql`, `/media/...`, `/healthz`, ...) or the method is not GET
 * or HEAD, so the caller can route the request elsewhere.
 */
export async function handlePlaygroundRequest(
  req: IncomingMessage,
  res: ServerResponse,
  distDir: string = PLAYGROUND_DIST,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
  let urlPath: string;
  try {
    urlPath = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  const first = urlPath.split('/')[1] ?? '';
  if (RESERVED.has(first)) return false;

  const root = path.resolve(distDir);
  // normalize() on a path that starts with '/' cannot climb above it: '..' is removed.
  const relative = path.posix.normalize(urlPath).replace(/^\/+/, '');
  const target = path.resolve(root, relative);
  if (urlPath.includes('\0') || (target !== root && !target.startsWith(root + path.sep))) {
    return send(req, res, 404, 'text/plain; charset=utf-8', 'Not found\n');
  }

  const file = relative && (await isFile(target)) ? target : null;
  if (file) return serveFile(req, res, file, relative.startsWith('assets/'));
  // A missing path with an extension is a missing file (a stale asset URL, a typo), not a
  // page of the app: a 404 beats answering a script request with HTML.
  if (path.posix.extname(relative) && relative !== 'index.html') {
    return send(req, res, 404, 'text/plain; charset=utf-8', 'Not found\n');
  }
  const index = path.join(root, 'index.html');
  if (!(await isFile(index))) {
    return send(req, res, 503, 'text/html; charset=utf-8', MISSING_BUILD);
  }
  return serveFile(req, res, index, false);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  immutable: boolean,
): Promise<true> {
  const info = await stat(file);
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers = {
    'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': immutable ? IMMUTABLE : REVALIDATE,
    etag,
    'last-modified': info.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
  };
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  // The studio's files are small: one read and one write, no stream to race a client that
  // hangs up as soon as it has the bytes.
  const body = req.method === 'HEAD' ? null : await readFile(file);
  res.writeHead(200, { ...headers, 'content-length': body?.length ?? info.size });
  res.end(body ?? undefined);
  return true;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
): true {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
