// WebAssembly that `atelier-server` starts compiling before the server's modules load: Prisma's
// query compiler (3.4 MB) for the commands that use the database, and PGlite (8.7 MB) when
// the database is the embedded one. V8 compiles WebAssembly on background threads: started
// here, the compiles run while the main thread loads and links the server's modules, instead
// of later while it waits for them (PGlite) or compiles on the main thread itself (Prisma's,
// which its generated client compiles synchronously). The bin imports this module (light: no
// PGlite, no Prisma) first; openDatabase and Prisma's generated client take what it started
// (the client through the hook scripts/prisma-generate.mjs adds to it). A wrong guess (the
// configuration names PostgreSQL after all) costs a compile, nothing else.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

// On globalThis: the bin loads this module on its own, and the server's bundle holds a copy.
const PGLITE = Symbol.for('atelier.pgliteWasm');
/** Read by the hook in the generated Prisma client (scripts/prisma-generate.mjs). */
const QUERY_COMPILER = Symbol.for('atelier.queryCompilerWasm');
const slots = globalThis as { [key: symbol]: Promise<WebAssembly.Module> | undefined };

const DATABASE_COMMANDS = new Set(['serve', 'worker', 'migrate']);

/** Starts compiling what `atelier-server <argv>` will load. */
export function preloadWasm(argv: string[], env: NodeJS.ProcessEnv): void {
  const command = argv[0] ?? 'serve';
  if (!DATABASE_COMMANDS.has(command) || argv.includes('--help') || argv.includes('-h')) return;
  const require = createRequire(import.meta.url);
  const compile = (key: symbol, load: () => Promise<Uint8Array<ArrayBuffer>>) => {
    // A failure here is left to the loader that would have loaded it anyway.
    const compiled = load().then((bytes) => WebAssembly.compile(bytes));
    compiled.catch(() => {});
    slots[key] = compiled;
  };
  compile(QUERY_COMPILER, async () => {
    // The generated client's module is `const wasm = "<base64>"; export { wasm }`: read as
    // bytes, not loaded as a module (a 4.5 MB string for the main thread to parse); only the
    // base64 (ASCII) between the quotes becomes a string.
    const file = require.resolve(
      '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs',
    );
    const bytes = await readFile(file);
    const quote = 0x22;
    const start = bytes.indexOf(quote) + 1;
    const end = bytes.indexOf(quote, start);
    if (start <= 0 || end < 0) throw new Error(`unexpected layout of ${file}`);
    return Buffer.from(bytes.toString('latin1', start, end), 'base64');
  });
  if (!env.DATABASE_URL && command !== 'worker') {
    compile(PGLITE, async () =>
      readFile(path.join(path.dirname(require.resolve('@electric-sql/pglite')), 'pglite.wasm')),
    );
  }
}

/**
 * PGlite's option from what preloadWasm started, once (none when nothing was, or when it
 * failed: PGlite then loads the file itself).
 */
export async function takePgliteWasm(): Promise<{ pgliteWasmModule?: WebAssembly.Module }> {
  const compiled = slots[PGLITE];
  if (!compiled) return {};
  delete slots[PGLITE];
  const module = await compiled.catch(() => null);
  return module ? { pgliteWasmModule: module } : {};
}
