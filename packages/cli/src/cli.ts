// The client commands of `atelier` (generate, models, styles): they talk to a running server
// through @atelier/sdk only, never to the server's own code.
import { AtelierRequestError } from '@atelier/sdk';
import { MODELS_USAGE, modelsCommand, STYLES_USAGE, stylesCommand } from './catalog.ts';
import { GENERATE_USAGE, generateCommand } from './generate.ts';
import { UsageError } from './options.ts';

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

/** Runs one client command; returns the exit code (0 ok, 1 failed, 2 bad command line). */
export async function runClientCommand(
  name: string,
  argv: string[],
  io: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`Unknown command: ${name}\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(argv, io);
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      io.stderr.write(`${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    if (error instanceof AtelierRequestError) {
      io.stderr.write(`REQUEST_FAILED: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
