// The GraphQL side of domain errors: the `Error` interface, a helper that exposes a domain
// error class as an object type implementing it, and the mask for errors that reach the
// response as GraphQL errors.
//
// One mechanism: services throw domain errors (AtelierError). A field that lists the class
// (errors plugin `errors:`, or an error union as its type) returns it as a typed member.
// Anywhere else (a subscription's first read, a query without a union) the error goes out
// as a GraphQL error with its message and `extensions.code`; every other error is masked.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpected } from 'graphql-yoga';
import { builder } from './builder.ts';
import { AtelierError, NotFoundError, ValidationError } from './domain-errors.ts';
import { isUuid } from './ids.ts';
import { MediaInUseError } from './media/media.errors.ts';

/** Yoga's maskError: domain errors keep their message and code, others are masked. */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = (error as { originalError?: unknown } | null)?.originalError ?? error;
  if (original instanceof AtelierError) {
    // graphql-js already located it (path, message): add the code and hand back the same
    // object, which also tells Yoga it was expected (a replaced error is logged as a fault).
    if (error instanceof GraphQLError) {
      (error.extensions as Record<string, unknown>).code = original.code;
      return error;
    }
    return createGraphQLError(original.message, { extensions: { code: original.code } });
  }
  return maskUnexpected(error, message, isDev);
}

export const ErrorInterface = builder.interfaceRef<AtelierError>('Error').implement({
  description: 'An expected failure, returned as a typed result instead of thrown.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'Human-readable explanation.' }),
    code: t.exposeString('code', { description: 'Stable machine-readable code.' }),
  }),
});

/** Options shared by every error object type: implements `Error`, matched by class. */
export function errorTypeOptions(cls: abstract new (...args: never[]) => AtelierError) {
  return {
    interfaces: [ErrorInterface] as [typeof ErrorInterface],
    isTypeOf: (value: unknown) => value instanceof cls,
  };
}

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The referenced object does not exist.',
  ...errorTypeOptions(NotFoundError),
  fields: (t) => ({
    entity: t.exposeString('entity', { description: 'Kind of object that was looked up.' }),
    id: t.string({
      description: 'The id that was not found (a global id for Relay objects).',
      resolve: (e) => (isUuid(e.id) ? encodeGlobalID(e.entity, e.id) : e.id),
    }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An argument is invalid.',
  ...errorTypeOptions(ValidationError),
  fields: (t) => ({
    field: t.exposeString('field', { description: 'Path of the offending argument.' }),
  }),
});

/** The successful result of a deletion. */
export class Deleted {
  constructor(readonly id: string) {}
}

builder.objectType(Deleted, {
  name: 'DeleteSuccess',
  description: 'The object was deleted.',
  isTypeOf: (value) => value instanceof Deleted,
  fields: (t) => ({
    deletedId: t.exposeID('id', { description: 'Global id of the deleted object.' }),
  }),
});

/**
 * Result of deleteMedia and deleteRun; resolvers return `Deleted` and throw a
 * `NotFoundError` or (deleteMedia) a `MediaInUseError` (its object type is defined in
 * media/media.schema.ts); the errors plugin turns those into members of this union.
 */
export const DeleteResult = builder.errorUnion('DeleteResult', {
  description:
    'Result of a deletion: success, the object was not found, or (media) it is still a run input.',
  types: [Deleted, NotFoundError, MediaInUseError],
});
