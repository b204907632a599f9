// Video and audio nodes: real, playable files through the bundled ffmpeg (and sharp for
// animated WebP), reported under the UI keys ComfyUI uses (`images` + `animated`, `audio`).
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { resize, rgbOnly } from '../images.ts';
import {
  FFMPEG_PATH,
  synthesizeMelody,
  writeApng,
  writeAudio,
  writeMp4,
  writeWebm,
} from '../media.ts';
import type { AudioValue, ImageValue, RawImage, VideoValue } from '../values.ts';
import { type NodeContext, NodeError, type NodeImpl, type NodeResult } from './context.ts';
import { annotatedPath, fileName, saveImagePath, tempPrefix } from './files.ts';
import { audio, bool, image, latent, num, optAudio, str, video } from './inputs.ts';

/** All frames at the first frame's size (ffmpeg needs one size). */
async function uniform(frames: RawImage[]): Promise<RawImage[]> {
  const first = frames[0];
  if (!first) throw new NodeError('No frames to save', 'ValueError');
  const out: RawImage[] = [];
  for (const f of frames) out.push(rgbOnly(await resize(f, first.width, first.height)));
  return out;
}

/** Frames made uniform, and the next output file name for a save node writing `ext`. */
async function animatedTarget(
  ctx: NodeContext,
  frames: RawImage[],
  defaultPrefix: string,
  ext: string,
) {
  const uniformFrames = await uniform(frames);
  const first = uniformFrames[0]!;
  const p = saveImagePath(
    str(ctx, 'filename_prefix', defaultPrefix),
    ctx.dirs.output,
    first.width,
    first.height,
  );
  const file = fileName(p.filename, p.counter, ext);
  return {
    frames: uniformFrames,
    first,
    file,
    path: path.join(p.folder, file),
    subfolder: p.subfolder,
  };
}

function animatedUi(file: string, subfolder: string): NodeResult['ui'] {
  return { images: [{ filename: file, subfolder, type: 'output' }], animated: [true] };
}

async function saveAudio(
  ctx: NodeContext,
  format: 'flac' | 'mp3' | 'opus',
  temp: boolean,
): Promise<NodeResult> {
  const value = audio(ctx, 'audio');
  const prefix = temp ? tempPrefix() : str(ctx, 'filename_prefix', 'audio/ComfyUI');
  const dir = temp ? ctx.dirs.temp : ctx.dirs.output;
  const p = saveImagePath(prefix, dir);
  const file = fileName(p.filename, p.counter, format);
  const quality = typeof ctx.inputs.quality === 'string' ? ctx.inputs.quality : undefined;
  await writeAudio(path.join(p.folder, file), value, format, quality);
  return {
    outputs: [value],
    ui: { audio: [{ filename: file, subfolder: p.subfolder, type: temp ? 'temp' : 'output' }] },
  };
}

function decodeAudioFile(file: string, sampleRate = 44100): Promise<AudioValue> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      FFMPEG_PATH,
      ['-v', 'error', '-i', file, '-f', 'f32le', '-ac', '2', '-ar', String(sampleRate), 'pipe:1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new NodeError(`Failed to load audio: ${stderr.trim()}`, 'RuntimeError'));
        return;
      }
      const buf = Buffer.concat(chunks);
      const n = Math.floor(buf.length / 8);
      const left = new Float32Array(n);
      const right = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        left[i] = buf.readFloatLE(i * 8);
        right[i] = buf.readFloatLE(i * 8 + 4);
      }
      resolve({ kind: 'AUDIO', sampleRate, channels: [left, right] });
    });
  });
}

export const avNodes: Record<string, NodeImpl> = {
  async CreateVideo(ctx) {
    const frames = image(ctx, 'images').frames;
    const v: VideoValue = { kind: 'VIDEO', frames, fps: num(ctx, 'fps', 30) };
    const a = optAudio(ctx, 'audio');
    if (a) v.audio = a;
    return { outputs: [v] };
  },

  async GetVideoComponents(ctx) {
    const v = video(ctx, 'video');
    const silent: AudioValue = {
      kind: 'AUDIO',
      sampleRate: 44100,
      channels: [new Float32Array(0)],
    };
    const images: ImageValue = { kind: 'IMAGE', frames: v.frames };
    return { outputs: [images, v.audio ?? silent, v.fps, 8] };
  },

  async SaveVideo(ctx) {
    const v = video(ctx, 'video');
    const {
      frames,
      file,
      path: target,
      subfolder,
    } = await animatedTarget(ctx, v.frames, 'video/ComfyUI', 'mp4');
    // ComfyUI 783545f689a0 nests the codec in the container: `format.codec.encoding.crf`;
    // the older top-level `codec` is still declared (optional, hidden) and read as a fallback.
    const crf = num(ctx, 'format.codec.encoding.crf', num(ctx, 'codec.encoding.crf', 23));
    let wav: string | undefined;
    if (v.audio && (v.audio.channels[0]?.length ?? 0) > 0) {
      wav = path.join(ctx.dirs.temp, `${ctx.promptId}_${ctx.nodeId}_audio.wav`);
      await writeAudio(wav, v.audio, 'wav');
    }
    try {
      await writeMp4(target, frames, v.fps, wav, crf);
    } finally {
      if (wav) await rm(wav, { force: true });
    }
    return { outputs: [v], ui: animatedUi(file, subfolder) };
  },

  async SaveWEBM(ctx) {
    const {
      frames,
      file,
      path: target,
      subfolder,
    } = await animatedTarget(ctx, image(ctx, 'images').frames, 'ComfyUI', 'webm');
    const codec = str(ctx, 'codec', 'vp9') === 'av1' ? 'av1' : 'vp9';
    await writeWebm(target, frames, num(ctx, 'fps', 24), codec, num(ctx, 'crf', 32));
    return { outputs: [image(ctx, 'images')], ui: animatedUi(file, subfolder) };
  },

  async SaveAnimatedWEBP(ctx) {
    const {
      frames,
      first,
      file,
      path: target,
      subfolder,
    } = await animatedTarget(ctx, image(ctx, 'images').frames, 'ComfyUI', 'webp');
    const fps = num(ctx, 'fps', 6);
    const method = { default: 4, fastest: 0, slowest: 6 }[str(ctx, 'method', 'default')] ?? 4;
    const webp = await sharp(Buffer.concat(frames.map((f) => f.data)), {
      raw: {
        width: first.width,
        height: first.height * frames.length,
        channels: 3,
        pageHeight: first.height,
      },
    })
      .webp({
        lossless: bool(ctx, 'lossless', true),
        quality: num(ctx, 'quality', 80),
        effort: method,
        loop: 0,
        delay: frames.map(() => Math.round(1000 / fps)),
      })
      .toBuffer();
    await writeFile(target, webp);
    const ui: NodeResult['ui'] = {
      images: [{ filename: file, subfolder, type: 'output' }],
    };
    if (frames.length > 1) ui.animated = [true];
    return { outputs: [image(ctx, 'images')], ui };
  },

  async SaveAnimatedPNG(ctx) {
    const {
      frames,
      file,
      path: target,
      subfolder,
    } = await animatedTarget(ctx, image(ctx, 'images').frames, 'ComfyUI', 'png');
    await writeApng(target, frames, num(ctx, 'fps', 6));
    const ui: NodeResult['ui'] = {
      images: [{ filename: file, subfolder, type: 'output' }],
    };
    if (frames.length > 1) ui.animated = [true];
    return { outputs: [image(ctx, 'images')], ui };
  },

  async VAEDecodeAudio(ctx) {
    const l = latent(ctx, 'samples');
    const seconds = l.seconds > 0 ? l.seconds : 5;
    const s = l.sampled;
    return { outputs: [synthesizeMelody(s?.seed ?? 0, s?.text ?? '', seconds)] };
  },

  async LoadAudio(ctx) {
    const name = str(ctx, 'audio');
    const file = annotatedPath(name, ctx.dirs);
    if (!file) throw new NodeError(`Invalid audio file: ${name}`, 'ValueError');
    return { outputs: [await decodeAudioFile(file)] };
  },

  SaveAudio: (ctx) => saveAudio(ctx, 'flac', false),
  SaveAudioMP3: (ctx) => saveAudio(ctx, 'mp3', false),
  SaveAudioOpus: (ctx) => saveAudio(ctx, 'opus', false),
  PreviewAudio: (ctx) => saveAudio(ctx, 'flac', true),
};
