// What the client commands share: the server URL, mode names, the two kinds of failure and how
// typed refusals are printed.
import type { GenerationMode } from '@atelier/sdk';

/** A command line the command cannot run with: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The command ran and failed in a way it can explain (server unreachable, key refused, run
 * failed, file missing): one line on stderr, exit code 1, no stack.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Where the commands talk to: --server, else ATELIER_URL, else the local default. */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? env.ATELIER_URL ?? 'http://127.0.0.1:4000';
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    const from = flag !== undefined ? '--server' : 'ATELIER_URL';
    throw new UsageError(`${from} wants an http(s) URL, got "${url}"`);
  }
  return url;
}

/** The API key: --api-key, else ATELIER_API_KEY; none for servers in AUTH_MODE=local. */
export function apiKey(flag: string | undefined, env: NodeJS.ProcessEnv): string | null {
  return flag ?? env.ATELIER_API_KEY ?? null;
}

const MODE_ALIASES: Record<string, GenerationMode> = {
  T2I: 'TEXT_TO_IMAGE',
  I2I: 'IMAGE_TO_IMAGE',
  EDIT: 'EDIT',
  INPAINT: 'INPAINT',
  MULTI_REF: 'MULTI_REFERENCE',
  MREF: 'MULTI_REFERENCE',
  T2V: 'TEXT_TO_VIDEO',
  I2V: 'IMAGE_TO_VIDEO',
  T2A: 'TEXT_TO_AUDIO',
  I2A: 'IMAGE_TO_AUDIO',
};

const MODES: readonly GenerationMode[] = [
  'TEXT_TO_IMAGE',
  'IMAGE_TO_IMAGE',
  'EDIT',
  'INPAINT',
  'MULTI_REFERENCE',
  'TEXT_TO_VIDEO',
  'IMAGE_TO_VIDEO',
  'TEXT_TO_AUDIO',
  'IMAGE_TO_AUDIO',
];

/** Parses a mode: the enum name or a short alias (T2I, I2I, T2V, I2V, T2A, ...), any case. */
export function parseMode(value: string): GenerationMode {
  const key = value.trim().toUpperCase().replaceAll('-', '_');
  const mode = MODE_ALIASES[key] ?? MODES.find((m) => m === key);
  if (!mode) {
    throw new UsageError(
      `Unknown mode "${value}": use one of ${MODES.join(', ')} or ${Object.keys(MODE_ALIASES).join(', ')}`,
    );
  }
  return mode;
}

/** `CODE (detail): message`, the one-line form of a typed refusal. */
export function describeRefusal(refusal: { code: string; message: string }, detail?: string) {
  return `${refusal.code}${detail ? ` (${detail})` : ''}: ${oneLine(refusal.message)}`;
}

/** Text with its line breaks folded, so a message from elsewhere stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Rows as a plain-text table: columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)))
    .map((row) => `${row.join('  ')}\n`)
    .join('');
}
