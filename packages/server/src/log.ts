// A small leveled logger writing one line per entry to stderr.
import type { Config } from './config.ts';

export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

const ORDER = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function createLogger(level: Config['logLevel']): Logger {
  const min = ORDER.indexOf(level);
  const write =
    (lvl: (typeof ORDER)[number]) => (message: string, data?: Record<string, unknown>) => {
      if (ORDER.indexOf(lvl) < min) return;
      const extra = data && Object.keys(data).length ? ` ${JSON.stringify(data)}` : '';
      process.stderr.write(`${new Date().toISOString()} ${lvl.toUpperCase()} ${message}${extra}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
