import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('uses the embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(4000);
    expect(config.database.kind).toBe('pglite');
    expect(config.storageSweepMs).toBe(60 * 60_000);
    expect(config.uploads).toEqual({
      maxFileBytes: 25 * 1024 * 1024,
      maxFiles: 4,
      maxPixels: 64_000_000,
      maxEdge: 2048,
      thumbnailEdge: 256,
      outputMetadata: 'strip',
    });
  });

  it('switches to PostgreSQL with DATABASE_URL and reads numbers from strings', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://localhost:5432/atelier',
      PORT: '8080',
      IMAGE_MAX_EDGE: '1024',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgresql://localhost:5432/atelier',
    });
    expect(config.port).toBe(8080);
    expect(config.uploads.maxEdge).toBe(1024);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', UPLOAD_MAX_FILES: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['DATABASE_URL', 'PORT', 'UPLOAD_MAX_FILES']);
    expect((error as ConfigError).message).toMatch(/PORT: must be a number/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(4000);
  });

  it('exports traces only with an OTLP endpoint, to its /v1/traces', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      serviceName: 'atelier',
    });
    // The signal's own endpoint is the full URL, and wins.
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp',
        OTEL_SERVICE_NAME: 'atelier-eu',
      }).tracing,
    ).toEqual({ url: 'https://traces.example.com/otlp', serviceName: 'atelier-eu' });
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL/,
    );
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});
