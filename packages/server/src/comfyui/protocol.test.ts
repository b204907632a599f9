// Unit tests of the wire formats and the pure rules: binary preview frames, output
// classification by bytes, progress weighting, error mapping.
import { describe, expect, test } from 'vitest';
import {
  encodePreviewImage,
  encodePreviewWithMetadata,
} from '../../../comfyui-sandbox/src/index.ts';
import { executionErrorFrom, isMissingInputFile, summarizePromptError } from './errors.ts';
import { classifyOutput } from './outputs.ts';
import { ProgressModel } from './progress.ts';
import { decodeBinaryFrame, fileRefs } from './protocol.ts';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const PNG = Buffer.from('89504e470d0a1a0a0000000d', 'hex');

describe('binary frames', () => {
  test('event 1: big-endian format word, image after 8 bytes, no prompt id', () => {
    const frame = decodeBinaryFrame(encodePreviewImage('PNG', PNG));
    expect(frame).toMatchObject({ event: 1, mimeType: 'image/png', promptId: null, nodeId: null });
    expect(frame?.data.equals(PNG)).toBe(true);
    expect(decodeBinaryFrame(encodePreviewImage('JPEG', JPEG))?.mimeType).toBe('image/jpeg');
  });

  test('event 4: metadata JSON (length-prefixed) names the prompt and node', () => {
    const frame = decodeBinaryFrame(
      encodePreviewWithMetadata('JPEG', JPEG, {
        node_id: '12.0.0.1',
        prompt_id: 'p-1',
        display_node_id: '12',
        parent_node_id: '12',
        real_node_id: '12',
      }),
    );
    expect(frame).toMatchObject({
      event: 4,
      mimeType: 'image/jpeg',
      promptId: 'p-1',
      nodeId: '12',
    });
    expect(frame?.data.equals(JPEG)).toBe(true);
  });

  test('TEXT frames, unknown events and truncated frames are not previews', () => {
    const text = Buffer.alloc(12);
    text.writeUInt32BE(3, 0);
    expect(decodeBinaryFrame(text)).toBeNull();
    const bad = Buffer.alloc(10);
    bad.writeUInt32BE(4, 0);
    bad.writeUInt32BE(500, 4);
    expect(decodeBinaryFrame(bad)).toBeNull();
    expect(decodeBinaryFrame(Buffer.from([0, 0, 0, 1]))).toBeNull();
  });
});

describe('outputs', () => {
  test('every key of every node, `animated` per node, duplicates once, text skipped', () => {
    const refs = fileRefs({
      '9': {
        images: [
          { filename: 'a.mp4', subfolder: 'video', type: 'output' },
          { filename: 'a.mp4', subfolder: 'video', type: 'output' },
        ],
        animated: [true],
      },
      '10': { audio: [{ filename: 'b.flac', subfolder: 'audio', type: 'output' }] },
      '11': { gifs: [{ filename: 'c.webm', subfolder: '', type: 'output' }], text: ['hello'] },
    });
    expect(refs.map((r) => [r.nodeId, r.filename, r.animated])).toEqual([
      ['9', 'a.mp4', true],
      ['10', 'b.flac', false],
      ['11', 'c.webm', false],
    ]);
  });

  const riff = (form: string, extra = Buffer.alloc(0)) =>
    Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from(form), extra]);

  test.each([
    ['x.png', PNG, false, 'IMAGE', 'image/png'],
    ['x.png', PNG, true, 'VIDEO', 'image/png'],
    ['x.jpg', Buffer.concat([JPEG, Buffer.alloc(8)]), false, 'IMAGE', 'image/jpeg'],
    ['x.gif', Buffer.from('GIF89a......'), true, 'IMAGE', 'image/gif'],
    ['x.webp', riff('WEBP', Buffer.from('VP8 xxxxxxxx')), false, 'IMAGE', 'image/webp'],
    ['x.webp', riff('WEBP', Buffer.from('VP8 xxxxxxxx')), true, 'VIDEO', 'image/webp'],
    [
      'x.webp',
      riff('WEBP', Buffer.concat([Buffer.from('VP8X'), Buffer.alloc(4), Buffer.from([0x02])])),
      false,
      'VIDEO',
      'image/webp',
    ],
    ['x.mp4', Buffer.from('\0\0\0\x20ftypisom....'), true, 'VIDEO', 'video/mp4'],
    ['x.bin', Buffer.from('\0\0\0\x20ftypisom....'), false, 'VIDEO', 'video/mp4'],
    [
      'x.webm',
      Buffer.from('1a45dfa3a34286810142f7810142f2810442f381084282847765626d', 'hex'),
      false,
      'VIDEO',
      'video/webm',
    ],
    ['x.wav', riff('WAVE'), false, 'AUDIO', 'audio/wav'],
    ['x.flac', Buffer.from('fLaC\0\0\0\x22........'), false, 'AUDIO', 'audio/flac'],
    ['x.mp3', Buffer.from('ID3\x04\0\0\0\0\0\0\0\0'), false, 'AUDIO', 'audio/mpeg'],
    ['x.opus', Buffer.from('OggS\0\x02........OpusHead'), false, 'AUDIO', 'audio/ogg'],
    ['x.m4a', Buffer.from('\0\0\0\x20ftypM4A ....'), false, 'AUDIO', 'audio/mp4'],
    ['renamed.png', Buffer.from('fLaC\0\0\0\x22........'), false, 'AUDIO', 'audio/flac'],
  ])('%s (animated %s) → %s %s', (name, data, animated, kind, mimeType) => {
    expect(classifyOutput(name, data, animated)).toEqual({ kind, mimeType });
  });

  test('files that are not media are skipped', () => {
    expect(classifyOutput('mesh.glb', Buffer.from('glTF\x02\0\0\0........'), false)).toBeNull();
  });
});

describe('progress', () => {
  test('nodes weigh 1, samplers their steps; monotonic; 1 only at completion', () => {
    const p = new ProgressModel({
      '1': { class_type: 'EmptyLatentImage', inputs: {} },
      '2': { class_type: 'KSampler', inputs: { steps: 8 } },
      '3': { class_type: 'SaveImage', inputs: {} },
    });
    p.start('1', null);
    expect(p.overall()).toBe(0);
    p.start('2', '1');
    expect(p.overall()).toBeCloseTo(1 / 10);
    p.step('2', 4, 8);
    expect(p.overall()).toBeCloseTo(5 / 10);
    // A node reporting more steps than predicted: its weight grows, the value does not drop.
    p.step('2', 5, 20);
    expect(p.overall()).toBeCloseTo(5 / 10);
    p.start('3', '2');
    expect(p.overall()).toBeCloseTo(21 / 22);
    p.finish(['3']);
    expect(p.overall()).toBe(0.99);
    expect(p.overall(true)).toBe(1);
  });
});

describe('errors', () => {
  test('OOM is recognised by exception type or message; other exceptions are NODE_ERROR', () => {
    const base = { prompt_id: 'p', node_id: '3', node_type: 'VAEDecode' };
    expect(
      executionErrorFrom(
        { ...base, exception_type: 'torch.OutOfMemoryError', exception_message: 'x\n' },
        'w',
      ).code,
    ).toBe('OUT_OF_MEMORY');
    expect(
      executionErrorFrom(
        {
          ...base,
          exception_type: 'RuntimeError',
          exception_message: 'CUDA error: out of memory\n',
        },
        'w',
      ).code,
    ).toBe('OUT_OF_MEMORY');
    const e = executionErrorFrom(
      { ...base, exception_type: 'ValueError', exception_message: 'bad size\nTIPS: none' },
      'w',
    );
    expect(e.code).toBe('NODE_ERROR');
    expect(e.message).toBe('ValueError: bad size in node 3 (VAEDecode)');
    expect(e.details).toEqual({
      nodeId: '3',
      nodeType: 'VAEDecode',
      detail: 'bad size\nTIPS: none',
      exceptionType: 'ValueError',
      worker: 'w',
    });
  });

  test('validation failures are summarised per node; a missing upload is recognised', () => {
    const body = {
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
      },
      node_errors: {
        '10': {
          class_type: 'LoadImage',
          errors: [
            {
              type: 'custom_validation_failed',
              message: 'Invalid image file',
              details: 'image - x.png',
            },
          ],
        },
      },
    };
    expect(summarizePromptError(body)).toEqual({
      message:
        'Prompt outputs failed validation: node 10 (LoadImage): Invalid image file: image - x.png',
      nodeId: '10',
      nodeType: 'LoadImage',
    });
    expect(isMissingInputFile(body, new Set(['10']))).toBe(true);
    expect(isMissingInputFile(body, new Set(['4']))).toBe(false);
  });
});
