import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';

describe('HTTP server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers /healthz and /readyz (database reachable)', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: true });
  });

  it('exposes Prometheus metrics at /metrics', async () => {
    // Ready before its sandbox answered: the worker's figures count once it did.
    await server.app.services.executor.probed();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE atelier_runs gauge$/m);
    expect(text).toMatch(/^atelier_runs\{status="QUEUED"\} \d+$/m);
    expect(text).toMatch(
      /^atelier_worker_up\{url="http:\/\/127\.0\.0\.1:\d+",sandbox="true"\} 1$/m,
    );
    expect(text).toMatch(/^atelier_pool_capacity 2$/m);
  });

  it('serves GraphiQL at /graphql to browsers', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/graphiql/i);
  });

  it('masks unexpected errors and reports GraphQL validation errors', async () => {
    const result = await server.gql('{ noSuchField }');
    expect(result.errors?.[0]?.message).toMatch(/Cannot query field "noSuchField"/);
  });

  it('passes every MUST audit of the graphql-http server audit suite', async () => {
    const results = await auditServer({ url: `${server.url}/graphql` });
    const failed = results.filter((r) => r.status !== 'ok');
    const mustFailures = failed.filter((r) => r.name.startsWith('MUST'));
    const shouldFailures = failed.filter((r) => r.name.startsWith('SHOULD'));
    if (shouldFailures.length) {
      console.info(
        `graphql-http SHOULD audits not met (${shouldFailures.length}):\n${shouldFailures
          .map((r) => `  - ${r.name}${'reason' in r ? `: ${r.reason}` : ''}`)
          .join('\n')}`,
      );
    }
    expect(results.length).toBeGreaterThan(20);
    expect(mustFailures.map((r) => `${r.name}${'reason' in r ? `: ${r.reason}` : ''}`)).toEqual([]);
  });
});

describe('one executing process per ATELIER_HOME', () => {
  it('a second executing server on the same home is refused with the reason; after stop it starts', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-test-'));
    const state = {
      home,
      database: { kind: 'pglite' as const, dataDir: null },
      dispose: async () => {},
    };
    try {
      const first = await startTestServer({}, state);
      const second = startTestServer({}, state);
      await expect(second).rejects.toThrow(
        new RegExp(
          `ATELIER_HOME: ${home} is in use by process ${process.pid}, which executes runs`,
        ),
      );
      // An API replica executes nothing: it may share the home.
      const api = await startTestServer({}, state, { worker: false });
      await api.stop();
      await first.stop();
      const again = await startTestServer({}, state);
      await again.stop();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
