// Runs one query or mutation through urql and turns transport and GraphQL errors into
// AtelierRequestError, so callers only ever see data or typed union members.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, OperationResult, RequestPolicy } from '@urql/core';
import type { AtelierClient } from './client.ts';
import { AtelierRequestError } from './errors.ts';

function unwrap<Data>(operation: string, result: OperationResult<Data>): Data {
  if (result.error) throw AtelierRequestError.fromCombined(operation, result.error);
  if (!result.data) throw new AtelierRequestError(`${operation} failed: the response has no data`);
  return result.data;
}

/** Runs a query; `requestPolicy` decides whether urql's document cache may answer. */
export async function query<Data, Variables extends AnyVariables>(
  client: AtelierClient,
  operation: string,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  requestPolicy: RequestPolicy = 'network-only',
): Promise<Data> {
  const result = await client.urql.query(document, variables, { requestPolicy }).toPromise();
  return unwrap(operation, result);
}

/** Runs a mutation. */
export async function mutate<Data, Variables extends AnyVariables>(
  client: AtelierClient,
  operation: string,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.urql.mutation(document, variables).toPromise();
  return unwrap(operation, result);
}
