// Persisted documents: GraphQL documents a client sends by hash instead of text (the
// automatic-persisted-queries protocol: `extensions.persistedQuery.sha256Hash`). The server
// always knows the SDK's own documents (generated/persisted-documents.json, written by
// `npm run generate` from the SDK's codegen) and loads apps' manifests named in
// PERSISTED_DOCUMENTS. With PERSISTED_ONLY=true it runs nothing else, over HTTP (Yoga's
// persisted-operations plugin) and WebSocket alike.
import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from './config.ts';

const SDK_MANIFEST = new URL('./generated/persisted-documents.json', import.meta.url);

/** The message clients (urql's persistedExchange, Apollo) look for to resend the text. */
const NOT_FOUND = 'PersistedQueryNotFound';
const ONLY_MESSAGE =
  'PersistedQueryOnly: this server runs only persisted documents (PERSISTED_ONLY=true); send extensions.persistedQuery.sha256Hash of a known document';

export class PersistedDocuments {
  readonly #documents: ReadonlyMap<string, string>;
  /** True when nothing but persisted documents may run. */
  readonly only: boolean;

  constructor(documents: ReadonlyMap<string, string>, only: boolean) {
    this.#documents = documents;
    this.only = only;
  }

  /**
   * The SDK's manifest plus the given ones (graphql-codegen's format: `{ "sha256:<hex>":
   * "<document>" }`; a plain hex key works too). A manifest that cannot be read is a
   * configuration error.
   */
  static load(options: { only: boolean; files: string[] }): PersistedDocuments {
    const documents = new Map<string, string>();
    for (const file of [SDK_MANIFEST, ...options.files]) {
      for (const [hash, text] of Object.entries(readManifest(file))) documents.set(hash, text);
    }
    return new PersistedDocuments(documents, options.only);
  }

  get size(): number {
    return this.#documents.size;
  }

  /** The document for a hash, with or without its `sha256:` prefix. */
  get(hash: string): string | null {
    return (
      this.#documents.get(hash) ??
      (hash.startsWith('sha256:') ? null : this.#documents.get(`sha256:${hash}`)) ??
      null
    );
  }

  /** Yoga's persisted-operations plugin over these documents. */
  plugin(): Plugin {
    return usePersistedOperations({
      getPersistedOperation: (hash) => this.get(hash),
      allowArbitraryOperations: !this.only,
      extractPersistedOperationId: (params) => persistedHash(params),
      customErrors: {
        notFound: { message: NOT_FOUND, extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
        persistedQueryOnly: {
          message: ONLY_MESSAGE,
          extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
        },
        keyNotFound: {
          message: 'Must provide a query string or extensions.persistedQuery.sha256Hash.',
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        },
      },
    }) as Plugin;
  }

  /**
   * The text to run for a graphql-ws subscribe payload. A known hash wins over any text
   * sent with it (the SDK sends both on the socket, so a server without the hash still
   * runs it); an unknown hash falls back to the text unless only persisted documents run.
   */
  resolve(params: { query?: unknown; extensions?: unknown }): string | GraphQLError {
    const hash = persistedHash(params);
    const stored = hash ? this.get(hash) : null;
    if (stored) return stored;
    const text = typeof params.query === 'string' && params.query ? params.query : null;
    if (this.only) {
      return hash
        ? new GraphQLError(NOT_FOUND, { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })
        : new GraphQLError(ONLY_MESSAGE, { extensions: { code: 'PERSISTED_QUERY_ONLY' } });
    }
    if (text) return text;
    return hash
      ? new GraphQLError(NOT_FOUND, { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })
      : new GraphQLError('Must provide a query string.', { extensions: { code: 'BAD_REQUEST' } });
  }
}

/** `extensions.persistedQuery.sha256Hash` (version 1), or the `documentId` parameter. */
export function persistedHash(params: {
  extensions?: unknown;
  documentId?: unknown;
}): string | null {
  if (typeof params.documentId === 'string' && params.documentId) return params.documentId;
  const persisted = (params.extensions as { persistedQuery?: unknown } | null | undefined)
    ?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | null | undefined;
  if (persisted?.version !== 1 || typeof persisted.sha256Hash !== 'string') return null;
  return persisted.sha256Hash || null;
}

function readManifest(file: URL | string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw manifestError(`cannot read ${String(file)}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw manifestError(`${String(file)} is not a JSON object of hash → document`);
  }
  for (const [hash, text] of Object.entries(parsed)) {
    if (typeof text !== 'string' || !hash) {
      throw manifestError(`${String(file)}: "${hash}" is not a document string`);
    }
  }
  return parsed as Record<string, string>;
}

function manifestError(message: string): ConfigError {
  return new ConfigError([{ variable: 'PERSISTED_DOCUMENTS', message }]);
}
