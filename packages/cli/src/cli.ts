// The client commands of `atelier` (generate, models, styles): they talk to a running server
// through @atelier/sdk only, never to the server's own code. Every failure ends as one line on
// stderr and an exit code: 2 for a command line the command cannot run with, 1 otherwise.
import { MODELS_USAGE, modelsCommand, STYLES_USAGE, stylesCommand } from './catalog.ts';
import { GENERATE_USAGE, generateCommand } from './generate.ts';
import { CliError, oneLine, UsageError } from './options.ts';

/** Where a command reads its environment and writes its output (process.* in real use). */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

const COMMANDS: Record<string, { usage: string; run(argv: string[], io: CliIo): Promise<number> }> =
  {
    generate: { usage: GENERATE_USAGE, run: generateCommand },
    models: { usage: MODELS_USAGE, run: modelsCommand },
    styles: { usage: STYLES_USAGE, run: stylesCommand },
  };

/** The client commands, for the dispatcher in main.ts. */
export const CLIENT_COMMANDS: readonly string[] = Object.keys(COMMANDS);

/**
 * Runs one client command; returns the exit code (0 ok, 1 failed, 2 bad command line).
 * With `debug`, failures that are not explained (bugs) also print their stack.
 */
export async function runClientCommand(
  name: string,
  argv: string[],
  io: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr },
  debug = false,
): Promise<number> {
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`atelier: unknown command "${name}" (see atelier --help)\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(argv, io);
  } catch (error) {
    const usage = usageMessage(error);
    if (usage) {
      io.stderr.write(`atelier ${name}: ${usage} (see atelier ${name} --help)\n`);
      return 2;
    }
    const message = oneLine(error instanceof Error ? error.message : String(error));
    // An explained failure (CliError) needs no stack; anything else is a bug worth reporting.
    const hint = error instanceof CliError || debug ? '' : ' (--debug shows the stack)';
    io.stderr.write(`atelier ${name}: ${message}${hint}\n`);
    if (debug && error instanceof Error && error.stack) {
      io.stderr.write(`${error.stack}\n`);
      if (error.cause instanceof Error && error.cause.stack) {
        io.stderr.write(`caused by ${error.cause.stack}\n`);
      }
    }
    return 1;
  }
}

/** The message of a command-line mistake (ours or node:util parseArgs'), else undefined. */
function usageMessage(error: unknown): string | undefined {
  if (error instanceof UsageError) return oneLine(error.message);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    // parseArgs explains positionals at length; the first sentence says what is wrong.
    return oneLine((error as Error).message).split('. ')[0];
  }
  return undefined;
}
