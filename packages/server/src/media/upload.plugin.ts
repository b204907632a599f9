// GraphQL multipart requests (file uploads), streamed straight from the Node request by
// multipart.ts with byte and count limits. Yoga's own multipart parsing is off
// (`multipart: false` in app.ts); every other request is left to Yoga.
//
// Limits and how they surface:
// - bytes per file: busboy stops at maxFileBytes + 1 and marks the stream `truncated`;
//   the resolver turns that into a MediaTooLargeError result (see readUpload and
//   readCapped). The rest of the body is drained, never buffered.
// - files per request: more than maxFiles → HTTP 413 (extensions.code TOO_MANY_FILES).
// - a malformed body (boundary, names with control characters, duplicate or unexpected
//   fields, map paths that do not exist, mapped files missing, broken or aborted parts) →
//   HTTP 400 (extensions.code BAD_MULTIPART_REQUEST), also when the problem shows only after
//   execution started: the result is replaced before it is sent.
// - total body: bounded by the above (the two JSON fields at 1 MB each); Yoga's own body
//   limit applies to JSON requests only (see onRequest).
// A file that no resolver reads is drained after the response, so the request completes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import { InvalidMediaError } from './media.errors.ts';
import type { UploadStream } from './media.service.ts';
import {
  type FileUpload,
  MultipartError,
  type ParsedMultipart,
  parseMultipart,
} from './multipart.ts';

/** Server context app.ts passes to Yoga: the raw Node request and response. */
export interface NodeServerContext {
  req: IncomingMessage;
  res: ServerResponse;
}

const MAX_FIELD_BYTES = 1024 * 1024;

/** Creates the Yoga plugin that parses multipart requests with the upload limits. */
export function createUploadPlugin(
  limits: Config['uploads'],
): Plugin<Record<string, unknown>, NodeServerContext> {
  const parsed = new WeakMap<IncomingMessage, ParsedMultipart>();

  return {
    onRequest({ request, setRequest, fetchAPI }) {
      if (!isMultipart(request)) return;
      // Hand Yoga a body-less copy. Its own body-size limit would otherwise refuse multipart
      // bodies over that limit and pipe the Node request into a stream nobody reads, beside
      // busboy. Multipart bodies are bounded by the limits above instead.
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
      const { req } = serverContext;
      setRequestParser(async () => {
        try {
          const result = await parseMultipart(req, {
            maxFileBytes: limits.maxFileBytes,
            maxFiles: limits.maxFiles,
            maxFieldBytes: MAX_FIELD_BYTES,
          });
          parsed.set(req, result);
          return result.operations as GraphQLParams | GraphQLParams[];
        } catch (error) {
          throw toGraphQLError(error);
        }
      });
    },
    onResultProcess({ serverContext, setResult }) {
      const failure = serverContext.req ? parsed.get(serverContext.req)?.failure() : null;
      // The body broke a rule after the operations were read (e.g. a mapped file never
      // came): the whole request is a 400, whatever the resolvers made of it.
      if (failure) setResult({ errors: [multipartGraphQLError(failure)] });
    },
    onResponse({ serverContext }) {
      const result = serverContext.req ? parsed.get(serverContext.req) : undefined;
      if (!result) return;
      parsed.delete(serverContext.req);
      // A file no resolver read would stall the parser (and with it the request body)
      // forever; read it into the void instead. Failed uploads are rejected, nothing to drain.
      for (const upload of result.uploads) {
        upload.promise.then(drain, () => undefined);
      }
    },
  };
}

/** Resolves an `Upload!` argument into its stream, mapping transport failures to typed errors. */
export async function readUpload(
  file: Promise<FileUpload>,
): Promise<{ stream: UploadStream; filename: string; mimetype: string }> {
  try {
    const upload = await file;
    return {
      stream: upload.createReadStream(),
      filename: upload.filename,
      mimetype: upload.mimetype,
    };
  } catch (error) {
    // Structural problems also turn the whole response into a 400 (onResultProcess).
    if (error instanceof MultipartError) {
      throw new InvalidMediaError(`The file could not be read from the request: ${error.message}`);
    }
    throw error;
  }
}

function isMultipart(request: Request): boolean {
  return /^multipart\/form-data\s*;/i.test(request.headers.get('content-type') ?? '');
}

function multipartGraphQLError(error: MultipartError) {
  return createGraphQLError(error.message, {
    extensions: { code: error.code, http: { status: error.status } },
  });
}

function toGraphQLError(error: unknown) {
  return error instanceof MultipartError ? multipartGraphQLError(error) : error;
}

function drain(file: FileUpload) {
  let stream: ReturnType<FileUpload['createReadStream']>;
  try {
    stream = file.createReadStream();
  } catch {
    return; // already read by a resolver
  }
  // Errors of a stream nobody reads are already reported by the parser (MultipartError).
  stream.on('error', () => undefined);
  stream.resume();
}
