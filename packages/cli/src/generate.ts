// `atelier generate`: uploads the inputs, creates the run, shows its progress on stderr,
// downloads the outputs and prints their paths (or one JSON object with --json).
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import {
  type AtelierClient,
  type CreateRunInput,
  cancelRun,
  createRun,
  type GenerationMode,
  type MediaPurpose,
  type Run,
  RunTimeoutError,
  uploadMedia,
  watchRun,
} from '@atelier/sdk';
import type { CliIo } from './cli.ts';
import { withClient } from './connection.ts';
import {
  apiKey,
  CliError,
  describeRefusal,
  oneLine,
  parseMode,
  serverUrl,
  UsageError,
} from './options.ts';
import { createProgressReporter } from './progress.ts';

export const GENERATE_USAGE = `Usage: atelier generate --mode MODE --model KEY --prompt TEXT [options]

  --mode MODE          TEXT_TO_IMAGE (T2I), IMAGE_TO_IMAGE (I2I), EDIT, INPAINT,
                       MULTI_REFERENCE (MREF), TEXT_TO_VIDEO (T2V), IMAGE_TO_VIDEO (I2V),
                       TEXT_TO_AUDIO (T2A), IMAGE_TO_AUDIO (I2A)
  --model KEY          catalog model (see \`atelier models\`)
  --prompt TEXT        what to generate
  --negative TEXT      what to avoid
  --style KEY          prompt style (see \`atelier styles\`)
  --input PATH         source image (I2I, EDIT, INPAINT, I2V, I2A); for MULTI_REFERENCE, a reference
  --mask PATH          mask image for INPAINT (transparent pixels are repainted)
  --ref PATH           reference image for MULTI_REFERENCE (repeat for several)
  --param NAME=VALUE   model parameter, e.g. steps=20 or width=1024 (repeatable)
  --count N            outputs to generate (1-10)
  --seed S             seed (unsigned 64-bit integer)
  --format F           png, jpeg or webp (images)
  --out DIR            where to write the outputs (default: current directory)
  --server URL         Atelier server (default: $ATELIER_URL or http://127.0.0.1:4000)
  --api-key KEY        API key (default: $ATELIER_API_KEY; none needed in AUTH_MODE=local)
  --timeout SECONDS    give up waiting after this long (the run continues on the server)
  --json               print one JSON object instead of file paths
`;

/** Output formats the CLI accepts, as `OutputOptions.format` values. */
const FORMATS = { png: 'PNG', jpeg: 'JPEG', jpg: 'JPEG', webp: 'WEBP' } as const;

/** File extensions for the MIME types outputs come in. */
const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'audio/flac': 'flac',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
};

interface GenerateArgs {
  server: string;
  apiKey: string | null;
  input: CreateRunInput;
  files: {
    path: string;
    flag: '--input' | '--mask' | '--ref';
    purpose: MediaPurpose;
    field: 'source' | 'mask' | 'references';
  }[];
  out: string;
  json: boolean;
  timeoutMs: number | undefined;
}

function parseGenerateArgs(argv: string[], env: NodeJS.ProcessEnv): GenerateArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      mode: { type: 'string' },
      model: { type: 'string' },
      prompt: { type: 'string' },
      negative: { type: 'string' },
      style: { type: 'string' },
      input: { type: 'string', multiple: true },
      mask: { type: 'string' },
      ref: { type: 'string', multiple: true },
      param: { type: 'string', multiple: true },
      count: { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      server: { type: 'string' },
      'api-key': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.mode) throw new UsageError('--mode is required');
  if (!values.model) throw new UsageError('--model is required');
  const mode: GenerationMode = parseMode(values.mode);
  // IMAGE_TO_AUDIO may go without: the server describes the image (when its LLM sees images).
  if (values.prompt === undefined && mode !== 'IMAGE_TO_AUDIO') {
    throw new UsageError('--prompt is required');
  }

  const inputs = values.input ?? [];
  const refs = values.ref ?? [];
  const files: GenerateArgs['files'] = [];
  if (mode === 'MULTI_REFERENCE') {
    for (const ref of refs) {
      files.push({ path: ref, flag: '--ref', purpose: 'REFERENCE', field: 'references' });
    }
    for (const ref of inputs) {
      files.push({ path: ref, flag: '--input', purpose: 'REFERENCE', field: 'references' });
    }
  } else {
    if (refs.length) throw new UsageError('--ref is only for MULTI_REFERENCE');
    if (inputs.length > 1) throw new UsageError(`${mode} takes one --input`);
    if (inputs[0]) {
      files.push({ path: inputs[0], flag: '--input', purpose: 'SOURCE', field: 'source' });
    }
  }
  if (values.mask) {
    if (mode !== 'INPAINT') throw new UsageError('--mask is only for INPAINT');
    files.push({ path: values.mask, flag: '--mask', purpose: 'MASK', field: 'mask' });
  }

  const parameters: Record<string, unknown> = {};
  for (const param of values.param ?? []) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param wants NAME=VALUE, got "${param}"`);
    parameters[param.slice(0, eq)] = parseValue(param.slice(eq + 1));
  }

  const input: CreateRunInput = { mode, model: values.model, prompt: values.prompt ?? '' };
  if (values.negative !== undefined) input.negativePrompt = values.negative;
  if (values.style) input.style = values.style;
  if (values.seed !== undefined) input.seed = values.seed;
  if (Object.keys(parameters).length) input.parameters = parameters;
  if (values.count !== undefined) {
    const count = Number(values.count);
    if (!Number.isInteger(count)) throw new UsageError(`--count wants a whole number`);
    input.count = count;
  }
  if (values.format !== undefined) {
    const format = FORMATS[values.format.toLowerCase() as keyof typeof FORMATS];
    if (!format) throw new UsageError(`--format wants png, jpeg or webp, got "${values.format}"`);
    input.output = { format };
  }
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!(seconds > 0)) throw new UsageError('--timeout wants a positive number of seconds');
    timeoutMs = seconds * 1000;
  }
  return {
    server: serverUrl(values.server, env),
    apiKey: apiKey(values['api-key'], env),
    input,
    files,
    out: values.out ?? '.',
    json: values.json,
    timeoutMs,
  };
}

/** `20` → 20, `true` → true, `"x"` → "x", anything else stays the string it is. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The UUID inside a Run global id (base64 of `Run:<uuid>`), for file names. */
function runFileStem(id: string): string {
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  const uuid = decoded.match(/^Run:([\w-]+)$/)?.[1];
  return uuid ?? id.replace(/[^\w-]/g, '_');
}

function extensionFor(mimeType: string): string {
  return EXTENSIONS[mimeType] ?? (mimeType.split('/')[1]?.replace(/[^\w]/g, '') || 'bin');
}

async function download(url: string, file: string): Promise<void> {
  const res = await fetch(url).catch((error: unknown) => {
    throw new CliError(`cannot download ${url}: ${(error as Error).message}`, { cause: error });
  });
  if (!res.ok || !res.body) throw new CliError(`cannot download ${url}: HTTP ${res.status}`);
  await pipeline(
    Readable.fromWeb(res.body as unknown as WebReadableStream),
    createWriteStream(file),
  );
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** Fails before anything is sent when an input file cannot be read. */
async function checkFiles(files: GenerateArgs['files']): Promise<void> {
  for (const file of files) {
    let problem: string | undefined;
    try {
      const info = await stat(file.path);
      if (info.isDirectory()) problem = 'is a directory';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      problem = FILE_PROBLEMS[code] ?? (error as Error).message;
    }
    if (problem) throw new CliError(`cannot read ${file.flag} ${file.path}: ${problem}`);
  }
}

/** Runs `atelier generate`; returns the exit code. */
export async function generateCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parseGenerateArgs(argv, io.env);
  await checkFiles(args.files);
  return withClient(args.server, args.apiKey, (client) => generate(client, args, io));
}

async function generate(client: AtelierClient, args: GenerateArgs, io: CliIo): Promise<number> {
  const { input } = args;
  // The one line that says why, then (with --json) the same as an object on stdout.
  const fail = (line: string, json: Record<string, unknown>) => {
    io.stderr.write(`atelier generate: ${line}\n`);
    if (args.json) io.stdout.write(`${JSON.stringify(json)}\n`);
    return 1;
  };

  for (const file of args.files) {
    io.stderr.write(`uploading ${file.path} (${file.purpose.toLowerCase()})\n`);
    const result = await uploadMedia(client, path.resolve(file.path), { purpose: file.purpose });
    if (result.__typename !== 'UploadMediaSuccess') {
      return fail(describeRefusal(result, file.path), {
        error: { code: result.code, message: result.message, file: file.path },
      });
    }
    if (file.field === 'references')
      input.references = [...(input.references ?? []), result.media.id];
    else input[file.field] = result.media.id;
  }

  const created = await createRun(client, input);
  if (created.__typename !== 'CreateRunSuccess') {
    const detail =
      created.__typename === 'ValidationError'
        ? created.field
        : created.__typename === 'NotFoundError'
          ? `${created.entity} ${created.id}`
          : undefined;
    return fail(describeRefusal(created, detail), {
      error: {
        code: created.code,
        message: created.message,
        ...(created.__typename === 'ValidationError' ? { field: created.field } : {}),
      },
    });
  }
  const runId = created.run.id;
  io.stderr.write(`run ${runId} (seed ${created.run.seed})\n`);

  const progress = createProgressReporter(io.stderr);
  const controller = new AbortController();
  const timer =
    args.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => controller.abort(new RunTimeoutError(runId, args.timeoutMs ?? 0)),
          args.timeoutMs,
        );
  let run: Run = created.run;
  // Ctrl-C cancels the run on the server (only this run) and waits for it to end; a second
  // Ctrl-C leaves at once.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.end();
    io.stderr.write(`canceling run ${runId} (Ctrl-C again to leave now)\n`);
    // Reported, not thrown: the watch below still ends the command, with the run's status.
    cancelRun(client, runId).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      io.stderr.write(`could not cancel run ${runId}: ${oneLine(why)}\n`);
    });
  };
  process.on('SIGINT', onInterrupt);
  try {
    for await (const event of watchRun(client, runId, { signal: controller.signal })) {
      run = event.run;
      progress.update(run);
    }
  } catch (error) {
    progress.end();
    if (error instanceof RunTimeoutError) {
      return fail(
        `TIMED_OUT: run ${runId} did not finish within ${error.timeoutMs / 1000} s (it continues on the server)`,
        { runId, status: run.status, seed: run.seed, outputs: [], error: { code: 'TIMED_OUT' } },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onInterrupt);
  }
  progress.end();

  if (run.status !== 'SUCCEEDED') {
    const error = run.error ?? { code: run.status, message: `run ended ${run.status}` };
    const where = [run.error?.stage, run.error?.nodeType].filter(Boolean).join(' ');
    return fail(describeRefusal(error, where || undefined), {
      runId,
      status: run.status,
      seed: run.seed,
      outputs: [],
      error: { code: error.code, message: error.message },
    });
  }

  await mkdir(args.out, { recursive: true });
  const stem = runFileStem(runId);
  const outputs: { path: string; url: string; mimeType: string }[] = [];
  for (const [index, output] of run.outputs.entries()) {
    const file = path.resolve(args.out, `${stem}-${index}.${extensionFor(output.mimeType)}`);
    await download(output.url, file);
    outputs.push({ path: file, url: output.url, mimeType: output.mimeType });
  }
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ runId, status: run.status, seed: run.seed, outputs })}\n`);
  } else {
    for (const output of outputs) io.stdout.write(`${output.path}\n`);
  }
  return 0;
}
