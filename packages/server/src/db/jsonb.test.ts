import { describe, expect, it } from 'vitest';
import { jsonbText } from './jsonb.ts';

describe('jsonbText', () => {
  it('replaces lone surrogates anywhere in the value and keeps pairs', () => {
    const text = jsonbText({ a: '\ud800x', b: ['\udc00', 'ok \ud83d\ude00'], n: 1, z: null });
    expect(JSON.parse(text)).toEqual({
      a: '\ufffdx',
      b: ['\ufffd', 'ok \ud83d\ude00'],
      n: 1,
      z: null,
    });
    expect(text).not.toMatch(/\\ud[89a-f]/i);
  });
});
