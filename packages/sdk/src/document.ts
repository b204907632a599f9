// The SDK's GraphQL documents ship as strings (GraphQL Code Generator's `documentMode:
// 'string'`), each with its persisted-document hash: a string is a fraction of the size of
// a syntax tree, and urql parses it once, when first used. `toDocument` hands urql the
// parsed node and keeps the hash on it, which the client's persisted-documents exchange
// sends instead of the text.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { gql } from '@urql/core';
import type { TypedDocumentString } from './generated/graphql.ts';

/** A parsed SDK document; `__meta__.hash` is its hash in the server's persisted documents. */
export type AtelierDocument<Result, Variables> = TypedDocumentNode<Result, Variables> & {
  __meta__?: { hash?: string };
};

/** Parses a generated document string (cached by urql) and keeps its persisted hash. */
export function toDocument<Result, Variables>(
  source: TypedDocumentString<Result, Variables>,
): AtelierDocument<Result, Variables> {
  const node = gql(source.toString()) as unknown as AtelierDocument<Result, Variables>;
  if (!node.__meta__ && source.__meta__) node.__meta__ = { hash: source.__meta__.hash };
  return node;
}

/** The persisted-document hash of an SDK document; undefined for any other document. */
export function persistedHash(document: unknown): string | undefined {
  const hash = (document as { __meta__?: { hash?: unknown } } | null)?.__meta__?.hash;
  return typeof hash === 'string' ? hash : undefined;
}

/** `extensions.persistedQuery` of the automatic-persisted-queries protocol, for one hash. */
export function persistedQueryExtension(hash: string | undefined) {
  return hash ? { persistedQuery: { version: 1, sha256Hash: hash } } : undefined;
}
