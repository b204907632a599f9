// Runs one query or mutation through urql and turns transport and GraphQL errors into
// AtelierRequestError, so callers only ever see data or typed union members.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, OperationResult, RequestPolicy } from '@urql/core';
import type { AtelierClient } from './client.ts';
import { toDocument } from './document.ts';
import { AtelierRequestError } from './errors.ts';
import type { TypedDocumentString } from './generated/graphql.ts';

/** A generated document string, or a parsed document. */
export type DocumentInput<Data, Variables> =
  | TypedDocumentString<Data, Variables>
  | TypedDocumentNode<Data, Variables>;

function parsed<Data, Variables>(
  document: DocumentInput<Data, Variables>,
): TypedDocumentNode<Data, Variables> {
  return 'kind' in document ? document : toDocument(document);
}

function unwrap<Data>(operation: string, result: OperationResult<Data>): Data {
  if (result.error) throw AtelierRequestError.fromCombined(operation, result.error);
  if (!result.data) throw new AtelierRequestError(`${operation} failed: the response has no data`);
  return result.data;
}

/** Runs a query; `requestPolicy` decides whether urql's document cache may answer. */
export async function query<Data, Variables extends AnyVariables>(
  client: AtelierClient,
  operation: string,
  document: DocumentInput<Data, Variables>,
  variables: Variables,
  requestPolicy: RequestPolicy = 'network-only',
): Promise<Data> {
  const result = await client.urql
    .query(parsed(document), variables, { requestPolicy })
    .toPromise();
  return unwrap(operation, result);
}

/** Runs a mutation. */
export async function mutate<Data, Variables extends AnyVariables>(
  client: AtelierClient,
  operation: string,
  document: DocumentInput<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.urql.mutation(parsed(document), variables).toPromise();
  return unwrap(operation, result);
}
