// Fuzz: more than 300 malformed inputs (multipart bodies, GraphQL documents and variables, JSON
// bodies, WebSocket handshakes, messages and frames, media Range headers, ids and signatures)
// thrown at the real server running as a child process, so a crash shows as the process
// exiting. Every input must get an answer in bounded time (or, for bodies the client aborts,
// a closed socket), never a 5xx; GraphQL answers are JSON with `data` or `errors`, never a
// stack trace nor a masked internal error; the process stays alive, /healthz answers after
// every family, and its RSS stays bounded. The corpus is deterministic (seeded PRNG), see
// fixtures/fuzz-corpus.ts; it includes the NUL-in-the-file-name upload that used to kill the
// process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/db/paths.ts';
import {
  createKeyCli,
  freePort,
  pool,
  probeWebSocket,
  type RawOutcome,
  readRss,
  type ServerProcess,
  sendRaw,
  startServerProcess,
  type WsResult,
} from './fixtures/fuzz-client.ts';
import {
  buildCorpus,
  FAMILIES,
  type Family,
  type FuzzCase,
  type HttpCase,
  type WsCase,
} from './fixtures/fuzz-corpus.ts';
import { solid } from './fixtures/images.ts';
import { uploadOk, uuidOf } from './fixtures/upload.ts';

/** Modest, so a loaded 2-core machine keeps up; the server sees several requests at once. */
const CONCURRENCY = 8;
/** Per input: an answer takes milliseconds; a hang fails the input instead of the suite. */
const CASE_TIMEOUT_MS = 10_000;
/**
 * Resident memory growth allowed from the warm-up (after the first family) to the end. One
 * pass grows RSS by 60–105 MB on a 2-core machine: the ~2 MB bodies and 200,000-deep JSON of
 * the later families grow V8's heap, which it does not hand back soon (with the old space
 * capped at 160 MB, forty passes of the multipart family level off instead of growing). A
 * server that keeps request bodies, parsers or sockets per input grows far past this bound:
 * the corpus sends ~40 MB in all, and each kept 2 MB body costs several copies.
 */
const RSS_GROWTH_LIMIT = 150 * 1024 * 1024;
const MB = 1024 * 1024;

interface CaseReport {
  family: Family;
  name: string;
  /** Short label for the histogram: an HTTP status, `closed`, `timeout`, `ws:<code>`… */
  label: string;
  problem: string | null;
  detail: string;
}

describe.skipIf(process.env.ATELIER_TEST_DB === 'postgres')('fuzz: malformed inputs', () => {
  let home = '';
  let server: ServerProcess | null = null;
  let corpus: Record<Family, FuzzCase[]>;
  const reports: CaseReport[] = [];
  const rss: { start: number | null; warm: number | null; end: number | null } = {
    start: null,
    warm: null,
    end: null,
  };
  const durations: Partial<Record<Family, number>> = {};
  const rssAfter: Partial<Record<Family, number | null>> = {};

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'atelier-fuzz-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ATELIER_HOME: home,
      HOST: '127.0.0.1',
      AUTH_MODE: 'keys',
      LOG_LEVEL: 'warn',
      SANDBOX_STEP_DELAY_MS: '0',
      // The fuzzer sends hundreds of requests with one key: no throttling.
      RATE_LIMIT_PER_MINUTE: '0',
    };
    // This file does not depend on the database flavour: embedded PGlite only.
    delete env.DATABASE_URL;
    // No server runs yet on this home, so the CLI opens the database itself.
    const key = await createKeyCli(REPO_ROOT, env, 'fuzz', 1000);
    const port = await freePort();
    server = await startServerProcess(REPO_ROOT, { ...env, PORT: String(port) }, port);
    rss.start = await readRss(server.child.pid!);
    const png = await solid(48, 32, 'png', '#3366aa');
    const media = await uploadOk(server.url, png, { apiKey: key });
    corpus = buildCorpus({
      host: `127.0.0.1:${port}`,
      key,
      png,
      media: {
        id: uuidOf(media),
        bytes: media.bytes,
        url: media.url,
        thumbnailUrl: media.thumbnailUrl,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (home) await rm(home, { recursive: true, force: true });
    if (!reports.length) return;
    // FUZZ_REPORT=<file> keeps every input's outcome, for looking at more than the failures.
    if (process.env.FUZZ_REPORT) {
      await writeFile(process.env.FUZZ_REPORT, JSON.stringify(reports, null, 2));
    }
    const histogram = new Map<string, number>();
    for (const report of reports)
      histogram.set(report.label, (histogram.get(report.label) ?? 0) + 1);
    const perFamily = FAMILIES.map(
      (f) =>
        `${f} ${reports.filter((r) => r.family === f).length} (${((durations[f] ?? 0) / 1000).toFixed(1)} s)`,
    ).join(', ');
    const mb = (n: number | null) => (n === null ? 'n/a' : `${(n / MB).toFixed(0)} MB`);
    console.info(
      [
        `fuzz: ${reports.length} cases: ${perFamily}`,
        `  answers: ${[...histogram.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([label, n]) => `${label}×${n}`)
          .join(' ')}`,
        `  RSS: start ${mb(rss.start)}, after warm-up ${mb(rss.warm)}, end ${mb(rss.end)}; after each family: ${FAMILIES.map((f) => `${f} ${mb(rssAfter[f] ?? null)}`).join(', ')}`,
        `  failing: ${reports.filter((r) => r.problem).length}`,
      ].join('\n'),
    );
  });

  /** Throws one family's cases at the server; returns the reports of the failing ones. */
  async function runFamily(family: Family): Promise<string[]> {
    const started = performance.now();
    const results = await pool(corpus[family], CONCURRENCY, (c) =>
      c.kind === 'http' ? runHttp(c) : runWs(c),
    );
    durations[family] = performance.now() - started;
    rssAfter[family] = await readRss(server!.child.pid!);
    reports.push(...results);
    return results
      .filter((r) => r.problem)
      .map((r) => `[${r.family}] ${r.name}: ${r.problem}\n    ${r.detail}`);
  }

  async function runHttp(c: HttpCase): Promise<CaseReport> {
    const outcome = await sendRaw(server!.port, { ...c.send, timeoutMs: CASE_TIMEOUT_MS });
    const label =
      outcome.kind === 'response'
        ? Number.isNaN(outcome.response.status)
          ? 'unparsable'
          : String(outcome.response.status)
        : outcome.kind;
    return {
      family: c.family,
      name: c.name,
      label,
      problem: judgeHttp(c, outcome),
      detail: `sent ${describeSent(c)}; got ${describeOutcome(outcome)}`,
    };
  }

  async function runWs(c: WsCase): Promise<CaseReport> {
    const result = await probeWebSocket({
      url: `${server!.url.replace(/^http/, 'ws')}${c.path ?? '/graphql'}`,
      frames: c.frames,
      timeoutMs: CASE_TIMEOUT_MS,
      ...(c.protocols ? { protocols: c.protocols } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.until ? { until: c.until } : {}),
    });
    const label =
      result.httpStatus !== null
        ? `ws:http${result.httpStatus}`
        : result.closeCode !== null
          ? `ws:${result.closeCode}`
          : result.timedOut
            ? 'ws:timeout'
            : 'ws:answered';
    return {
      family: c.family,
      name: c.name,
      label,
      problem: judgeWs(c, result),
      detail: `protocols ${JSON.stringify(c.protocols ?? [])}, headers ${JSON.stringify(c.headers ?? {})}, frames ${preview(JSON.stringify(c.frames), 300)}; got ${describeWs(result)}`,
    };
  }

  /** The child is alive and /healthz answers 200; returns a problem or null. */
  async function health(): Promise<string | null> {
    if (!server!.alive()) {
      return `server exited (${server!.child.exitCode ?? server!.child.signalCode}):\n${server!.output().slice(-8_000)}`;
    }
    const res = await fetch(`${server!.url}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(
      (error: Error) => error,
    );
    if (res instanceof Error)
      return `/healthz failed: ${res.message}\n${server!.output().slice(-8_000)}`;
    return res.status === 200 ? null : `/healthz answered ${res.status}`;
  }

  it('builds at least 300 inputs, 40 or more per family', () => {
    const counts = Object.fromEntries(FAMILIES.map((f) => [f, corpus[f].length]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total, JSON.stringify(counts)).toBeGreaterThanOrEqual(300);
    for (const family of FAMILIES) {
      expect(counts[family], family).toBeGreaterThanOrEqual(40);
    }
    // The upload that used to kill the process is part of it.
    expect(corpus.multipart.some((c) => /NUL and U\+202E in the file name/.test(c.name))).toBe(
      true,
    );
  });

  for (const family of FAMILIES) {
    it(`${family}: every input gets a typed or 4xx answer, the server stays up`, async () => {
      expect(await health(), 'server unhealthy before this family').toBeNull();
      const failures = await runFamily(family);
      // The first family warms up the parsers, pools and caches the rest also use.
      if (family === FAMILIES[0]) rss.warm = await readRss(server!.child.pid!);
      const problem = await health();
      expect(problem, `server unhealthy after the ${family} family`).toBeNull();
      expect(failures, `server output:\n${server!.output().slice(-4_000)}`).toEqual([]);
    }, 120_000);
  }

  it('keeps its resident memory bounded', async () => {
    expect(await health()).toBeNull();
    rss.end = await readRss(server!.child.pid!);
    if (process.platform !== 'linux') return; // /proc/<pid>/status is Linux's
    expect(rss.warm, 'RSS after warm-up').not.toBeNull();
    expect(rss.end, 'RSS at the end').not.toBeNull();
    const growth = rss.end! - rss.warm!;
    expect(
      growth,
      `RSS grew ${(growth / MB).toFixed(0)} MB (warm ${(rss.warm! / MB).toFixed(0)} MB → end ${(rss.end! / MB).toFixed(0)} MB)`,
    ).toBeLessThan(RSS_GROWTH_LIMIT);
  });

  it('still shuts down cleanly on SIGTERM', async () => {
    expect(await health()).toBeNull();
    const exit = await server!.stop();
    expect(exit, server!.output().slice(-4_000)).toEqual({ code: 0, signal: null, killed: false });
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Judging answers

/** Bodies that leak a stack trace (`    at fn (file.ts:12:34)`). */
const STACK_TRACE = /\n\s+at \S.*:\d+:\d+\)?/;

function judgeHttp(c: HttpCase, outcome: RawOutcome): string | null {
  if (outcome.kind === 'timeout') return `no answer within ${CASE_TIMEOUT_MS} ms (hang)`;
  if (outcome.kind === 'closed') {
    return c.mayClose
      ? null
      : `connection closed without an answer (${outcome.error ?? 'EOF'}, ${outcome.received} bytes)`;
  }
  const r = outcome.response;
  if (Number.isNaN(r.status)) return 'the answer is not HTTP';
  if (r.status >= 500) return `HTTP ${r.status}`;
  const text = r.body.toString();
  if (STACK_TRACE.test(text)) return 'the answer holds a stack trace';
  if (c.graphql && r.status !== 101) {
    const problem = judgeGraphQLBody(r.status, r.headers['content-type'] ?? '', text);
    if (problem) return problem;
  }
  if (c.status && !c.status.includes(r.status)) {
    return `expected HTTP ${c.status.join('|')}, got ${r.status}`;
  }
  return c.check?.(r) ?? null;
}

/**
 * A GraphQL answer: 200 must be JSON `{ data | errors }`; any JSON answer must parse; no
 * error may be the masked "Unexpected error." (an exception the server did not expect: the
 * 5xx of GraphQL, even when it travels in a 200).
 */
function judgeGraphQLBody(status: number, contentType: string, text: string): string | null {
  const isJson = /json/i.test(contentType);
  if (status === 200 && !isJson) return `200 with content type "${contentType}"`;
  if (!isJson) return null;
  let body: { data?: unknown; errors?: { message?: unknown; extensions?: { code?: unknown } }[] };
  try {
    body = JSON.parse(text);
  } catch {
    return 'JSON content type, body not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'the answer is not a JSON object';
  }
  if (!('data' in body) && !('errors' in body)) return 'the answer has neither data nor errors';
  return internalError(body.errors);
}

function internalError(errors: unknown): string | null {
  if (!Array.isArray(errors)) return null;
  for (const error of errors as { message?: unknown; extensions?: { code?: unknown } }[]) {
    if (
      error?.message === 'Unexpected error.' ||
      error?.extensions?.code === 'INTERNAL_SERVER_ERROR'
    ) {
      return `internal server error masked in the answer: ${JSON.stringify(error).slice(0, 300)}`;
    }
  }
  return null;
}

/** Close codes that say the server refused the input; 1011/4500 are its own failures. */
function acceptableClose(code: number): boolean {
  return [1000, 1002, 1007, 1008, 1009].includes(code) || (code >= 4000 && code < 4500);
}

function judgeWs(c: WsCase, r: WsResult): string | null {
  if (r.timedOut) return `no close or answer within ${CASE_TIMEOUT_MS} ms (hang)`;
  if (r.httpStatus !== null && r.httpStatus >= 500) return `upgrade answered HTTP ${r.httpStatus}`;
  if (r.closeCode !== null && !acceptableClose(r.closeCode)) {
    if (!(r.closeCode === 1006 && c.clientMayAbort)) {
      return `closed with ${r.closeCode} ${r.closeReason}`;
    }
  }
  if (r.httpStatus === null && r.closeCode === null && !c.until) {
    return 'the socket neither closed nor was refused';
  }
  for (const message of r.messages) {
    if (message.raw !== undefined) return `a message that is not JSON: ${message.raw}`;
    const problem =
      message.type === 'error'
        ? internalError(message.payload)
        : message.type === 'next'
          ? internalError((message.payload as { errors?: unknown } | undefined)?.errors)
          : null;
    if (problem) return problem;
  }
  return c.check?.(r) ?? null;
}

function preview(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function describeSent(c: HttpCase): string {
  const all = Buffer.concat(c.send.chunks);
  return `${preview(JSON.stringify(all.subarray(0, 400).toString('latin1')), 500)} (${all.length} bytes, then ${c.send.after})`;
}

function describeOutcome(outcome: RawOutcome): string {
  if (outcome.kind === 'timeout')
    return `nothing after ${outcome.ms} ms (${outcome.received} bytes)`;
  if (outcome.kind === 'closed') {
    return `socket closed after ${outcome.ms} ms (${outcome.error ?? 'EOF'}, ${outcome.received} bytes)`;
  }
  const r = outcome.response;
  return `HTTP ${r.status} ${r.headers['content-type'] ?? ''} in ${outcome.ms} ms: ${preview(JSON.stringify(r.body.subarray(0, 300).toString()), 320)}`;
}

function describeWs(r: WsResult): string {
  return [
    r.httpStatus !== null
      ? `upgrade refused ${r.httpStatus}`
      : `opened ${r.opened} (${r.protocol})`,
    r.closeCode !== null ? `closed ${r.closeCode} "${r.closeReason}"` : 'not closed',
    r.clientError ? `client error "${r.clientError}"` : '',
    `messages ${preview(JSON.stringify(r.messages), 300)}`,
    `${r.ms} ms`,
  ]
    .filter(Boolean)
    .join(', ');
}
