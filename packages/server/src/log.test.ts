import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, yogaLogging } from './log.ts';

/** A stream that keeps every line written to it (a destination for pino and pino-pretty). */
function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    destination,
  };
}

describe('logger', () => {
  it('writes one JSON object per line with level, time and msg', () => {
    const out = capture();
    const log = createLogger('debug', { destination: out.destination, format: 'json' });
    log.info('server ready', { port: 4000 });
    log.debug('detail');
    expect(out.lines).toHaveLength(2);
    const [ready, detail] = out.records();
    expect(ready).toMatchObject({ level: 'info', msg: 'server ready', port: 4000 });
    expect(new Date(ready!.time as string).toISOString()).toBe(ready!.time);
    expect(detail).toMatchObject({ level: 'debug', msg: 'detail' });
  });

  it('drops entries below its level and writes nothing when silent', () => {
    const out = capture();
    const log = createLogger('warn', { destination: out.destination, format: 'json' });
    log.debug('no');
    log.info('no');
    log.warn('yes');
    log.error('yes too');
    expect(out.records().map((r) => r.level)).toEqual(['warn', 'error']);
    const silent = capture();
    createLogger('silent', { destination: silent.destination, format: 'json' }).error('x');
    expect(silent.lines).toEqual([]);
  });

  it('writes an Error in the data with its type, message, stack and cause', () => {
    const out = capture();
    const log = createLogger('info', { destination: out.destination, format: 'json' });
    const cause = new TypeError('socket hang up');
    log.error('queue upkeep failed', { error: new Error('upkeep', { cause }), runId: 'r1' });
    const [record] = out.records();
    const error = record!.error as { type: string; message: string; stack: string };
    expect(record).toMatchObject({ level: 'error', msg: 'queue upkeep failed', runId: 'r1' });
    expect(error.type).toBe('Error');
    expect(error.message).toContain('upkeep');
    expect(error.stack).toMatch(/^Error: upkeep\n\s+at /);
    expect(error.stack).toContain('log.test.ts');
    expect(error.stack).toContain('caused by: TypeError: socket hang up');
  });

  it('logs what Yoga logs, an Error among the arguments with its stack', () => {
    const out = capture();
    const yoga = yogaLogging(
      createLogger('debug', { destination: out.destination, format: 'json' }),
    );
    yoga.error(new Error('resolver exploded'));
    yoga.warn('deprecated', { field: 'x' });
    const [failed, warned] = out.records();
    expect(failed).toMatchObject({ level: 'error', msg: 'resolver exploded' });
    expect((failed!.error as { stack: string }).stack).toMatch(/^Error: resolver exploded\n/);
    expect(warned).toMatchObject({ level: 'warn', msg: "deprecated { field: 'x' }" });
  });

  it('writes for people with pino-pretty when asked', () => {
    const out = capture();
    const log = createLogger('info', { destination: out.destination, format: 'pretty' });
    log.warn('careful', { error: new Error('kaboom') });
    const text = out.lines.join('\n');
    expect(text).toMatch(/WARN.*careful/);
    expect(text).toContain('Error: kaboom');
    expect(() => JSON.parse(out.lines[0]!)).toThrow();
  });
});
