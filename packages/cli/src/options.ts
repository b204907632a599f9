// What the client commands share: the server URL, mode names, usage errors and how typed
// refusals are printed.
import type { GenerationMode } from '@atelier/sdk';

/** A command line the command cannot run with; printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the commands talk to: --server, else ATELIER_URL, else the local default. */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.ATELIER_URL ?? 'http://127.0.0.1:4000';
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
  return `${refusal.code}${detail ? ` (${detail})` : ''}: ${refusal.message}`;
}

/** Rows as a plain-text table: columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)))
    .map((row) => `${row.join('  ')}\n`)
    .join('');
}
