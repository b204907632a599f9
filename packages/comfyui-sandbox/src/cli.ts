// `comfyui-sandbox`: starts the sandbox from the command line. Flags win over environment.
//   --port N            (COMFYUI_SANDBOX_PORT, default 8188; 0 = a free port)
//   --host H            (COMFYUI_SANDBOX_HOST, default 127.0.0.1)
//   --step-delay MS     (COMFYUI_SANDBOX_STEP_DELAY_MS, default 100)
//   --model-load-delay MS (COMFYUI_SANDBOX_MODEL_LOAD_DELAY_MS, default 0)
//   --catalog DIR       also pretend to have the model files of the workflows under DIR
//   --base-dir DIR      keep input/, output/, temp/ there (default: a temp dir)
//   --no-previews       no latent preview frames
//   --disable-node C    a node class that does not exist (repeatable)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSandbox } from './sandbox.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'step-delay': { type: 'string' },
    'model-load-delay': { type: 'string' },
    catalog: { type: 'string' },
    'base-dir': { type: 'string' },
    'no-previews': { type: 'boolean' },
    'disable-node': { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(
    'comfyui-sandbox [--port N] [--host H] [--step-delay MS] [--model-load-delay MS]\n' +
      '                [--catalog DIR] [--base-dir DIR] [--no-previews] [--disable-node CLASS]...\n' +
      'A ComfyUI protocol stand-in with no model weights (see packages/comfyui-sandbox/README.md).\n',
  );
  process.exit(0);
}

function int(flag: string | undefined, env: string | undefined, fallback: number): number {
  const v = flag ?? env;
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
}

const env = process.env;
const sandbox = await startSandbox({
  port: int(values.port, env.COMFYUI_SANDBOX_PORT, 8188),
  host: values.host ?? env.COMFYUI_SANDBOX_HOST ?? '127.0.0.1',
  stepDelayMs: int(values['step-delay'], env.COMFYUI_SANDBOX_STEP_DELAY_MS, 100),
  modelLoadDelayMs: int(values['model-load-delay'], env.COMFYUI_SANDBOX_MODEL_LOAD_DELAY_MS, 0),
  previews: !values['no-previews'],
  ...(values.catalog ? { catalogDir: values.catalog } : {}),
  ...(values['base-dir'] ? { baseDir: values['base-dir'] } : {}),
  ...(values['disable-node'] ? { disabledNodeClasses: values['disable-node'] } : {}),
});
process.stdout.write(
  `ComfyUI SANDBOX (no models: pictures, video and audio are synthetic) listening on ${sandbox.url}\n`,
);
process.stdout.write(
  `  ${sandbox.nodeClasses().length} node classes, step delay ${sandbox.knobs.stepDelayMs} ms, files under ${path.dirname(sandbox.dirs.output)}\n`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    sandbox.stop().then(() => process.exit(0));
  });
}
