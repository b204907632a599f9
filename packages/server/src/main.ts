// The server's commands: `serve` (default), `worker`, `migrate` and `keys`. Users run them as
// `atelier <command>` (@atelier/cli forwards them here) or as `atelier-server <command>`; the
// client commands (generate, models, styles) live in @atelier/cli.
import { setFlagsFromString } from 'node:v8';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { heapFlagsWhenReady } from './heap.ts';

const USAGE = `Usage: atelier-server <command>   (also \`atelier <command>\` through @atelier/cli)

Commands:
  serve     start the API server (migrates the database first); it also executes runs,
            unless started with --no-worker (an API replica: other processes execute)
  worker    execute runs only (no API): takes runs from the shared queue (DATABASE_URL,
            and REDIS_URL for BullMQ) on the ComfyUI servers in its COMFYUI_URLS
  migrate   apply pending database migrations and exit
  keys      create, list and revoke accounts' API keys (keys --help)
`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'keys') {
    const { keysCommand, KEYS_USAGE } = await import('./cli/keys.ts');
    const { UsageError } = await import('./cli/io.ts');
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(KEYS_USAGE);
      return 0;
    }
    try {
      return await keysCommand(argv.slice(1), {
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    } catch (error) {
      if (
        error instanceof UsageError ||
        (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ) {
        process.stderr.write(`${(error as Error).message}\n\n${KEYS_USAGE}`);
        return 2;
      }
      throw error;
    }
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig(process.env);
  if (command === 'migrate') {
    const db = await openDatabase(config.database);
    try {
      const applied = await db.migrate();
      console.log(applied.length ? `Applied ${applied.join(', ')}` : 'Database is up to date.');
    } finally {
      await db.close();
    }
    return 0;
  }
  if (command !== 'serve' && command !== 'worker') {
    process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'worker' && config.database.kind !== 'postgres') {
    process.stderr.write(
      'atelier worker: DATABASE_URL must name the PostgreSQL database the API servers use (the embedded database belongs to one process).\n',
    );
    return 2;
  }
  const app =
    command === 'worker'
      ? await createApp(config, { worker: true, api: false })
      : await createApp(config, { worker: !argv.includes('--no-worker') });
  // A promise nobody awaited failed: that is a bug to fix, but one request's bug must not
  // take every other request down with the process. Logged with its stack; uncaught
  // exceptions (state may be corrupt) still stop the process.
  process.on('unhandledRejection', (reason) => {
    app.log.error('unhandled promise rejection', {
      error: reason,
    });
  });
  await app.start();
  // V8's heap as a running server wants it (heap.ts): the young generation the bin held
  // during start grows again, and the old generation keeps room for uploads' buffers.
  const held = Symbol.for('atelier.semiSpaceGrowthHeld');
  const own = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].join(' ');
  for (const flag of heapFlagsWhenReady(
    own,
    Boolean((globalThis as Record<symbol, unknown>)[held]),
  )) {
    setFlagsFromString(flag);
  }
  delete (globalThis as Record<symbol, unknown>)[held];
  if (command === 'worker') {
    app.log.info('Atelier worker ready', {
      instance: app.services.instanceId,
      queue: app.services.queue.kind,
      comfyui: app.services.executor.workers().map((w) => w.url),
    });
  } else {
    app.log.info(`Atelier listening on ${app.url} (GraphQL at ${app.url}/graphql)`, {
      database: config.database.kind,
      home: config.home,
    });
  }
  const shutdown = async (signal: string) => {
    app.log.info(`received ${signal}, shutting down`);
    await app.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  return -1;
}

try {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exitCode = code;
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`atelier: ${(error as Error).stack ?? String(error)}\n`);
  }
  process.exitCode = 1;
}
