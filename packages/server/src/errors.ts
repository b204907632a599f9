// The GraphQL side of domain errors: the `Error` interface and a helper that exposes a
// domain error class as an object type implementing it.
import { builder } from './builder.ts';
import { type AtelierError, NotFoundError, ValidationError } from './domain-errors.ts';
import { MediaInUseError } from './media/media.errors.ts';

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
    id: t.exposeString('id', { description: 'The id that was not found.' }),
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
 * Result of deleteMedia and deleteRun; resolvers return `Deleted`, or return or throw a
 * `NotFoundError` or (deleteMedia) a `MediaInUseError` (its object type is defined in
 * media/media.schema.ts). An error union: graphql-js treats a plain union member that is
 * an Error instance as a thrown error, the errors plugin's union resolves it as a member.
 */
export const DeleteResult = builder.errorUnion('DeleteResult', {
  description:
    'Result of a deletion: success, the object was not found, or (media) it is still a run input.',
  types: [Deleted, NotFoundError, MediaInUseError],
});
