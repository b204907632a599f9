// Real media files through the ffmpeg binary bundled by @ffmpeg-installer/ffmpeg: H.264 MP4,
// VP9 WebM, animated PNG, FLAC, MP3 and Opus, plus the seeded melody the audio "decoder"
// produces.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { rgbOnly } from './images.ts';
import { hashString, prng } from './render.ts';
import type { AudioValue, RawImage } from './values.ts';

const require = createRequire(import.meta.url);

/** Path of the bundled ffmpeg binary. */
export const FFMPEG_PATH: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;

/** Runs ffmpeg with `args`, writing `inputs` to stdin in order; rejects with its stderr. */
export function runFfmpeg(args: string[], inputs: Buffer[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG_PATH, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
      stdio: [inputs.length ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`));
    });
    if (child.stdin) {
      child.stdin.on('error', () => {
        // ffmpeg closed its input early; its exit code tells what happened.
      });
      (async () => {
        for (const chunk of inputs) {
          if (!child.stdin!.write(chunk)) {
            await new Promise((r) => child.stdin!.once('drain', r));
          }
        }
        child.stdin!.end();
      })().catch(() => child.stdin?.destroy());
    }
  });
}

function rawFrames(frames: RawImage[]): { args: string[]; data: Buffer[]; w: number; h: number } {
  const first = frames[0]!;
  const w = first.width;
  const h = first.height;
  const data = frames.map((f) => {
    const rgb = rgbOnly(f);
    if (rgb.width !== w || rgb.height !== h) {
      throw new Error(`frame size ${rgb.width}x${rgb.height} differs from ${w}x${h}`);
    }
    return rgb.data;
  });
  return { args: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`], data, w, h };
}

const EVEN = 'pad=ceil(iw/2)*2:ceil(ih/2)*2';

/** Writes an H.264 MP4 (yuv420p, faststart), with AAC audio when given. */
export async function writeMp4(
  file: string,
  frames: RawImage[],
  fps: number,
  audioWav?: string,
  crf = 23,
): Promise<void> {
  const raw = rawFrames(frames);
  const args = [...raw.args, '-r', String(fps), '-i', 'pipe:0'];
  if (audioWav) args.push('-i', audioWav);
  args.push('-vf', EVEN, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf));
  args.push('-pix_fmt', 'yuv420p', '-movflags', '+faststart');
  if (audioWav) args.push('-c:a', 'aac', '-b:a', '128k', '-shortest');
  args.push('-f', 'mp4', file);
  await runFfmpeg(args, raw.data);
}

/** Writes a WebM: VP9 (or AV1 through libaom) at the given CRF. */
export async function writeWebm(
  file: string,
  frames: RawImage[],
  fps: number,
  codec: 'vp9' | 'av1',
  crf: number,
): Promise<void> {
  const raw = rawFrames(frames);
  const args = [...raw.args, '-r', String(fps), '-i', 'pipe:0', '-vf', EVEN];
  if (codec === 'av1') {
    args.push('-c:v', 'libaom-av1', '-strict', 'experimental', '-cpu-used', '8', '-row-mt', '1');
  } else {
    args.push('-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8');
  }
  args.push(
    '-b:v',
    '0',
    '-crf',
    String(Math.round(crf)),
    '-pix_fmt',
    'yuv420p',
    '-f',
    'webm',
    file,
  );
  await runFfmpeg(args, raw.data);
}

/** Writes an animated PNG that loops forever. */
export async function writeApng(file: string, frames: RawImage[], fps: number): Promise<void> {
  const raw = rawFrames(frames);
  await runFfmpeg(
    [...raw.args, '-r', String(fps), '-i', 'pipe:0', '-plays', '0', '-f', 'apng', file],
    raw.data,
  );
}

function interleavedF32(audio: AudioValue): Buffer {
  const channels = audio.channels;
  const n = channels[0]?.length ?? 0;
  const out = Buffer.alloc(n * channels.length * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels.length; c++) {
      out.writeFloatLE(channels[c]![i]!, (i * channels.length + c) * 4);
    }
  }
  return out;
}

export type AudioFormat = 'flac' | 'mp3' | 'opus' | 'wav';

/** Encodes audio to a file: FLAC, MP3 (V0 or a bitrate), Opus in Ogg, or PCM WAV. */
export async function writeAudio(
  file: string,
  audio: AudioValue,
  format: AudioFormat,
  quality?: string,
): Promise<void> {
  const args = [
    '-f',
    'f32le',
    '-ar',
    String(audio.sampleRate),
    '-ac',
    String(audio.channels.length),
  ];
  args.push('-i', 'pipe:0');
  switch (format) {
    case 'flac':
      args.push('-c:a', 'flac', '-f', 'flac');
      break;
    case 'mp3':
      if (!quality || quality === 'V0') args.push('-c:a', 'libmp3lame', '-q:a', '0');
      else args.push('-c:a', 'libmp3lame', '-b:a', quality);
      args.push('-f', 'mp3');
      break;
    case 'opus':
      args.push('-c:a', 'libopus', '-b:a', quality ?? '128k', '-ar', '48000', '-f', 'ogg');
      break;
    case 'wav':
      args.push('-c:a', 'pcm_s16le', '-f', 'wav');
      break;
  }
  args.push(file);
  await runFfmpeg(args, [interleavedF32(audio)]);
}

/**
 * A seeded melody: a few sine voices with soft envelopes on a pentatonic scale, stereo,
 * `seconds` long. Deterministic in (seed, text).
 */
export function synthesizeMelody(
  seed: number,
  text: string,
  seconds: number,
  sampleRate = 44100,
): AudioValue {
  const rand = prng(hashString(text, (seed >>> 0) ^ 0x2545f491));
  const n = Math.max(1, Math.round(seconds * sampleRate));
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  const scale = [0, 2, 4, 7, 9, 12, 14, 16];
  const root = 196 * 2 ** (Math.floor(rand() * 7) / 12);
  const bpm = 80 + Math.floor(rand() * 60);
  const beat = 60 / bpm;
  const notes = Math.ceil(seconds / beat);
  for (let k = 0; k < notes; k++) {
    const start = Math.floor(k * beat * sampleRate);
    const len = Math.floor(beat * sampleRate * (rand() < 0.3 ? 2 : 1));
    const freq = root * 2 ** (scale[Math.floor(rand() * scale.length)]! / 12);
    const pan = rand();
    const bass = root / 2;
    for (let i = 0; i < len && start + i < n; i++) {
      const t = i / sampleRate;
      const env = Math.min(1, t * 40) * Math.exp((-3 * i) / len);
      const s = 0.28 * env * Math.sin(2 * Math.PI * freq * t);
      const b = 0.12 * Math.sin(2 * Math.PI * bass * ((start + i) / sampleRate));
      left[start + i] = left[start + i]! + s * (1 - pan) + b;
      right[start + i] = right[start + i]! + s * pan + b;
    }
  }
  return { kind: 'AUDIO', sampleRate, channels: [left, right] };
}
