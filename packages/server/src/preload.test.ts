// The bin starts compiling Prisma's query compiler and PGlite before the server's modules
// load (preload.ts); Prisma's generated client and openDatabase take the compiled modules.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './db/database.ts';
import { preloadWasm, takePgliteWasm } from './preload.ts';

const QUERY_COMPILER = Symbol.for('atelier.queryCompilerWasm');
const slots = globalThis as { [key: symbol]: Promise<WebAssembly.Module> | undefined };

afterEach(async () => {
  await takePgliteWasm();
  delete slots[QUERY_COMPILER];
});

describe('preloading WebAssembly', () => {
  it('compiles PGlite and the query compiler for `serve` on the embedded database', async () => {
    preloadWasm(['serve'], {});
    const compiler = await slots[QUERY_COMPILER];
    expect(compiler).toBeInstanceOf(WebAssembly.Module);
    // Prisma's query compiler, decoded from its base64 module.
    expect(WebAssembly.Module.exports(compiler!).map((e) => e.name)).toContain('__wbindgen_start');
    const { pgliteWasmModule } = await takePgliteWasm();
    expect(pgliteWasmModule).toBeInstanceOf(WebAssembly.Module);
    // Taken once.
    expect(await takePgliteWasm()).toEqual({});
  });

  it('compiles only the query compiler on PostgreSQL and for `worker`, nothing for other commands', async () => {
    preloadWasm(['serve'], { DATABASE_URL: 'postgresql://127.0.0.1:1/db' });
    expect(slots[QUERY_COMPILER]).toBeInstanceOf(Promise);
    expect(await takePgliteWasm()).toEqual({});
    delete slots[QUERY_COMPILER];
    preloadWasm(['worker'], {});
    expect(slots[QUERY_COMPILER]).toBeInstanceOf(Promise);
    expect(await takePgliteWasm()).toEqual({});
    delete slots[QUERY_COMPILER];
    for (const argv of [['keys', 'list'], ['serve', '--help'], ['nonsense']]) {
      preloadWasm(argv, {});
      expect(slots[QUERY_COMPILER]).toBeUndefined();
      expect(await takePgliteWasm()).toEqual({});
    }
  });

  it('opens the embedded database and runs Prisma on the preloaded modules', async () => {
    preloadWasm(['serve'], {});
    const compiler = slots[QUERY_COMPILER];
    // Counts the generated client's use of the preloaded compiler (its hook awaits `.catch`).
    let taken = 0;
    slots[QUERY_COMPILER] = new Proxy(compiler!, {
      get(target, key) {
        if (key === 'catch') taken++;
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    try {
      // openDatabase took PGlite's module.
      expect(await takePgliteWasm()).toEqual({});
      await db.migrate();
      expect(await db.prisma.account.count()).toBeGreaterThanOrEqual(0);
      expect(taken).toBe(1);
    } finally {
      await db.close();
    }
  });
});
