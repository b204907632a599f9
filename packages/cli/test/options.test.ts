// The shared option helpers and how request errors read, in process.
import { AtelierRequestError } from '@atelier/sdk';
import { describe, expect, it } from 'vitest';
import { explainRequestError } from '../src/connection.ts';
import { describeRefusal, parseMode, serverUrl, table, UsageError } from '../src/options.ts';

describe('options', () => {
  it('parses modes by name or alias, in any case', () => {
    expect(parseMode('t2i')).toBe('TEXT_TO_IMAGE');
    expect(parseMode('image-to-video')).toBe('IMAGE_TO_VIDEO');
    expect(parseMode('MREF')).toBe('MULTI_REFERENCE');
    expect(() => parseMode('sideways')).toThrow(UsageError);
  });

  it('takes the server from --server, then ATELIER_URL, and wants http(s)', () => {
    expect(serverUrl('http://a:1', { ATELIER_URL: 'http://b:2' })).toBe('http://a:1');
    expect(serverUrl(undefined, { ATELIER_URL: 'https://b' })).toBe('https://b');
    expect(serverUrl(undefined, {})).toBe('http://127.0.0.1:4000');
    expect(() => serverUrl(undefined, { ATELIER_URL: 'localhost:4000' })).toThrow(
      'ATELIER_URL wants an http(s) URL, got "localhost:4000"',
    );
  });

  it('prints refusals in one line and tables padded', () => {
    expect(describeRefusal({ code: 'X', message: 'a\nb' }, 'model')).toBe('X (model): a b');
    expect(
      table([
        ['KEY', 'NAME'],
        ['a', 'Alpha'],
        ['long-key', 'B'],
      ]),
    ).toBe('KEY       NAME\na         Alpha\nlong-key  B\n');
  });
});

describe('explainRequestError', () => {
  const url = 'http://127.0.0.1:4000';

  it('names an unreachable server, through causes and aggregate errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const networkError = new TypeError('fetch failed', {
      cause: new AggregateError([refused], 'all failed'),
    });
    expect(explainRequestError(new AtelierRequestError('x', { networkError }), url)).toBe(
      `cannot reach the Atelier server at ${url} (ECONNREFUSED)`,
    );
  });

  it('tells a refused key from other GraphQL errors', () => {
    const refused = new AtelierRequestError('x', {
      graphQLErrors: [{ message: 'Unknown key.', extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(explainRequestError(refused, url)).toMatch(/refused the API key \(UNAUTHENTICATED/);
    const closed = new AtelierRequestError('x', { networkError: { code: 4403, reason: 'no' } });
    expect(explainRequestError(closed, url)).toMatch(/refused the API key \(WebSocket closed/);
    const other = new AtelierRequestError('x', { graphQLErrors: [{ message: 'Boom' }] });
    expect(explainRequestError(other, url)).toBe(
      `the server at ${url} answered with an error: Boom`,
    );
  });
});
