// A `fetch` for the SDK client over node:http. Node's own fetch (undici) costs a short command
// more than the rest of it: loading undici and compiling its WebAssembly HTTP parser, and a
// slower exit after the answer (bench/cli-startup.ts measures the difference), while node:http
// parses natively. Requests with a string body or none (urql's JSON queries and mutations) go
// through it; anything else (multipart uploads with FormData), and any redirect, through the
// global fetch.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

/**
 * `fetch` for JSON GraphQL requests over node:http(s). The answer is buffered and has what
 * urql's fetchExchange reads (status, statusText, ok, headers.get, text, json, body as an
 * async iterable), without loading undici for a Response.
 */
export function nodeHttpFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const plain = init.body == null || typeof init.body === 'string';
  const target = typeof input === 'string' || input instanceof URL ? new URL(input) : null;
  if (!plain || !target || !/^https?:$/.test(target.protocol)) return fetch(input, init);
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: init.method ?? 'GET',
        headers: headerRecord(init.headers),
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (response) => {
        if (REDIRECTS.has(response.statusCode ?? 0) && response.headers.location) {
          // fetch knows which redirects keep the method and body.
          response.resume();
          resolve(fetch(input, init));
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          resolve(
            bufferedResponse(
              response.statusCode ?? 0,
              response.statusMessage ?? '',
              response.headers,
              Buffer.concat(chunks),
            ),
          );
        });
      },
    );
    request.on('error', reject);
    request.end(init.body ?? undefined);
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function headerRecord(headers: HeadersInit | undefined): Record<string, string> {
  if (!headers) return {};
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  if (typeof (headers as Headers).forEach === 'function') {
    const record: Record<string, string> = {};
    (headers as Headers).forEach((value, name) => {
      record[name] = value;
    });
    return record;
  }
  return { ...(headers as Record<string, string>) };
}

function bufferedResponse(
  status: number,
  statusText: string,
  headers: IncomingHttpHeaders,
  bytes: Buffer,
): Response {
  const text = async () => bytes.toString('utf8');
  const response = {
    status,
    statusText,
    ok: status >= 200 && status < 300,
    headers: {
      get(name: string): string | null {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text,
    json: async () => JSON.parse(await text()),
    body: {
      async *[Symbol.asyncIterator]() {
        yield new Uint8Array(bytes);
      },
    },
  };
  return response as unknown as Response;
}
