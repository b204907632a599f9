// GraphQL multipart requests (file uploads) through graphql-upload-minimal, streamed
// straight from the Node request with byte and count limits. Yoga's own multipart parsing
// is off (`multipart: false` in app.ts); every other request is left to Yoga.
//
// Limits and how they surface:
// - bytes per file: busboy stops at maxFileBytes + 1 and marks the stream `truncated`;
//   the resolver turns that into a MediaTooLargeError result (see readUpload and
//   readCapped). The rest of the body is drained, never buffered.
// - files per request: more than maxFiles → HTTP 413 with a GraphQL error whose
//   extensions.code is TOO_MANY_FILES (the request is refused before execution).
// - malformed multipart → HTTP 400 (extensions.code BAD_MULTIPART_REQUEST).
// - total body: bounded by the above (busboy also caps the two JSON fields at 1 MB each);
//   Yoga's own maxRequestBodySize is bypassed for multipart requests only (see onRequest).
// A file that no resolver reads is drained after the response, so the request completes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { processRequest, Upload } from 'graphql-upload-minimal';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { FileUpload } from '../builder.ts';
import type { Config } from '../config.ts';
import { InvalidMediaError, MediaTooLargeError } from './media.errors.ts';
import type { UploadStream } from './media.service.ts';

/** Server context app.ts passes to Yoga: the raw Node request and response. */
export interface NodeServerContext {
  req: IncomingMessage;
  res: ServerResponse;
}

/** Creates the Yoga plugin that parses multipart requests with the upload limits. */
export function createUploadPlugin(
  limits: Config['uploads'],
): Plugin<Record<string, unknown>, NodeServerContext> {
  // Uploads seen per request, so files no resolver consumed can be drained afterwards.
  const pending = new WeakMap<IncomingMessage, Upload[]>();

  return {
    onRequest({ request, setRequest, fetchAPI }) {
      if (!isMultipart(request)) return;
      // Hand Yoga a body-less copy. Its own body-size limit (maxRequestBodySize) would
      // otherwise refuse multipart bodies over 25 MB (below maxFiles × maxFileBytes) and
      // pipe the Node request into a stream nobody reads, beside busboy. Multipart bodies
      // are bounded by busboy's limits instead; JSON requests keep Yoga's limit.
      const headers = new fetchAPI.Headers(request.headers);
      headers.delete('content-length');
      setRequest(
        new fetchAPI.Request(request.url, {
          method: request.method,
          headers,
          signal: request.signal,
        }),
      );
    },
    onRequestParse({ request, serverContext, setRequestParser }) {
      if (!isMultipart(request)) return;
      const { req, res } = serverContext;
      setRequestParser(async () => {
        let operations: unknown;
        try {
          operations = await processRequest(req, res, {
            // busboy flags a file as truncated when it reaches the limit exactly, so
            // allow one byte more: a file of exactly maxFileBytes is accepted.
            maxFileSize: limits.maxFileBytes + 1,
            maxFiles: limits.maxFiles,
          });
        } catch (error) {
          throw multipartError(error, limits.maxFiles);
        }
        pending.set(req, collectUploads(operations));
        return operations as GraphQLParams | GraphQLParams[];
      });
    },
    onResponse({ serverContext }) {
      const uploads = pending.get(serverContext.req);
      if (!uploads) return;
      pending.delete(serverContext.req);
      // A file no resolver read would stall the multipart parser (and with it the
      // request body) forever; read it into the void instead.
      for (const upload of uploads) upload.promise.then(drain, () => {});
    },
  };
}

/** Resolves an `Upload!` argument into its stream, mapping transport failures to typed errors. */
export async function readUpload(
  file: Promise<FileUpload>,
  maxBytes: number,
): Promise<{ stream: UploadStream; filename: string; mimetype: string }> {
  try {
    const upload = await file;
    return {
      stream: upload.createReadStream(),
      filename: upload.filename,
      mimetype: upload.mimetype,
    };
  } catch (error) {
    const status = (error as { status?: unknown } | null)?.status;
    if (status === 413) throw MediaTooLargeError.bytes(maxBytes);
    if (typeof status === 'number' && status >= 400 && status < 500) {
      throw new InvalidMediaError(
        `The file could not be read from the request: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

function isMultipart(request: Request): boolean {
  return /^multipart\/form-data\s*;/i.test(request.headers.get('content-type') ?? '');
}

function multipartError(error: unknown, maxFiles: number) {
  const status = (error as { status?: unknown } | null)?.status;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 413 && /max file uploads exceeded/i.test(message)) {
    return createGraphQLError(`Too many files: at most ${maxFiles} per request.`, {
      extensions: { code: 'TOO_MANY_FILES', http: { status: 413 } },
    });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return createGraphQLError(message, {
      extensions: { code: 'BAD_MULTIPART_REQUEST', http: { status } },
    });
  }
  return error;
}

function collectUploads(value: unknown, found: Upload[] = [], depth = 0): Upload[] {
  if (value instanceof Upload) found.push(value);
  else if (depth < 32 && value && typeof value === 'object') {
    for (const item of Object.values(value)) collectUploads(item, found, depth + 1);
  }
  return found;
}

function drain(file: { createReadStream(): NodeJS.ReadableStream }) {
  let stream: NodeJS.ReadableStream;
  try {
    stream = file.createReadStream();
  } catch {
    return; // already read by a resolver, or failed: nothing left to drain
  }
  stream.on('error', () => {});
  stream.resume();
}
