// Runs `prisma generate` after install. Generate does not use the schema engine, but
// Prisma's CLI insists on finding one; point it at any existing file so no download is tried.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
execFileSync('npx', ['prisma', 'generate'], { cwd: root, env, stdio: 'inherit' });

// The generated client decodes its query compiler (WebAssembly) from base64 and compiles it
// synchronously on the main thread at the first query. The server's bin starts that compile
// on V8's background threads before the server's modules load (packages/server/src/preload.ts)
// and leaves the promise on globalThis; this hook makes the client take it when it is there.
const classFile = `${root}/packages/server/src/generated/prisma/internal/class.ts`;
const generated = readFileSync(classFile, 'utf8');
const loader = '  getQueryCompilerWasmModule: async () => {\n';
if (!generated.includes(loader)) {
  throw new Error(`${classFile}: no getQueryCompilerWasmModule to hook (Prisma's layout changed)`);
}
writeFileSync(
  classFile,
  generated.replace(
    loader,
    `${loader}    // Compiled early by the server's bin (packages/server/src/preload.ts; hook added by scripts/prisma-generate.mjs).
    const preloaded = (globalThis as { [key: symbol]: Promise<WebAssembly.Module> | undefined })[Symbol.for('atelier.queryCompilerWasm')]
    const module = preloaded && (await preloaded.catch(() => null))
    if (module) return module
`,
  ),
);
