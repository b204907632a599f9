// What the server's commands (keys) share: where they write, usage errors and plain tables.
// The client commands (generate, models, styles) live in @atelier/cli, which has its own.

/** Where a command reads its environment and writes its output (process.* in real use). */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/** A command line the command cannot run with; printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Rows as a plain-text table: columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)))
    .map((row) => `${row.join('  ')}\n`)
    .join('');
}
