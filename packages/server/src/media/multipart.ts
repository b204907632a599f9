// GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec)
// parsed with busboy, streamed, with Atelier's limits and error contract.
//
// Hand-written on purpose: graphql-upload-minimal listens to busboy's 'error' event once, so
// a malformed part header followed by the end of the body emitted a second, unhandled
// 'error' that killed the process (a NUL byte in a file name did it); graphql-upload 17
// fixes that but spools every file to a temporary file and, like its sibling, cannot tell
// the client which structural rule the body broke. Here every stream has an error listener,
// each broken rule is a MultipartError with an HTTP status and a clear message, and files
// stream straight to the resolver that reads them.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';

/** A structural problem of the multipart body; `status` is the HTTP status to answer. */
export class MultipartError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
    readonly code: 'BAD_MULTIPART_REQUEST' | 'TOO_MANY_FILES' | 'PAYLOAD_TOO_LARGE' = status === 413
      ? 'PAYLOAD_TOO_LARGE'
      : 'BAD_MULTIPART_REQUEST',
  ) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** A file of the request as resolvers see it (the value of an `Upload` argument). */
export interface FileUpload {
  filename: string;
  mimetype: string;
  encoding: string;
  /** The file's bytes; callable once. `truncated` is set when it hit the size limit. */
  createReadStream(): Readable & { truncated?: boolean };
}

/** The value an `Upload` variable holds until its file part arrives. */
export class Upload {
  readonly promise: Promise<FileUpload>;
  file: FileUpload | null = null;
  resolve!: (file: FileUpload) => void;
  reject!: (error: Error) => void;

  constructor() {
    this.promise = new Promise<FileUpload>((resolve, reject) => {
      this.resolve = (file) => {
        this.file = file;
        resolve(file);
      };
      this.reject = reject;
    });
    // A rejection nobody awaits (an upload no field reads) is not an unhandled rejection.
    this.promise.catch(() => {});
  }
}

export interface MultipartLimits {
  maxFileBytes: number;
  maxFiles: number;
  /** Largest `operations` or `map` field. */
  maxFieldBytes: number;
}

export interface ParsedMultipart {
  /** The operations with every mapped variable replaced by its Upload. */
  operations: unknown;
  uploads: Upload[];
  /** Resolves when the whole body has been read; rejects with the first structural error. */
  done: Promise<void>;
  /** The first structural error so far, or null. */
  failure(): MultipartError | null;
}

// Control characters (C0, DEL, C1) are never part of a legitimate name.
const CONTROL = /\p{Cc}/u;
const MAX_NAME = 255;
const MAX_PATH_SEGMENTS = 16;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

function describeName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/**
 * Starts parsing `req` and resolves once `operations` and `map` are read (files keep
 * streaming). Rejects with a MultipartError when the request is malformed before that;
 * later problems (a mapped file missing, a broken part) reject the affected uploads and
 * `done`.
 */
export function parseMultipart(
  req: IncomingMessage,
  limits: MultipartLimits,
): Promise<ParsedMultipart> {
  return new Promise<ParsedMultipart>((resolveHead, rejectHead) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          fieldSize: limits.maxFieldBytes,
          fields: 2,
          // busboy flags a file as truncated when it reaches the limit exactly: allow one
          // byte more, so a file of exactly maxFileBytes is accepted.
          fileSize: limits.maxFileBytes + 1,
          files: limits.maxFiles,
          parts: limits.maxFiles + 2,
          headerPairs: 16,
        },
      });
    } catch (error) {
      rejectHead(
        new MultipartError(
          `Malformed multipart request: ${(error as Error).message.toLowerCase()}.`,
        ),
      );
      req.resume();
      return;
    }

    let operations: unknown;
    let map: Map<string, Upload> | null = null;
    let headDone = false;
    let failure: MultipartError | null = null;
    const seenFields = new Set<string>();
    const seenFiles = new Set<string>();
    const openFiles = new Set<Readable>();
    let resolveDone!: () => void;
    let rejectDone!: (error: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    // Handled: `done` may fail before anything awaits it; whoever awaits it sees the failure.
    done.catch(() => {});

    const fail = (error: MultipartError) => {
      if (failure) return;
      failure = error;
      if (!headDone) {
        headDone = true;
        rejectHead(error);
      }
      if (map) for (const upload of map.values()) if (!upload.file) upload.reject(error);
      // A resolver reading a file would otherwise wait forever for its end.
      for (const stream of openFiles) stream.destroy(error);
      rejectDone(error);
      req.unpipe(parser);
      parser.removeAllListeners('field');
      parser.removeAllListeners('file');
      // Keep reading (and discarding) the body so the response can still be sent.
      req.resume();
    };

    // Errors of the request stream itself (a client that goes away) must never be unhandled.
    req.on('error', () => fail(new MultipartError('The request body could not be read.')));
    req.once('close', () => {
      if (!req.complete) fail(new MultipartError('The client aborted the request.'));
    });
    // The parser may emit several errors (a bad part header, then the unexpected end): all
    // are handled, the first one wins.
    parser.on('error', (error: Error) =>
      fail(new MultipartError(`Malformed multipart body: ${error.message}.`)),
    );

    parser.on('field', (name, value, info) => {
      if (failure) return;
      if (CONTROL.test(name) || name.length > MAX_NAME) {
        return fail(new MultipartError('A multipart field name contains control characters.'));
      }
      if (seenFields.has(name)) {
        return fail(new MultipartError(`The multipart field ${describeName(name)} appears twice.`));
      }
      seenFields.add(name);
      if (info.nameTruncated)
        return fail(new MultipartError('A multipart field name is too long.'));
      if (info.valueTruncated) {
        return fail(
          new MultipartError(
            `The ${describeName(name)} field exceeds ${limits.maxFieldBytes} bytes.`,
            413,
          ),
        );
      }
      if (name === 'operations') {
        if (map) return fail(new MultipartError('The "operations" field must come before "map".'));
        try {
          operations = JSON.parse(value);
        } catch {
          return fail(new MultipartError('The "operations" field is not valid JSON.'));
        }
        if (typeof operations !== 'object' || operations === null) {
          return fail(new MultipartError('The "operations" field must be a JSON object or array.'));
        }
        return;
      }
      if (name === 'map') {
        if (operations === undefined) {
          return fail(new MultipartError('The "map" field must follow "operations".'));
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          return fail(new MultipartError('The "map" field is not valid JSON.'));
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          return fail(new MultipartError('The "map" field must be a JSON object.'));
        }
        const entries = Object.entries(parsed);
        if (entries.length > limits.maxFiles) {
          return fail(
            new MultipartError(
              `Too many files: at most ${limits.maxFiles} per request.`,
              413,
              'TOO_MANY_FILES',
            ),
          );
        }
        const uploads = new Map<string, Upload>();
        for (const [key, paths] of entries) {
          if (!key || CONTROL.test(key) || key.length > MAX_NAME) {
            return fail(new MultipartError('A "map" key is empty or contains control characters.'));
          }
          if (!Array.isArray(paths) || paths.length === 0 || paths.length > 10) {
            return fail(
              new MultipartError(
                `"map" entry ${describeName(key)} must list 1 to 10 variable paths.`,
              ),
            );
          }
          const upload = new Upload();
          uploads.set(key, upload);
          for (const path of paths) {
            const problem = placeUpload(operations, path, upload);
            if (problem)
              return fail(new MultipartError(`"map" entry ${describeName(key)}: ${problem}`));
          }
        }
        map = uploads;
        headDone = true;
        resolveHead({ operations, uploads: [...uploads.values()], done, failure: () => failure });
        return;
      }
      return fail(
        new MultipartError(
          `Unexpected multipart field ${describeName(name)}: only "operations", "map" and the mapped files.`,
        ),
      );
    });

    parser.on('file', (name, stream, info) => {
      // Every file stream gets an error listener at once: a broken part must not reach the
      // process as an unhandled 'error'.
      stream.on('error', (error: Error) =>
        fail(new MultipartError(`Malformed multipart body: ${error.message}.`)),
      );
      if (failure) return stream.resume();
      if (!map) {
        stream.resume();
        return fail(new MultipartError('Files must follow the "operations" and "map" fields.'));
      }
      if (CONTROL.test(name) || CONTROL.test(info.filename ?? '') || CONTROL.test(info.mimeType)) {
        stream.resume();
        return fail(new MultipartError('A file part name contains control characters.'));
      }
      if ((info.filename ?? '').length > 1024) {
        stream.resume();
        return fail(new MultipartError('A file name is longer than 1024 characters.'));
      }
      if (seenFiles.has(name)) {
        stream.resume();
        return fail(new MultipartError(`The file part ${describeName(name)} appears twice.`));
      }
      seenFiles.add(name);
      const upload = map.get(name);
      if (!upload) {
        stream.resume();
        return fail(new MultipartError(`The file part ${describeName(name)} is not in "map".`));
      }
      openFiles.add(stream);
      stream.once('end', () => openFiles.delete(stream));
      let taken = false;
      upload.resolve({
        filename: info.filename ?? '',
        mimetype: info.mimeType,
        encoding: info.encoding,
        createReadStream() {
          if (taken) throw new Error('The upload stream was already read.');
          taken = true;
          // The body broke a rule before this file was read: its stream is destroyed and
          // will never emit again, so refuse here instead of handing out a dead stream.
          if (failure && !stream.readableEnded) throw failure;
          return stream as Readable & { truncated?: boolean };
        },
      });
    });

    parser.on('filesLimit', () =>
      fail(
        new MultipartError(
          `Too many files: at most ${limits.maxFiles} per request.`,
          413,
          'TOO_MANY_FILES',
        ),
      ),
    );
    parser.on('fieldsLimit', () =>
      fail(
        new MultipartError('Too many multipart fields: only "operations" and "map" are fields.'),
      ),
    );
    parser.on('partsLimit', () => fail(new MultipartError('Too many multipart parts.')));

    parser.on('close', () => {
      if (failure) return;
      if (operations === undefined)
        return fail(new MultipartError('The "operations" field is missing.'));
      if (!map) return fail(new MultipartError('The "map" field is missing.'));
      for (const [key, upload] of map) {
        if (!upload.file) {
          return fail(
            new MultipartError(`The file ${describeName(key)} named in "map" is missing.`),
          );
        }
      }
      resolveDone();
    });

    req.pipe(parser);
  });
}

/**
 * Puts `upload` at `path` (e.g. "variables.file" or "0.variables.files.1") inside
 * `operations`; the spec requires a null placeholder there. Returns a problem or null.
 */
function placeUpload(operations: unknown, path: unknown, upload: Upload): string | null {
  if (typeof path !== 'string' || !path || path.length > 512)
    return 'paths must be non-empty strings';
  const segments = path.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) return `path "${path.slice(0, 60)}" is too deep`;
  let target: unknown = operations;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i] ?? '';
    if (FORBIDDEN_SEGMENTS.has(segment)) return `path "${path}" is not allowed`;
    target = childOf(target, segment);
    if (target === undefined) return `path "${path}" does not exist in "operations"`;
  }
  const last = segments.at(-1) ?? '';
  if (FORBIDDEN_SEGMENTS.has(last)) return `path "${path}" is not allowed`;
  if (typeof target !== 'object' || target === null) {
    return `path "${path}" does not exist in "operations"`;
  }
  if (Array.isArray(target)) {
    const index = /^\d{1,4}$/.test(last) ? Number(last) : -1;
    if (index < 0 || index >= target.length) return `path "${path}" does not exist in "operations"`;
    if (target[index] !== null) return `path "${path}" must hold null in "operations"`;
    target[index] = upload;
    return null;
  }
  const record = target as Record<string, unknown>;
  if (!Object.hasOwn(record, last) || record[last] !== null) {
    return `path "${path}" must hold null in "operations"`;
  }
  record[last] = upload;
  return null;
}

function childOf(value: unknown, segment: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    return /^\d{1,4}$/.test(segment) ? value[Number(segment)] : undefined;
  }
  return Object.hasOwn(value, segment) ? (value as Record<string, unknown>)[segment] : undefined;
}
