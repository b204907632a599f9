// The process's logger: pino writing one JSON object per line to stderr (pino-pretty when
// stderr is a terminal). Callers see a small leveled interface; an Error anywhere at the top
// of `data` (`{ error }`, `{ err }`, ...) is written with its type, message, stack and cause.
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import pino, { type DestinationStream } from 'pino';
import type { Config } from './config.ts';

export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Where the lines go (default stderr, written synchronously so none is lost at exit). */
  destination?: DestinationStream;
  /** Default: `pretty` when stderr is a terminal, else `json`. */
  format?: LogFormat;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** A logger at `level` (`silent` writes nothing). */
export function createLogger(level: Config['logLevel'], options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination =
    format === 'pretty'
      ? prettyStream(options.destination)
      : (options.destination ?? pino.destination({ dest: 2, sync: true }));
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
  const write =
    (lvl: Level) =>
    (message: string, data?: Record<string, unknown>): void => {
      if (!logger.isLevelEnabled(lvl)) return;
      if (data) logger[lvl](serializeErrors(data), message);
      else logger[lvl](message);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** pino-pretty, loaded only when wanted (a production log goes out as JSON). */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pretty({
    destination: destination ?? 2,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid',
  });
}

/** Replaces top-level Error values by pino's err serialization (type, message, stack, cause). */
function serializeErrors(data: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(data)) {
    if (!(value instanceof Error)) continue;
    out ??= { ...data };
    out[key] = pino.stdSerializers.err(value);
  }
  return out ?? data;
}

/**
 * Yoga's logger on ours: its messages as text, an Error among the arguments logged with its
 * stack (Yoga logs unexpected errors it masks this way).
 */
export function yogaLogging(log: Logger) {
  const forward =
    (lvl: Level) =>
    (...args: unknown[]): void => {
      const error = args.find((a): a is Error => a instanceof Error);
      const text = args
        .filter((a) => a !== error)
        .map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 4, breakLength: Infinity })))
        .join(' ');
      log[lvl](text || (error?.message ?? ''), error ? { error } : undefined);
    };
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
  };
}
