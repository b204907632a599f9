// Start-to-exit time of `atelier models` against a started server, beside two baselines
// measured in the same run: a plain Node script sending the same models query with fetch and
// printing the keys (what any client pays for Node and one request), and `node -e 0` (Node
// alone). Two variants of the CLI, built here from the same sources, show what the shipped
// build's choices are worth: with Node's own fetch instead of node:http, and unbundled (the
// SDK's module graph loaded from its dist/, as a tsc build of the CLI would). Each command
// runs RUNS times, round-robin so load on the machine hits all alike, after one warm-up run
// each; wall time from spawn to exit. The target: models < 0.5 s.
//
//   npm run build -w @atelier/cli && node --import tsx bench/cli-startup.ts
//
// BENCH_APPEND=0 to only print the section (otherwise it is appended to bench/RESULTS.md).
// Exits non-zero when a command fails or the target is missed.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { ModelsDocument } from '../packages/sdk/src/generated/graphql.ts';
import { startTestServer } from '../packages/server/test/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const APPEND = process.env.BENCH_APPEND !== '0';
const TARGET_MS = 500;
const CLI_BIN = path.join(ROOT, 'packages/cli/bin/atelier.js');
const CLI_DIST = path.join(ROOT, 'packages/cli/dist/atelier.js');

if (!existsSync(CLI_DIST)) {
  console.error('packages/cli/dist is missing: run `npm run build -w @atelier/cli` first');
  process.exit(1);
}

// The baseline: the SDK's own models query text, POSTed with fetch, keys printed.
const FETCH_SCRIPT = `
const res = await fetch(process.env.ATELIER_URL + '/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-graphql-yoga-csrf': '1' },
  body: JSON.stringify({ query: process.env.MODELS_QUERY, variables: { mode: null } }),
});
const body = await res.json();
if (!body.data) throw new Error(JSON.stringify(body));
for (const model of body.data.models) process.stdout.write(model.key + '\\n');
`;

// The variants: the CLI's sources bundled as the build script does, with one change each,
// next to the shipped file (so `ws` and the SDK's dist resolve alike), removed at the end.
const VARIANTS_DIR = path.join(ROOT, 'packages/cli/dist');
const variantFiles: string[] = [];
async function variant(name: string, change: Parameters<typeof build>[0]): Promise<string> {
  const bundle = path.join(VARIANTS_DIR, `.bench-${name}.js`);
  const bin = path.join(VARIANTS_DIR, `.bench-${name}-bin.js`);
  variantFiles.push(bundle, bin);
  await build({
    entryPoints: [path.join(ROOT, 'packages/cli/src/main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    conditions: ['atelier-source'],
    external: ['ws'],
    logLevel: 'warning',
    ...change,
  });
  const shipped = await readFile(CLI_BIN, 'utf8');
  await writeFile(bin, shipped.replace('../dist/atelier.js', `./.bench-${name}.js`));
  return bin;
}
const withNodeFetch = await variant('node-fetch', {
  plugins: [
    {
      name: 'node-fetch',
      setup(b) {
        b.onResolve({ filter: /\/http\.ts$/ }, () => ({ path: 'http', namespace: 'variant' }));
        b.onLoad({ filter: /.*/, namespace: 'variant' }, () => ({
          contents: 'export const nodeHttpFetch = (input, init) => fetch(input, init);',
          loader: 'js',
        }));
      },
    },
  ],
});
// @atelier/sdk from its built dist/ (the default condition), not bundled.
const unbundled = await variant('unbundled', { conditions: [], external: ['ws', '@atelier/sdk'] });
if (!existsSync(path.join(ROOT, 'packages/sdk/dist/index.js'))) {
  console.error('packages/sdk/dist is missing: run `npm run build -w @atelier/sdk` first');
  process.exit(1);
}

// `command` defaults to this Node.
const COMMANDS: { name: string; args: string[]; command?: string }[] = [
  { name: '`node packages/cli/bin/atelier.js models`', args: [CLI_BIN, 'models'] },
  {
    name: '`npx atelier models` (from the repository root: npm’s own start included)',
    command: 'npx',
    args: ['atelier', 'models'],
  },
  { name: 'variant: with Node’s fetch (undici)', args: [withNodeFetch, 'models'] },
  { name: 'variant: unbundled, SDK from its dist/', args: [unbundled, 'models'] },
  {
    name: 'baseline: `node --input-type=module -e` with fetch, same query',
    args: ['--input-type=module', '-e', FETCH_SCRIPT],
  },
  { name: '`node -e 0` (Node alone)', args: ['-e', '0'] },
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Runs `command ...args` to its end; resolves with the wall time, rejects on failure. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const what = `${command} ${args.join(' ')}`;
      if (code !== 0) reject(new Error(`${what} exited ${code}: ${stderr}`));
      else if (args[0] !== '-e' && !stdout.includes('flux1-dev')) {
        reject(new Error(`${what} printed no models: ${stdout}`));
      } else resolve(ms);
    });
  });
}

const server = await startTestServer({ LOG_LEVEL: 'error' });
const times = COMMANDS.map(() => [] as number[]);
try {
  const env = {
    ...process.env,
    ATELIER_URL: server.url,
    MODELS_QUERY: String(ModelsDocument),
  };
  const run = (command: (typeof COMMANDS)[number]) =>
    timed(command.command ?? process.execPath, command.args, env);
  for (const command of COMMANDS) await run(command);
  for (let i = 0; i < RUNS; i++) {
    for (const [index, command] of COMMANDS.entries()) times[index]!.push(await run(command));
  }
} finally {
  await server.stop();
  for (const file of variantFiles) await rm(file, { force: true });
}

const ms = (n: number) => `${Math.round(n)} ms`;
const cliMedian = percentile(times[0]!, 50);
const bareMedian = percentile(times[COMMANDS.length - 1]!, 50);
const built = new Date(statSync(CLI_DIST).mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
const lines = [
  '',
  `### ${new Date().toISOString().slice(0, 10)} — CLI startup: \`atelier models\``,
  '',
  `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} at the end. \`node --import tsx bench/cli-startup.ts\` (packages/cli/dist built ${built} UTC): a server started in the bench process (PGlite, the bundled sandbox), each command run ${RUNS} times round-robin after one warm-up run each, wall time from spawn to exit. Target: \`atelier models\` < ${TARGET_MS} ms.`,
  '',
  '| command | median | p90 |',
  '|---|---|---|',
  ...COMMANDS.map(
    (command, i) =>
      `| ${command.name} | ${ms(percentile(times[i]!, 50))} | ${ms(percentile(times[i]!, 90))} |`,
  ),
  '',
  `\`atelier models\`: ${ms(cliMedian)} median, ${ms(cliMedian - bareMedian)} above Node alone; target ${cliMedian < TARGET_MS ? 'met' : 'NOT met'}.`,
  '',
];
const section = lines.join('\n');
console.log(section);
if (APPEND) await appendFile(path.join(ROOT, 'bench/RESULTS.md'), section);
if (cliMedian >= TARGET_MS) process.exitCode = 1;
