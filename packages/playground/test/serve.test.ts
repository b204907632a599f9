// How the API server serves the built studio (packages/server/src/playground.ts): content
// types, caching, SPA fallback, paths that belong to the API, and a missing build. Runs
// against a temporary dist folder, so it needs neither a build nor a browser.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlePlaygroundRequest } from '../../server/src/playground.ts';

/** GET with the path sent exactly as given (fetch would normalize `..` away). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path: rawPath }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(dist: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    handlePlaygroundRequest(req, res, dist).then((handled) => {
      if (!handled) {
        res.writeHead(418, { 'content-type': 'text/plain' });
        res.end('not the playground');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('serving the studio', () => {
  let root: string;
  let built: { url: string; close(): Promise<void> };
  let missing: { url: string; close(): Promise<void> };
  const INDEX = '<!doctype html><title>studio</title><div id="root"></div>';

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'atelier-playground-'));
    const dist = path.join(root, 'dist');
    await mkdir(path.join(dist, 'assets'), { recursive: true });
    await writeFile(path.join(dist, 'index.html'), INDEX);
    await writeFile(path.join(dist, 'assets', 'index-AbC123xy.js'), 'console.log(1);');
    await writeFile(path.join(dist, 'assets', 'index-Zz9_88aa.css'), 'body{}');
    await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(root, 'secret.txt'), 'outside dist');
    built = await serve(dist);
    missing = await serve(path.join(root, 'nothing-here'));
  });
  afterAll(async () => {
    await built?.close();
    await missing?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache, and for app paths (SPA fallback)', async () => {
    for (const p of ['/', '/gallery', '/runs/abc?x=1', '/index.html']) {
      const res = await fetch(built.url + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type'), p).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control'), p).toBe('no-cache');
      expect(await res.text(), p).toBe(INDEX);
    }
  });

  it('serves hashed assets as immutable, with their content types', async () => {
    const js = await fetch(`${built.url}/assets/index-AbC123xy.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1);');
    const css = await fetch(`${built.url}/assets/index-Zz9_88aa.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(`${built.url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers 304 to a matching If-None-Match, and HEAD without a body', async () => {
    const first = await fetch(`${built.url}/`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${built.url}/`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    const head = await fetch(`${built.url}/assets/index-AbC123xy.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log(1);'.length));
    expect(await head.text()).toBe('');
  });

  it('answers 404 for a missing file (not index.html) and never leaves dist', async () => {
    const stale = await fetch(`${built.url}/assets/index-OLD00000.js`);
    expect(stale.status).toBe(404);
    for (const p of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
    ]) {
      const res = await rawGet(built.url, p);
      expect(res.body, p).not.toContain('outside dist');
      expect(res.status, p).toBe(404);
    }
  });

  it('leaves the API paths and other methods to the server', async () => {
    for (const p of [
      '/graphql',
      '/graphql?query={serverVersion}',
      '/media/x',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      const res = await fetch(built.url + p);
      expect(res.status, p).toBe(418);
    }
    const post = await fetch(`${built.url}/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(418);
  });

  it('explains how to build the studio when dist is missing', async () => {
    const res = await fetch(`${missing.url}/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('npm run build -w @atelier/playground');
    expect((await fetch(`${missing.url}/graphql`)).status).toBe(418);
  });
});
