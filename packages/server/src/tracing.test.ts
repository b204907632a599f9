import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { startTracing, traceStream, tracingEnabled, withSpan } from './tracing.ts';

const log = createLogger('silent');

interface Exported {
  name: string;
  spanId: string;
  parentSpanId?: string;
  status?: { code?: number; message?: string };
  events?: { name: string }[];
}

/** A loopback OTLP/HTTP collector keeping the spans it receives (or refusing them). */
async function collector(status = 200) {
  const spans: Exported[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (status !== 200) return void res.writeHead(status).end('no');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: Exported[] }[] }[];
      };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return { url, spans, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('tracing', () => {
  it('without an endpoint: no plugin, and withSpan only runs its function', async () => {
    const tracing = await startTracing(null, log);
    expect(tracing.plugin).toBeNull();
    expect(tracingEnabled()).toBe(false);
    const result = await withSpan('nothing', {}, async (span) => {
      expect(span.isRecording()).toBe(false);
      return 42;
    });
    expect(result).toBe(42);
    await tracing.shutdown();
  });

  it('apps started at once share one provider; the last to stop shuts it down', async () => {
    const otlp = await collector();
    try {
      const config = { url: otlp.url, serviceName: 'atelier-test' };
      const [a, b] = await Promise.all([startTracing(config, log), startTracing(config, log)]);
      expect(a.plugin).not.toBeNull();
      expect(b.plugin).toBe(a.plugin);
      await a.shutdown();
      expect(tracingEnabled()).toBe(true);
      await withSpan('after the first stopped', {}, async () => {});
      await b.shutdown();
      expect(tracingEnabled()).toBe(false);
      expect(otlp.spans.map((s) => s.name)).toEqual(['after the first stopped']);
    } finally {
      await otlp.close();
    }
  });

  it('a collector that refuses loses the spans with a warning, never fails the shutdown', async () => {
    const otlp = await collector(400);
    const lines: string[] = [];
    const warnLog = createLogger('warn', {
      format: 'json',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const tracing = await startTracing({ url: otlp.url, serviceName: 'atelier-test' }, warnLog);
    await withSpan('lost', {}, async () => {});
    await expect(tracing.shutdown()).resolves.toBeUndefined();
    expect(tracingEnabled()).toBe(false);
    const warning = JSON.parse(lines.find((l) => l.includes('could not export traces'))!);
    expect(warning).toMatchObject({ level: 'warn', url: otlp.url });
    expect(warning.error.stack).toMatch(/\n\s+at /);
    await otlp.close();
  });

  it('exports nested spans, failures with their exception, and stream lifetimes', async () => {
    const otlp = await collector();
    try {
      const tracing = await startTracing({ url: otlp.url, serviceName: 'atelier-test' }, log);
      expect(tracing.plugin).not.toBeNull();
      expect(tracingEnabled()).toBe(true);
      await withSpan('outer', { 'test.kind': 'outer' }, async () => {
        await withSpan('inner', {}, async () => {});
        await expect(
          withSpan('failing', {}, async () => {
            throw new Error('disk full');
          }),
        ).rejects.toThrow('disk full');
        await pipeline(
          traceStream('reading', {}, Readable.from([Buffer.from('abc')])),
          new Writable({ write: (_chunk, _encoding, done) => done() }),
        );
      });
      await tracing.shutdown();
      expect(tracingEnabled()).toBe(false);

      const byName = new Map(otlp.spans.map((s) => [s.name, s]));
      const outer = byName.get('outer')!;
      expect(outer.parentSpanId || undefined).toBeUndefined();
      expect(byName.get('inner')?.parentSpanId).toBe(outer.spanId);
      const failing = byName.get('failing')!;
      expect(failing.parentSpanId).toBe(outer.spanId);
      expect(failing.status).toMatchObject({ code: 2, message: 'disk full' }); // STATUS_CODE_ERROR
      expect(failing.events?.map((e) => e.name)).toContain('exception');
      expect(byName.get('reading')?.parentSpanId).toBe(outer.spanId);
    } finally {
      await otlp.close();
    }
  });
});
