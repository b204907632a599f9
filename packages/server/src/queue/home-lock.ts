// One executing process per ATELIER_HOME. The home holds the installation's instance id,
// which names the owner of the runs a process executes (leases), its ComfyUI slot holds and
// its registration: two live processes sharing it would take each other's runs for their
// own. The lock is a pid file; a file left by a process that died (kill -9) is taken over.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../auth/server-info.ts';
import { ConfigError } from '../config.ts';

const FILE = 'executor.pid';

/** Takes the home's executor lock; returns its release. Throws ConfigError when it is held. */
export async function lockExecutorHome(home: string): Promise<() => Promise<void>> {
  const file = path.join(home, FILE);
  await mkdir(home, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return async () => {
        const holder = await readFile(file, 'utf8').catch(() => '');
        if (Number(holder.trim()) === process.pid) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && processAlive(pid)) {
        throw new ConfigError([
          {
            variable: 'ATELIER_HOME',
            message: `${home} is in use by process ${pid}, which executes runs; give every executing process (serve, worker) its own ATELIER_HOME`,
          },
        ]);
      }
      await rm(file, { force: true }); // left by a process that is gone
    }
  }
}
