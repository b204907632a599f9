// Video and audio facts without ffprobe: the bundled ffmpeg binary (an npm package) prints
// duration and stream size, and extracts a poster frame.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ffmpegPath: string = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;

function ffmpeg(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(ffmpegPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

export interface AvInfo {
  durationMs: number | null;
  width: number | null;
  height: number | null;
  /** First frame as PNG (video only). */
  poster: Buffer | null;
}

/** Reads duration, size and (for video) a poster frame from a media file's bytes. */
export async function probeAv(data: Buffer, extension: string, video: boolean): Promise<AvInfo> {
  const dir = await mkdtemp(path.join(tmpdir(), 'atelier-av-'));
  try {
    const input = path.join(dir, `input.${extension.replace(/[^a-z0-9]/gi, '') || 'bin'}`);
    await writeFile(input, data);
    const poster = path.join(dir, 'poster.png');
    const args = video
      ? ['-hide_banner', '-i', input, '-frames:v', '1', '-y', poster]
      : ['-hide_banner', '-i', input];
    const { stderr } = await ffmpeg(args);
    const duration = stderr.match(/Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/);
    const size = stderr.match(/Stream #.*Video: .*?(\d{2,5})x(\d{2,5})/);
    return {
      durationMs: duration
        ? Math.round(
            (Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000,
          )
        : null,
      width: size ? Number(size[1]) : null,
      height: size ? Number(size[2]) : null,
      poster: video ? await readFile(poster).catch(() => null) : null,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
