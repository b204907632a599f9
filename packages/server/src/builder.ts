// The Pothos schema builder: plugins, options and scalars; no domain types here.
import SchemaBuilder, { PothosValidationError } from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { ForbiddenError } from './auth/auth.errors.ts';
import type { Context } from './context.ts';
import type PrismaTypes from './generated/pothos-prisma-types.ts';
import { getDatamodel } from './generated/pothos-prisma-types.ts';
import { GRAPHQL_LIMITS } from './http-security.ts';
import { isUuid } from './ids.ts';
import { type FileUpload, Upload } from './media/multipart.ts';

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  AuthScopes: { user: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    Upload: { Input: Promise<FileUpload>; Output: never };
  };
}>({
  // Errors first, so failures raised by later plugins (scope-auth's ForbiddenError) can
  // become typed results.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin],
  scopeAuth: {
    // The viewer was authenticated before execution (HTTP request or socket connection).
    authScopes: (ctx) => ({
      user: ctx.viewer.scopes.includes('user'),
      admin: ctx.viewer.scopes.includes('admin'),
    }),
    unauthorizedError: () => new ForbiddenError(),
  },
  defaultFieldNullability: false,
  errors: {
    defaultTypes: [],
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Success` },
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Every object id is a UUID: anything else is refused while arguments are read, so
    // services only ever see well-formed ids (a well-formed unknown id is NOT_FOUND).
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalID(globalID);
      if (!isUuid(decoded.id)) throw new PothosValidationError(`Invalid global ID: ${globalID}`);
      return { typename: decoded.typename, id: decoded.id.toLowerCase() };
    },
    nodesQueryOptions: {
      description: `Objects by global id (at most ${GRAPHQL_LIMITS.nodes}); null for unknown ids and others' objects.`,
      resolve: (_root, args, _ctx, _info, resolveNodes) => {
        if (args.ids.length > GRAPHQL_LIMITS.nodes) {
          throw new PothosValidationError(
            `nodes(ids:) takes at most ${GRAPHQL_LIMITS.nodes} ids, got ${args.ids.length}.`,
          );
        }
        return resolveNodes(args.ids);
      },
    },
    defaultConnectionTypeOptions: { description: 'A page of results (Relay connection).' },
  },
});

// Every root field needs the user scope (every valid key has it); admin-only fields add
// `authScopes: { admin: true }`.
builder.queryType({
  description: 'Read access to models, styles, runs, media and your account.',
  authScopes: { user: true },
});
builder.mutationType({
  description: 'Uploads, runs, deletions and (admin) accounts and keys.',
  authScopes: { user: true },
});
builder.subscriptionType({
  description: 'Live run events and queue changes.',
  authScopes: { user: true },
});

builder.addScalarType('DateTime', DateTimeResolver, {});
builder.addScalarType('JSON', JSONResolver, {});
builder.addScalarType(
  'Upload',
  new GraphQLScalarType<Promise<FileUpload>, never>({
    name: 'Upload',
    parseValue(value) {
      if (value instanceof Upload) return value.promise;
      throw new TypeError('Upload values come from a GraphQL multipart request (a mapped file).');
    },
    parseLiteral() {
      throw new TypeError(
        'Upload values cannot be written in the query; send a multipart request.',
      );
    },
    serialize() {
      throw new TypeError('Upload is an input-only type.');
    },
  }),
  { description: 'A file sent with the GraphQL multipart request spec.' },
);

/** Largest page a connection serves; bigger `first` values are clamped to this. */
export const MAX_PAGE_SIZE = 100;

builder.queryField('serverVersion', (t) =>
  t.string({ description: 'Version of the Atelier server answering.', resolve: () => '0.1.0' }),
);
