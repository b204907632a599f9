// Type-level guarantees of the SDK. The expectTypeOf and @ts-expect-error lines are checked by
// `tsc -p packages/sdk` and, so this suite fails when they break, by the compile below.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CancelRunResult,
  CreateRunResult,
  DeleteResult,
  Run,
  RunEvent,
  UploadMediaResult,
} from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');

describe('result types', () => {
  it('createRun results narrow on __typename', () => {
    expectTypeOf<CreateRunResult['__typename']>().toEqualTypeOf<
      | 'CreateRunSuccess'
      | 'ValidationError'
      | 'NotFoundError'
      | 'InsufficientCreditsError'
      | 'QueueLimitError'
    >();
    const narrow = (result: CreateRunResult) => {
      switch (result.__typename) {
        case 'CreateRunSuccess':
          expectTypeOf(result.run).toEqualTypeOf<Run>();
          // @ts-expect-error a success has no `field`
          return result.field;
        case 'ValidationError':
          expectTypeOf(result.field).toEqualTypeOf<string>();
          expectTypeOf(result.code).toEqualTypeOf<string>();
          return result.field;
        case 'NotFoundError':
          expectTypeOf(result.entity).toEqualTypeOf<string>();
          return result.id;
        case 'InsufficientCreditsError':
          expectTypeOf(result.needed).toEqualTypeOf<number>();
          return String(result.balance);
        case 'QueueLimitError':
          return String(result.limit);
        default:
          expectTypeOf(result).toEqualTypeOf<never>();
      }
    };
    expect(narrow({ __typename: 'ValidationError', code: 'C', message: 'm', field: 'model' })).toBe(
      'model',
    );
  });

  it('other unions and events are typed', () => {
    expectTypeOf<UploadMediaResult['__typename']>().toEqualTypeOf<
      'UploadMediaSuccess' | 'InvalidMediaError' | 'MediaTooLargeError' | 'ValidationError'
    >();
    expectTypeOf<
      Extract<UploadMediaResult, { __typename: 'MediaTooLargeError' }>['limitKind']
    >().toEqualTypeOf<'BYTES' | 'PIXELS'>();
    expectTypeOf<DeleteResult['__typename']>().toEqualTypeOf<
      'DeleteSuccess' | 'MediaInUseError' | 'NotFoundError'
    >();
    expectTypeOf<CancelRunResult['__typename']>().toEqualTypeOf<
      'CancelRunSuccess' | 'RunNotActiveError' | 'NotFoundError'
    >();
    expectTypeOf<RunEvent['type']>().toEqualTypeOf<
      | 'SNAPSHOT'
      | 'STAGE_STARTED'
      | 'STAGE_PROGRESS'
      | 'STAGE_FINISHED'
      | 'PREVIEW'
      | 'OUTPUT'
      | 'RUN_FINISHED'
    >();
    expectTypeOf<Run['status']>().toEqualTypeOf<
      'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED'
    >();
    expectTypeOf<Run['seed']>().toEqualTypeOf<string>();
  });
});

describe('compile checks', () => {
  function compile(files: string[]) {
    const config = ts.getParsedCommandLineOfConfigFile(
      path.join(root, 'packages/sdk/tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d) },
    );
    if (!config) throw new Error('packages/sdk/tsconfig.json did not parse');
    const program = ts.createProgram({ rootNames: files, options: config.options });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const file = d.file ? path.relative(root, d.file.fileName) : '';
      const line =
        d.file && d.start !== undefined
          ? d.file.getLineAndCharacterOfPosition(d.start).line + 1
          : 0;
      return {
        file,
        line,
        code: `TS${d.code}`,
        text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      };
    });
  }
  function fail(d: ts.Diagnostic): never {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }

  it('bad fields, unnarrowed unions and bad inputs fail to compile, exactly where marked', async () => {
    const fixture = path.join(here, 'fixtures/type-errors.ts');
    const self = fileURLToPath(import.meta.url);
    const diagnostics = compile([fixture, self]);
    // This file's own expectTypeOf and @ts-expect-error lines hold.
    expect(diagnostics.filter((d) => d.file === path.relative(root, self))).toEqual([]);
    const source = (await import('node:fs')).readFileSync(fixture, 'utf8').split('\n');
    const expected = source
      .map((line, i) => ({ line: i + 1, code: line.match(/\/\/ error (TS\d+)$/)?.[1] }))
      .filter((e) => e.code);
    expect(expected.length).toBeGreaterThanOrEqual(7);
    const got = diagnostics
      .filter((d) => d.file === path.relative(root, fixture))
      .map(({ line, code }) => ({ line, code }));
    expect(got).toEqual(expected);
  }, 30_000);

  it('GraphQL Code Generator refuses a document selecting a field the schema lacks', async () => {
    const require = createRequire(import.meta.url);
    const { generate } = require('@graphql-codegen/cli') as typeof import('@graphql-codegen/cli');
    const dir = await mkdtemp(path.join(tmpdir(), 'atelier-codegen-'));
    try {
      const document = path.join(dir, 'bad.ts');
      await writeFile(
        document,
        'graphql(`query BadField($id: ID!) { run(id: $id) { id nope } }`);\n',
      );
      const run = generate(
        {
          cwd: root,
          schema: path.join(root, 'schema.graphql'),
          documents: [document],
          silent: true,
          generates: { [path.join(dir, 'out/')]: { preset: 'client' } },
        },
        false,
      );
      await expect(run).rejects.toThrow(/Cannot query field "nope" on type "Run"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
