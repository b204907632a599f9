#!/usr/bin/env node
// Runs the TypeScript entry point through tsx, with WebAssembly modules enabled for the
// migration tooling.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--experimental-wasm-modules', '--no-warnings=ExperimentalWarning', '--import', 'tsx', main, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
