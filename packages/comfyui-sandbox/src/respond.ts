// Writing responses the way aiohttp does: JSON as Python's json.dumps writes it, empty
// octet-stream bodies for `web.Response(status=...)`, text bodies for errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pyDumps } from './pyjson.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body = '',
  ) {
    super(`${status}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = pyDumps(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** aiohttp's `web.Response(status=...)`: an empty octet-stream body. */
export function sendEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': 0 });
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The text aiohttp answers for an unhandled exception. */
export const INTERNAL_ERROR = '500 Internal Server Error\n\nServer got itself in trouble';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new HttpError(
        413,
        `Maximum request body size ${limit} exceeded, actual body size ${size}`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; a body that is not JSON is an unhandled exception in aiohttp (500). */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(500, INTERNAL_ERROR);
  }
}
