// $ATELIER_HOME/server.json: how `atelier keys` on the same machine reaches a running server.
// The embedded PGlite database can be opened by one process only, so while a server runs
// the command goes through it, authenticated with a per-start admin token that only the
// file's owner can read (mode 0600).
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ServerInfo {
  pid: number;
  /** Loopback URL of the running server. */
  url: string;
  /** Bearer token acting as an administrator for this server's lifetime. */
  adminToken: string;
}

const FILE = 'server.json';

export function newAdminToken(): string {
  return `atla_${randomBytes(32).toString('base64url')}`;
}

export async function writeServerInfo(home: string, info: ServerInfo): Promise<void> {
  await writeFile(path.join(home, FILE), `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

/** Removes the file if it still describes this server (another may have started since). */
export async function removeServerInfo(home: string, adminToken: string): Promise<void> {
  const current = await readServerInfo(home);
  if (current?.adminToken === adminToken) await rm(path.join(home, FILE), { force: true });
}

export async function readServerInfo(home: string): Promise<ServerInfo | null> {
  try {
    const info = JSON.parse(await readFile(path.join(home, FILE), 'utf8')) as Partial<ServerInfo>;
    if (
      typeof info.pid === 'number' &&
      typeof info.url === 'string' &&
      typeof info.adminToken === 'string'
    ) {
      return info as ServerInfo;
    }
    return null;
  } catch {
    return null;
  }
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
