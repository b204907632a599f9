// Output files are classified by what they are (magic bytes, then extension), never by the
// history key they were listed under: core ComfyUI reports videos under `images` with
// `animated: [true]`, custom nodes use `gifs`, `video`, `audio`...
import type { ExecutionOutput, OutputKind } from '../queue/executor.ts';
import { WorkerFailure } from './errors.ts';
import { type ComfyHttp, HttpFailure } from './http.ts';
import { fileKey, fileRefs, type HistoryEntry } from './protocol.ts';

export interface Classified {
  kind: OutputKind;
  mimeType: string;
}

const BY_EXTENSION: Record<string, Classified> = {
  png: { kind: 'IMAGE', mimeType: 'image/png' },
  jpg: { kind: 'IMAGE', mimeType: 'image/jpeg' },
  jpeg: { kind: 'IMAGE', mimeType: 'image/jpeg' },
  webp: { kind: 'IMAGE', mimeType: 'image/webp' },
  gif: { kind: 'IMAGE', mimeType: 'image/gif' },
  mp4: { kind: 'VIDEO', mimeType: 'video/mp4' },
  m4v: { kind: 'VIDEO', mimeType: 'video/mp4' },
  mov: { kind: 'VIDEO', mimeType: 'video/quicktime' },
  webm: { kind: 'VIDEO', mimeType: 'video/webm' },
  mkv: { kind: 'VIDEO', mimeType: 'video/x-matroska' },
  flac: { kind: 'AUDIO', mimeType: 'audio/flac' },
  mp3: { kind: 'AUDIO', mimeType: 'audio/mpeg' },
  opus: { kind: 'AUDIO', mimeType: 'audio/ogg' },
  ogg: { kind: 'AUDIO', mimeType: 'audio/ogg' },
  wav: { kind: 'AUDIO', mimeType: 'audio/wav' },
  m4a: { kind: 'AUDIO', mimeType: 'audio/mp4' },
};

function ascii(data: Buffer, start: number, end: number): string {
  return data.length >= end ? data.toString('latin1', start, end) : '';
}

/** Whether a WebP file has the animation flag in its VP8X header. */
function isAnimatedWebp(data: Buffer): boolean {
  return ascii(data, 12, 16) === 'VP8X' && data.length > 20 && ((data[20] ?? 0) & 0x02) !== 0;
}

/** The container the bytes are in, if recognised. */
function sniff(data: Buffer): Classified | null {
  if (data.length < 12) return null;
  if (data.readUInt32BE(0) === 0x89504e47) return { kind: 'IMAGE', mimeType: 'image/png' };
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) {
    return { kind: 'IMAGE', mimeType: 'image/jpeg' };
  }
  if (ascii(data, 0, 4) === 'GIF8') return { kind: 'IMAGE', mimeType: 'image/gif' };
  if (ascii(data, 0, 4) === 'RIFF') {
    const form = ascii(data, 8, 12);
    if (form === 'WEBP') {
      return isAnimatedWebp(data)
        ? { kind: 'VIDEO', mimeType: 'image/webp' }
        : { kind: 'IMAGE', mimeType: 'image/webp' };
    }
    if (form === 'WAVE') return { kind: 'AUDIO', mimeType: 'audio/wav' };
  }
  if (ascii(data, 4, 8) === 'ftyp') {
    const brand = ascii(data, 8, 12);
    if (brand.startsWith('M4A') || brand.startsWith('M4B')) {
      return { kind: 'AUDIO', mimeType: 'audio/mp4' };
    }
    if (brand === 'qt  ') return { kind: 'VIDEO', mimeType: 'video/quicktime' };
    return { kind: 'VIDEO', mimeType: 'video/mp4' };
  }
  if (data.readUInt32BE(0) === 0x1a45dfa3) {
    // EBML: WebM or Matroska; the doctype string sits in the first bytes of the header.
    const head = data.toString('latin1', 0, Math.min(64, data.length));
    return head.includes('webm')
      ? { kind: 'VIDEO', mimeType: 'video/webm' }
      : { kind: 'VIDEO', mimeType: 'video/x-matroska' };
  }
  if (ascii(data, 0, 4) === 'fLaC') return { kind: 'AUDIO', mimeType: 'audio/flac' };
  if (ascii(data, 0, 4) === 'OggS') {
    const head = data.toString('latin1', 0, Math.min(128, data.length));
    if (head.includes('theora')) return { kind: 'VIDEO', mimeType: 'video/ogg' };
    return { kind: 'AUDIO', mimeType: 'audio/ogg' };
  }
  if (ascii(data, 0, 3) === 'ID3') return { kind: 'AUDIO', mimeType: 'audio/mpeg' };
  // An MPEG audio frame header: 11 sync bits, then a layer that is not "reserved".
  if (data[0] === 0xff && ((data[1] ?? 0) & 0xe0) === 0xe0 && ((data[1] ?? 0) & 0x06) !== 0) {
    return { kind: 'AUDIO', mimeType: 'audio/mpeg' };
  }
  return null;
}

/**
 * What an output file is. `animated` is the node's `animated` flag: an animated WebP or PNG
 * is a video; MP4/WebM are videos whatever the flag says. Returns null for files that are
 * not media (text, 3D models, latents).
 */
export function classifyOutput(
  filename: string,
  data: Buffer,
  animated: boolean,
): Classified | null {
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  const byExt = BY_EXTENSION[ext];
  const sniffed = sniff(data);
  let result = sniffed ?? byExt ?? null;
  // Containers that may hold audio only: trust an audio extension over the container guess.
  if (sniffed && byExt?.kind === 'AUDIO' && sniffed.kind === 'VIDEO') result = byExt;
  if (!result) return null;
  if (
    animated &&
    result.kind === 'IMAGE' &&
    result.mimeType !== 'image/gif' &&
    result.mimeType !== 'image/jpeg'
  ) {
    return { kind: 'VIDEO', mimeType: result.mimeType };
  }
  return result;
}

/**
 * Downloads every media file of a finished prompt (`/view`), each classified. A download
 * that keeps failing is a retryable WorkerFailure: the prompt finished and nothing was
 * delivered, so running it again elsewhere cannot produce a second set of outputs.
 */
export async function downloadOutputs(
  http: ComfyHttp,
  entry: HistoryEntry,
  worker: string,
  /** Downloads started early (fileKey → bytes, or null when that download failed). */
  prefetched?: ReadonlyMap<string, Promise<Buffer | null>>,
): Promise<ExecutionOutput[]> {
  const outputs: ExecutionOutput[] = [];
  for (const ref of fileRefs(entry.outputs ?? {})) {
    let data = (await prefetched?.get(fileKey(ref))) ?? undefined;
    for (let attempt = 0; data === undefined; attempt++) {
      try {
        data = (await http.view(ref)).data;
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        if (attempt >= 3 || e.status === 404) {
          throw new WorkerFailure(`downloading ${ref.filename}: ${e.message}`, true, worker);
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
    const output = outputOf(ref, data);
    if (output) outputs.push(output);
  }
  return outputs;
}

/** The output a downloaded file is (classified), or null when it is not media. */
export function outputOf(
  ref: ReturnType<typeof fileRefs>[number],
  data: Buffer,
): ExecutionOutput | null {
  const kind = classifyOutput(ref.filename, data, ref.animated);
  if (!kind) return null;
  return {
    nodeId: ref.nodeId,
    filename: ref.filename,
    subfolder: ref.subfolder,
    type: ref.type,
    kind: kind.kind,
    mimeType: kind.mimeType,
    data,
  };
}
