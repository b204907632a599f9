// Browser bundle size of an app using the SDK's createRun + watchRun, beside a baseline
// measured in the same run: the same app written against @urql/core + graphql-ws alone (an
// urql Client with fetchExchange + subscriptionExchange over a graphql-ws client, one mutation
// and one subscription sent as document strings, the same operations the SDK sends). Both
// are bundled with esbuild (minified ESM, platform browser) against the BUILT SDK
// (packages/sdk/dist, resolved through its `default` export condition as a third party
// would), then gzipped (level 9). The target is SDK ≤ 1.3× the baseline. The SDK sends its
// queries and mutations by persisted-document hash, with the text as a fallback, so its
// bundle holds both.
//
//   npm run build -w @atelier/sdk && node --import tsx bench/bundle-size.ts
//
// BENCH_APPEND=0 to only print the section (otherwise it is appended to bench/RESULTS.md).
// Exits non-zero when a bundle fails (e.g. a Node builtin reachable from the browser entry)
// or the SDK bundle contains Node-only code.
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const APPEND = process.env.BENCH_APPEND !== '0';
const TARGET_RATIO = 1.3;
const TOP_INPUTS = 8;
const SDK_DIST = path.join(ROOT, 'packages/sdk/dist');

if (!existsSync(path.join(SDK_DIST, 'index.js'))) {
  console.error('packages/sdk/dist is missing: run `npm run build -w @atelier/sdk` first');
  process.exit(1);
}

// The baseline sends exactly the operations the SDK sends (printed as urql prints them).
const generated = (await import(
  path.join(SDK_DIST, 'generated/graphql.js')
)) as typeof import('../packages/sdk/dist/generated/graphql.js');
const CREATE_RUN = String(generated.CreateRunDocument);
const RUN_EVENTS = String(generated.RunEventsDocument);

const SDK_APP = `
import { createAtelierClient, createRun, watchRun } from '@atelier/sdk';

const client = createAtelierClient({ url: 'https://api.example.com', apiKey: 'x' });
const result = await createRun(client, { mode: 'TEXT_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox' });
console.log(result.__typename, result);
if (result.__typename === 'CreateRunSuccess') {
  for await (const event of watchRun(client, result.run.id)) {
    console.log(event.type, event.sequence, event.run.status, event.run.progress);
  }
}
client.close();
`;

const BASELINE_APP = `
import { createClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

const CREATE_RUN = ${JSON.stringify(CREATE_RUN)};
const RUN_EVENTS = ${JSON.stringify(RUN_EVENTS)};
const headers = { authorization: 'Bearer x' };

const ws = createWsClient({ url: 'wss://api.example.com/graphql', connectionParams: headers });
const client = createClient({
  url: 'https://api.example.com/graphql',
  fetchOptions: { headers },
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const payload = { ...request, query: request.query ?? '' };
        return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(payload, sink) }) };
      },
    }),
  ],
});

const input = { mode: 'TEXT_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox' };
const created = await client.mutation(CREATE_RUN, { input }).toPromise();
if (created.error) throw created.error;
const result = created.data.createRun;
console.log(result.__typename, result);
if (result.__typename === 'CreateRunSuccess') {
  const { unsubscribe } = client
    .subscription(RUN_EVENTS, { id: result.run.id })
    .subscribe(({ data, error }) => {
      if (error) console.error(error);
      else console.log(data.runEvents.type, data.runEvents.sequence, data.runEvents.run.status);
    });
  setTimeout(() => { unsubscribe(); ws.dispose(); }, 60_000);
}
`;

interface Measured {
  label: string;
  minified: number;
  gzipped: number;
  inputs: { file: string; bytes: number }[];
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'atelier-bundle-'));
async function bundle(label: string, name: string, source: string): Promise<Measured> {
  const entry = path.join(tmp, name);
  await writeFile(entry, source);
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    nodePaths: [path.join(ROOT, 'node_modules')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    metafile: true,
    write: false,
    outfile: path.join(tmp, `${name}.out.js`),
    logLevel: 'silent',
  });
  const file = result.outputFiles.find((f) => f.path.endsWith('.js'))!;
  const output = (result.metafile as Metafile).outputs[path.relative(ROOT, file.path)];
  if (!output) throw new Error(`${label}: no metafile entry for ${file.path}`);
  const inputs = Object.entries(output.inputs)
    .map(([input, { bytesInOutput }]) => ({ file: input, bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  return {
    label,
    minified: file.contents.byteLength,
    gzipped: gzipSync(file.contents, { level: 9 }).byteLength,
    inputs,
  };
}

let sdk: Measured;
let baseline: Measured;
try {
  sdk = await bundle('SDK', 'sdk-app.js', SDK_APP);
  baseline = await bundle('baseline', 'baseline-app.js', BASELINE_APP);
} catch (error) {
  // esbuild's errors name the import (e.g. a `node:` builtin or `ws` reachable from the entry).
  const { errors } = error as { errors?: { text: string; location?: { file: string } | null }[] };
  for (const e of errors ?? []) console.error(`esbuild: ${e.location?.file ?? ''}: ${e.text}`);
  if (!errors) console.error(error);
  console.error('FAILED: a browser bundle did not build (nothing Node-only may be reachable)');
  await rm(tmp, { recursive: true, force: true });
  process.exit(1);
} finally {
  await rm(tmp, { recursive: true, force: true });
}

// Nothing Node-only may end up in the browser bundle, even without a build error.
const nodeOnly = sdk.inputs.filter((i) => /(^|\/)node_modules\/ws\/|^node:/.test(i.file));
if (!sdk.inputs.some((i) => i.file.startsWith('packages/sdk/dist/'))) {
  console.error('FAILED: the SDK bundle has no input from packages/sdk/dist (wrong condition?)');
  process.exit(1);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const shortName = (file: string) =>
  file.replace(/^node_modules\//, '').replace(/^packages\/sdk\/dist\//, '@atelier/sdk dist/');

/** Bytes in the SDK bundle per origin, to tell what the SDK adds over the baseline. */
function groupOf(file: string): string {
  if (file.startsWith('packages/sdk/dist/generated/')) return '@atelier/sdk generated documents';
  if (file.startsWith('packages/sdk/dist/')) return '@atelier/sdk own code';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  return pkg ?? 'app entry';
}
const groups = (m: Measured) => {
  const totals = new Map<string, number>();
  for (const { file, bytes } of m.inputs) {
    const group = groupOf(file);
    totals.set(group, (totals.get(group) ?? 0) + bytes);
  }
  return totals;
};
const sdkGroups = groups(sdk);
const baselineGroups = groups(baseline);
const groupNames = [...new Set([...sdkGroups.keys(), ...baselineGroups.keys()])].sort(
  (a, b) => (sdkGroups.get(b) ?? 0) - (sdkGroups.get(a) ?? 0),
);

const gzipRatio = sdk.gzipped / baseline.gzipped;
const minRatio = sdk.minified / baseline.minified;
const met = (r: number) => (r <= TARGET_RATIO ? 'met' : 'NOT met');

const lines = [
  '',
  `### ${new Date().toISOString().slice(0, 10)} — SDK browser bundle: createRun + watchRun`,
  '',
  `esbuild ${(await import('esbuild')).version}, Node ${process.version}. ` +
    '`node --import tsx bench/bundle-size.ts` after `npm run build -w @atelier/sdk`: two browser ' +
    'apps bundled in the same run with esbuild (`bundle`, `minify`, `format: esm`, ' +
    '`platform: browser`, target es2022), gzip level 9. SDK app: `createAtelierClient` + ' +
    '`createRun` + `for await … watchRun`, imported from `@atelier/sdk` as a third party would ' +
    '(built `dist/`, `default` export condition, `sideEffects: false`). Baseline: the same app on ' +
    '`@urql/core` + `graphql-ws` alone (urql Client with fetchExchange + subscriptionExchange over ' +
    'a graphql-ws client; one mutation and one subscription as document strings, the same ' +
    `CreateRun and RunEvents documents the SDK holds, ${(CREATE_RUN.length + RUN_EVENTS.length).toLocaleString('en')} characters ` +
    `as codegen prints them). Target: SDK ≤ ${TARGET_RATIO}× the baseline. The SDK's documents are ` +
    'strings with their persisted-document hash (`documentMode: string`, `persistedDocuments`).',
  '',
  '| bundle | minified | gzipped |',
  '|---|---|---|',
  `| SDK (createRun + watchRun) | ${kb(sdk.minified)} | ${kb(sdk.gzipped)} |`,
  `| baseline (@urql/core + graphql-ws) | ${kb(baseline.minified)} | ${kb(baseline.gzipped)} |`,
  `| SDK / baseline | ${ratio(sdk.minified, baseline.minified)} (target ${met(minRatio)}) | ` +
    `${ratio(sdk.gzipped, baseline.gzipped)} (target ${met(gzipRatio)}) |`,
  '',
  `Largest inputs of the SDK bundle (minified bytes in the output, esbuild metafile; top ${TOP_INPUTS} of ${sdk.inputs.length}):`,
  '',
  '| input | bytes | share |',
  '|---|---|---|',
  ...sdk.inputs
    .slice(0, TOP_INPUTS)
    .map(
      (i) =>
        `| ${shortName(i.file)} | ${i.bytes.toLocaleString('en')} | ${((i.bytes / sdk.minified) * 100).toFixed(0)} % |`,
    ),
  '',
  'By origin (minified bytes in the output):',
  '',
  '| origin | SDK app | baseline app |',
  '|---|---|---|',
  ...groupNames.map(
    (g) =>
      `| ${g} | ${(sdkGroups.get(g) ?? 0).toLocaleString('en')} | ${(baselineGroups.get(g) ?? 0).toLocaleString('en')} |`,
  ),
  '',
];
console.log(lines.join('\n'));
if (nodeOnly.length) {
  console.error(
    `FAILED: Node-only inputs in the SDK browser bundle: ${nodeOnly.map((i) => i.file).join(', ')}`,
  );
  process.exitCode = 1;
} else if (APPEND) {
  await appendFile(path.join(ROOT, 'bench/RESULTS.md'), lines.join('\n'));
  console.error('appended to bench/RESULTS.md');
}
