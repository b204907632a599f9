// The sandbox's node specifications come from a real ComfyUI's `/object_info` answer: it takes
// what that ComfyUI takes (a socketless COLOR literal, SaveVideo's nested format/codec) and
// rejects what it rejects with the same error types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.ts';
import { allNodeSpecs, fallbackClasses, specsCommit } from './specs.ts';
import { getJson, type Loose, postJson, txt2img, WsClient } from './testing.ts';

let sb: Sandbox;
let ws: WsClient;

beforeAll(async () => {
  sb = await startSandbox({ log: false });
  ws = await WsClient.connect(sb.wsUrl('object-info-test'));
});

afterAll(async () => {
  await ws.close();
  await sb.stop();
});

/** Submits a prompt; on 200 waits until it finished and returns its history entry. */
async function run(prompt: Record<string, unknown>): Promise<Loose> {
  const r = await postJson(`${sb.url}/prompt`, { prompt, client_id: 'object-info-test' });
  expect(r.status, r.text).toBe(200);
  const id = r.json.prompt_id as string;
  await ws.finished(id);
  return ((await getJson(`${sb.url}/history/${id}`)) as Loose)[id];
}

async function rejected(prompt: Record<string, unknown>): Promise<Loose> {
  const r = await postJson(`${sb.url}/prompt`, { prompt });
  expect(r.status, r.text).toBe(400);
  expect(r.json.error).toMatchObject({ type: 'prompt_outputs_failed_validation' });
  return r.json.node_errors;
}

describe('specifications', () => {
  it('come from ComfyUI 783545f689a0 /object_info, GLSLShader from the static extraction', () => {
    expect(specsCommit()).toBe('783545f689a0');
    expect(fallbackClasses()).toEqual(['GLSLShader']);
    const specs = allNodeSpecs();
    expect(specs.TextOverlay?.inputs.required?.color).toMatchObject({
      type: 'COLOR',
      socketless: true,
    });
    expect(specs.CheckpointLoaderSimple?.inputs.required?.ckpt_name?.folder).toBe('checkpoints');
  });
});

describe('POST /prompt accepts what ComfyUI accepts', () => {
  it('runs a TextOverlay with "color": "#ffffff"', async () => {
    const entry = await run({
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      '2': {
        class_type: 'TextOverlay',
        inputs: {
          images: ['1', 0],
          text: 'Atelier',
          font_size: 10.0,
          color: '#ffffff',
          position: 'top',
          align: 'left',
          outline: true,
        },
      },
      '3': {
        class_type: 'SaveImage',
        inputs: { images: ['2', 0], filename_prefix: 'test/overlay' },
      },
    });
    expect(entry.status.status_str).toBe('success');
    const [image] = entry.outputs['3'].images;
    const png = await fetch(
      `${sb.url}/view?filename=${image.filename}&subfolder=${image.subfolder}&type=output`,
    );
    expect(png.status).toBe(200);
  });

  it('runs SaveVideo with its current inputs: format, format.codec, nested encoding', async () => {
    const entry = await run({
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 4, color: 0 } },
      '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 8 } },
      '3': {
        class_type: 'SaveVideo',
        inputs: {
          video: ['2', 0],
          filename_prefix: 'video/test',
          format: 'mp4',
          'format.codec': 'h264',
          'format.codec.encoding': 're-encode',
          'format.codec.encoding.crf': 28,
          'format.codec.encoding.color_space': 'auto',
        },
      },
    });
    expect(entry.status.status_str).toBe('success');
    expect(entry.outputs['3'].animated).toEqual([true]);
  });
});

describe('POST /prompt rejects what ComfyUI rejects, with its error types', () => {
  it('a missing required input: required_input_missing', async () => {
    const prompt = txt2img() as Loose;
    delete prompt['3'].inputs.cfg;
    const errors = await rejected(prompt);
    expect(errors['3']).toMatchObject({
      class_type: 'KSampler',
      errors: [
        {
          type: 'required_input_missing',
          message: 'Required input is missing',
          details: 'cfg',
          extra_info: { input_name: 'cfg' },
        },
      ],
    });
  });

  it('a value that is not in the combo list: value_not_in_list', async () => {
    const prompt = txt2img() as Loose;
    prompt['3'].inputs.sampler_name = 'euler_fast';
    const errors = await rejected(prompt);
    expect(errors['3'].class_type).toBe('KSampler');
    expect(errors['3'].errors[0]).toMatchObject({
      type: 'value_not_in_list',
      message: 'Value not in list',
      extra_info: { input_name: 'sampler_name', received_value: 'euler_fast' },
    });
    expect(errors['3'].errors[0].details).toMatch(/^sampler_name: 'euler_fast' not in /);
  });

  it('a link to an output of the wrong type: return_type_mismatch', async () => {
    const prompt = txt2img() as Loose;
    prompt['8'].inputs.vae = ['4', 1];
    const errors = await rejected(prompt);
    expect(errors['8']).toMatchObject({
      class_type: 'VAEDecode',
      errors: [
        {
          type: 'return_type_mismatch',
          details: 'vae, received_type(CLIP) mismatch input_type(VAE)',
          extra_info: { input_name: 'vae', received_type: 'CLIP', linked_node: ['4', 1] },
        },
      ],
    });
  });

  it('a missing sub-input of the selected dynamic combo option, named by its last segment', async () => {
    const errors = await rejected({
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 2, color: 0 } },
      '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 8 } },
      '3': {
        class_type: 'SaveVideo',
        inputs: {
          video: ['2', 0],
          filename_prefix: 'video/test',
          format: 'mp4',
          'format.codec': 'h264',
          'format.codec.encoding': 're-encode',
          'format.codec.encoding.color_space': 'auto',
        },
      },
    });
    expect(errors['3'].errors).toEqual([
      {
        type: 'required_input_missing',
        message: 'Required input is missing',
        details: 'crf',
        extra_info: { input_name: 'format.codec.encoding.crf' },
      },
    ]);
  });
});
