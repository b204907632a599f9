// `atelier models` and `atelier styles`: the catalog as a table, or JSON with --json.
import { parseArgs } from 'node:util';
import { listModels, listStyles } from '@atelier/sdk';
import type { CliIo } from './cli.ts';
import { withClient } from './connection.ts';
import { apiKey, parseMode, serverUrl, table } from './options.ts';

export const MODELS_USAGE = `Usage: atelier models [--mode MODE] [--json] [--server URL] [--api-key KEY]\n`;
export const STYLES_USAGE = `Usage: atelier styles [--json] [--server URL] [--api-key KEY]\n`;

/** Runs `atelier models`; returns the exit code. */
export async function modelsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      json: { type: 'boolean', default: false },
      server: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const mode = values.mode ? parseMode(values.mode) : undefined;
  const url = serverUrl(values.server, io.env);
  const models = await withClient(url, apiKey(values['api-key'], io.env), (client) =>
    listModels(client, mode ? { mode } : {}),
  );
  if (values.json) {
    io.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
  } else {
    io.stdout.write(
      table([
        ['KEY', 'OUTPUT', 'MODES', 'NAME'],
        ...models.map((m) => [m.key, m.outputKind, m.modes.join(','), m.name]),
      ]),
    );
  }
  return 0;
}

/** Runs `atelier styles`; returns the exit code. */
export async function stylesCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      server: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const url = serverUrl(values.server, io.env);
  const styles = await withClient(url, apiKey(values['api-key'], io.env), (client) =>
    listStyles(client),
  );
  if (values.json) {
    io.stdout.write(`${JSON.stringify(styles, null, 2)}\n`);
  } else {
    io.stdout.write(
      table([['KEY', 'CATEGORY', 'NAME'], ...styles.map((s) => [s.key, s.category, s.name])]),
    );
  }
  return 0;
}
