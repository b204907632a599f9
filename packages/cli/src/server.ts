// `atelier serve|worker|migrate|keys`: the server's commands, run by @atelier/server's own
// entry when that package is installed. The CLI does not depend on the server: it looks for it
// at run time, next to itself and then from the current directory.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Commands that belong to the server (`atelier` with no command is `serve`). */
export const SERVER_COMMANDS: readonly string[] = ['serve', 'worker', 'migrate', 'keys'];

/** The server's command-line entry (its `atelier-server` bin), or null when not installed. */
export function findServerEntry(cwd = process.cwd()): string | null {
  const from = [import.meta.url, pathToFileURL(path.join(cwd, 'package.json')).href];
  for (const base of from) {
    let manifest: string;
    try {
      manifest = createRequire(base).resolve('@atelier/server/package.json');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') continue;
      throw error;
    }
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      bin?: string | Record<string, string>;
    };
    const entry = typeof bin === 'string' ? bin : bin?.['atelier-server'];
    if (entry) return path.resolve(path.dirname(manifest), entry);
  }
  return null;
}

/**
 * Hands the process over to the server's entry, which reads the same `process.argv` and sets
 * the exit code itself (a `serve` keeps running). Returns null when it did, else the exit
 * code after saying in one line that the server is not installed.
 */
export async function runServerCommand(
  command: string,
  stderr: { write(text: string): unknown },
): Promise<number | null> {
  const entry = findServerEntry();
  if (!entry) {
    stderr.write(
      `atelier ${command}: the Atelier server is not installed here (@atelier/server not found next to @atelier/cli or in ${process.cwd()}); run it from an Atelier checkout\n`,
    );
    return 2;
  }
  await import(pathToFileURL(entry).href);
  return null;
}
