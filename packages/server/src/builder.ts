// The Pothos schema builder: plugins, options and scalars; no domain types here.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { GraphQLUpload } from 'graphql-upload-minimal';
import type { Context } from './context.ts';
import type PrismaTypes from './generated/pothos-prisma-types.ts';
import { getDatamodel } from './generated/pothos-prisma-types.ts';

/** What an uploaded file looks like to a resolver (graphql-upload-minimal's FileUpload). */
export interface FileUpload {
  filename: string;
  mimetype: string;
  encoding: string;
  createReadStream(): NodeJS.ReadableStream & { truncated?: boolean };
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    Upload: { Input: Promise<FileUpload>; Output: never };
  };
}>({
  // Errors first, so failures raised by later plugins can become typed results.
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin],
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
    defaultConnectionTypeOptions: { description: 'A page of results (Relay connection).' },
  },
});

builder.queryType({ description: 'Read access to models, styles, runs and media.' });
builder.mutationType({ description: 'Uploads, runs and deletions.' });
builder.subscriptionType({ description: 'Live run events and queue changes.' });

builder.addScalarType('DateTime', DateTimeResolver, {});
builder.addScalarType('JSON', JSONResolver, {});
builder.addScalarType('Upload', GraphQLUpload as never, {
  description: 'A file sent with the GraphQL multipart request spec.',
});

/** Largest page a connection serves; bigger `first` values are clamped to this. */
export const MAX_PAGE_SIZE = 100;

builder.queryField('serverVersion', (t) =>
  t.string({ description: 'Version of the Atelier server answering.', resolve: () => '0.1.0' }),
);
