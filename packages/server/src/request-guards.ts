// Guards every GraphQL request passes, whatever its transport (HTTP, SSE, WebSocket), for
// inputs that would otherwise fail deep inside a library as an unexpected error (HTTP 500):
// - documents nested deeper than graphql-js' recursive parser can go (a stack overflow
//   before the token limit stops it);
// - `variables` / `extensions` that are not JSON in GET and form-encoded requests (Yoga
//   calls JSON.parse on them unguarded);
// - NUL characters in text, which PostgreSQL refuses to store;
// - bodies over the size limit.
import { type DocumentNode, Kind, visit } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { Upload } from './media/multipart.ts';

/** Deepest nesting of `{`, `[` and `(` a document may have (selections are limited to 12). */
export const MAX_NESTING = 64;

/** Refuses documents nested deeper than `max` before they reach the parser. */
export function useNestingLimit(max = MAX_NESTING): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (nestingExceeds(source, max)) {
        throw createGraphQLError(`Syntax Error: the document nests deeper than ${max} levels.`, {
          extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
        });
      }
    },
  };
}

/** True when brackets nest deeper than `max` outside strings and comments. */
export function nestingExceeds(source: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length; i++) {
          const d = source.charCodeAt(i);
          if (d === 0x5c /* \ */) i++;
          else if (d === 0x22 || d === 0x0a) break;
        }
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    }
  }
  return false;
}

/** Answers 400 when a GET or form request's `variables` or `extensions` are not JSON. */
export function useJsonParamsGuard(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof SyntaxError) {
            throw createGraphQLError(`Invalid JSON in the request parameters: ${error.message}`, {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          throw error;
        }
      });
    },
  };
}

const NUL_ERROR = 'Text must not contain NUL (\\u0000) characters.';

/** Refuses operations whose strings (in the document or the variables) contain NUL. */
export function useNoNulText(): Plugin {
  const refuse = () => ({
    errors: [
      createGraphQLError(NUL_ERROR, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      }),
    ],
  });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (hasNulText(args.document, args.variableValues)) setResultAndStopExecution(refuse());
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (hasNulText(args.document, args.variableValues)) setResultAndStopExecution(refuse());
    },
  };
}

/**
 * Documents already looked at. Yoga parses each distinct operation text once and hands its
 * executions the same DocumentNode, so a document is walked once, not at every execution
 * (the walk was ~5% of what a createRun allocated).
 */
const documentsWithNul = new WeakMap<DocumentNode, boolean>();

function hasNulText(document: DocumentNode, variables: unknown): boolean {
  if (containsNul(variables, 0)) return true;
  let found = documentsWithNul.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      [Kind.STRING]: (node) => {
        if (node.value.includes('\u0000')) found = true;
      },
    });
    documentsWithNul.set(document, found);
  }
  return found;
}

function containsNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object' || value instanceof Upload || depth > 64) {
    return false;
  }
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1));
  return Object.entries(value).some(
    ([key, item]) => key.includes('\u0000') || containsNul(item, depth + 1),
  );
}

function bodyTooLarge() {
  return createGraphQLError('Request body too large', {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });
}

/** Bytes past the limit read and dropped before the 413 (beyond that, the request is cut off). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The size limit of JSON and GraphQL bodies (multipart bodies have the upload limits), in
 * place of Yoga's `maxRequestBodySize`. Yoga's pipes every body through a TransformStream
 * into a new Request, also when a Content-Length bounds it already: under load that stream
 * pipeline was ~4% of a createRun's allocations and its AbortController's DOMException ~2%
 * of its CPU. Here a body with a Content-Length is left as it is: Node's HTTP parser reads
 * no byte past it (and refuses a malformed one), and app.ts answers 413 to a declared size
 * over the limit before Yoga sees the request. Only a body without one (chunked) is counted
 * as it streams. Past the limit its rest is read and dropped, and the 413 sent at its end:
 * a body left half read stalled its keep-alive connection (Yoga's limit did that), and the
 * next request sent on it never got an answer. A body still going DRAIN_MAX_BYTES past the
 * limit is cut off: the stream's error destroys the unfinished request, and with it its
 * connection (the client sees the connection reset, not the 413), as with Yoga's limit.
 */
export function useBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (!requestParser || !request.body || request.headers.has('content-length')) return;
      setRequestParser((req) => {
        const body = req.body;
        if (!body) return requestParser(req);
        // A native stream needs the native TransformStream, Yoga's ponyfill one its own.
        const Transform =
          body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        let bytes = 0;
        const counted = body.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytes += chunk.byteLength;
              if (bytes <= limit) controller.enqueue(chunk);
              else if (bytes > limit + DRAIN_MAX_BYTES) controller.error(bodyTooLarge());
            },
            flush(controller) {
              if (bytes > limit) controller.error(bodyTooLarge());
            },
          }),
        );
        return requestParser(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body: counted,
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}
