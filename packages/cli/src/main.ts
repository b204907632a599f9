// `atelier <command>`: the client commands (generate, models, styles) talk to a running server
// through @atelier/sdk; the server's commands (serve, worker, migrate, keys) are forwarded to
// @atelier/server when it is installed. The client commands are loaded on demand, so `--help`
// and the forwarded commands never load the SDK.
import { readFileSync } from 'node:fs';
import { runServerCommand, SERVER_COMMANDS } from './server.ts';

export const USAGE = `Usage: atelier <command> [options]     (atelier <command> --help for its options)

Client commands (talk to a running server: --server URL or $ATELIER_URL, default
http://127.0.0.1:4000; --api-key KEY or $ATELIER_API_KEY for servers in AUTH_MODE=keys):
  generate  run a generation and download its outputs
  models    list the catalog's models
  styles    list the catalog's styles

Server commands (need @atelier/server, as in an Atelier checkout):
  serve     start the API server (the default command); it also executes runs, unless
            started with --no-worker
  worker    execute runs only (no API), from the queue shared with the API servers
  migrate   apply pending database migrations and exit
  keys      create, list and revoke accounts' API keys

Options: --help, --version, --debug (or ATELIER_DEBUG=1: print the stack of unexpected errors)
`;

const CLIENT_COMMANDS = new Set(['generate', 'models', 'styles']);

/** The CLI's version, from its package.json. */
function version(): string {
  const manifest = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/**
 * Runs the command line `argv` (without node and the script); returns the exit code, or null
 * when the server's entry took over the process.
 */
export async function main(argv: string[]): Promise<number | null> {
  const debug = argv.includes('--debug') || /^(1|true)$/i.test(process.env.ATELIER_DEBUG ?? '');
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (CLIENT_COMMANDS.has(command)) {
    const { runClientCommand } = await import('./cli.ts');
    const args = argv.slice(1).filter((arg) => arg !== '--debug');
    const io = { env: process.env, stdout: process.stdout, stderr: process.stderr };
    return runClientCommand(command, args, io, debug);
  }
  if (SERVER_COMMANDS.includes(command)) {
    return runServerCommand(command, process.stderr);
  }
  const what = command.startsWith('-') ? 'option' : 'command';
  process.stderr.write(`atelier: unknown ${what} "${command}" (see atelier --help)\n`);
  return 2;
}
