// scripts/check-schema.mjs, run by CI: a breaking change of schema.graphql against the
// previous commit fails unless the SDK's version marks it; additions pass. Checked in a
// scratch git repository with two commits.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, '../../../scripts/check-schema.mjs');
const V1 = 'type Query { run(id: ID!): Run }\ntype Run { id: ID! status: String! seed: String }\n';

let repo: string;

async function git(...args: string[]) {
  await exec('git', args, { cwd: repo });
}

async function commit(schema: string, sdkVersion: string) {
  await writeFile(path.join(repo, 'schema.graphql'), schema);
  await writeFile(
    path.join(repo, 'packages/sdk/package.json'),
    JSON.stringify({ name: '@atelier/sdk', version: sdkVersion }),
  );
  await git('add', '-A');
  await git('commit', '-qm', `schema at ${sdkVersion}`);
}

/** Writes the working tree (uncommitted) and runs the check against HEAD. */
async function check(schema: string, sdkVersion: string) {
  await writeFile(path.join(repo, 'schema.graphql'), schema);
  await writeFile(
    path.join(repo, 'packages/sdk/package.json'),
    JSON.stringify({ name: '@atelier/sdk', version: sdkVersion }),
  );
  return exec(process.execPath, [SCRIPT, '--base', 'HEAD'], {
    cwd: repo,
    env: { ...process.env, CHECK_SCHEMA_ROOT: repo },
  }).then(
    ({ stdout }) => ({ code: 0, out: stdout }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      out: error.stdout + error.stderr,
    }),
  );
}

describe('check-schema', () => {
  beforeAll(async () => {
    repo = await mkdtemp(path.join(tmpdir(), 'atelier-schema-'));
    await mkdir(path.join(repo, 'packages/sdk'), { recursive: true });
    await git('init', '-q');
    await git('config', 'user.email', 'ci@example.com');
    await git('config', 'user.name', 'ci');
    await commit(V1, '0.1.0');
  });
  afterAll(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it('an added field passes', async () => {
    const result = await check(V1.replace('seed: String', 'seed: String cost: Int'), '0.1.0');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/no breaking change/);
  });

  it('a removed field fails, naming it, unless the SDK version marks the break', async () => {
    const removed = V1.replace(' seed: String', '');
    const unmarked = await check(removed, '0.1.1');
    expect(unmarked.code).toBe(1);
    expect(unmarked.out).toMatch(/FIELD_REMOVED: Run\.seed was removed/);
    expect(unmarked.out).toMatch(/bumping the minor version in packages\/sdk\/package\.json/);
    const marked = await check(removed, '0.2.0');
    expect(marked.code).toBe(0);
    expect(marked.out).toMatch(/marked by the SDK version bump/);
  });

  it('a changed type fails too', async () => {
    const result = await check(V1.replace('status: String!', 'status: Int!'), '0.1.0');
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/FIELD_CHANGED_KIND: Run\.status changed type/);
  });
});
