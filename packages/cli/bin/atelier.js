#!/usr/bin/env node
// The `atelier` command: the compiled CLI (dist/, built by `npm run build -w @atelier/cli`),
// run by plain Node.
import { main } from '../dist/atelier.js';

try {
  const code = await main(process.argv.slice(2));
  if (code !== null) process.exitCode = code;
} catch (error) {
  // main() explains every expected failure itself; this is a bug in the CLI.
  const debug =
    process.argv.includes('--debug') || /^(1|true)$/i.test(process.env.ATELIER_DEBUG ?? '');
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `atelier: ${message.replace(/\s*\n\s*/g, ' ')}${debug ? '' : ' (--debug shows the stack)'}\n`,
  );
  if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}
