import type { CodegenConfig } from '@graphql-codegen/cli';

// The SDK's types and typed documents come from the committed schema.graphql only, so
// the SDK never imports server code.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['packages/sdk/src/**/*.ts', '!packages/sdk/src/generated/**'],
  ignoreNoDocuments: true,
  generates: {
    'packages/sdk/src/generated/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' },
      },
      config: {
        strictScalars: true,
        documentMode: 'string',
        useTypeImports: true,
        // The SDK is ESM run from source (NodeNext resolution): relative imports need an extension.
        importExtension: '.ts',
        enumsAsTypes: true,
        scalars: {
          DateTime: 'string',
          JSON: 'unknown',
          Upload: 'File | Blob',
        },
      },
    },
  },
};

export default config;
