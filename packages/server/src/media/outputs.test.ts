// Output images: kept as ComfyUI wrote them when they already are what the run asked for,
// ComfyUI's PNG text chunks stripped (or kept), converted otherwise.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  EarlyOutputs,
  type OutputFile,
  type OutputOptions,
  type PreparedOutput,
  prepareImage,
  stripPngText,
} from './outputs.ts';

const options = (over: Partial<OutputOptions> = {}): OutputOptions => ({
  format: 'PNG',
  quality: null,
  keepAlpha: false,
  ...over,
});

function noise(channels: 3 | 4) {
  const pixels = Buffer.alloc(32 * 24 * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
  return sharp(pixels, { raw: { width: 32, height: 24, channels } });
}

function textChunk(keyword: string, text: string): Buffer {
  const data = Buffer.from(`${keyword}\0${text}`, 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('tEXt', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/** A PNG as ComfyUI's SaveImage writes it: the image, then `prompt` and `workflow` chunks after IHDR. */
async function comfyPng(channels: 3 | 4 = 3) {
  const plain = await noise(channels).png().toBuffer();
  const ihdrEnd = 8 + 12 + plain.readUInt32BE(8);
  const withText = Buffer.concat([
    plain.subarray(0, ihdrEnd),
    textChunk('prompt', '{"3":{"class_type":"KSampler"}}'),
    textChunk('workflow', '{"nodes":[]}'),
    plain.subarray(ihdrEnd),
  ]);
  return { plain, withText };
}

describe('prepareImage', () => {
  it('keeps a PNG byte for byte except the text chunks, by default', async () => {
    const { plain, withText } = await comfyPng();
    expect((await sharp(withText).metadata()).format).toBe('png');
    const prepared = await prepareImage(withText, options());
    expect(prepared.reencoded).toBe(false);
    expect(prepared.data.equals(plain)).toBe(true);
    expect(prepared.data.includes('workflow')).toBe(false);
    expect(prepared).toMatchObject({
      mimeType: 'image/png',
      width: 32,
      height: 24,
      hasAlpha: false,
    });
  });

  it('stores the bytes exactly as written with metadata keep', async () => {
    const { withText } = await comfyPng();
    const prepared = await prepareImage(withText, options({ metadata: 'keep' }));
    expect(prepared.reencoded).toBe(false);
    expect(prepared.data.equals(withText)).toBe(true);
  });

  it('converts to another format, and without metadata', async () => {
    const { withText } = await comfyPng();
    const prepared = await prepareImage(withText, options({ format: 'JPEG', quality: 80 }));
    expect(prepared.reencoded).toBe(true);
    expect(prepared.mimeType).toBe('image/jpeg');
    expect((await sharp(prepared.data).metadata()).format).toBe('jpeg');
    expect(prepared.data.includes('KSampler')).toBe(false);
  });

  it('keeps alpha only for a transparent background', async () => {
    const { withText } = await comfyPng(4);
    const opaque = await prepareImage(withText, options());
    expect(opaque).toMatchObject({ reencoded: true, hasAlpha: false });
    const transparent = await prepareImage(withText, options({ keepAlpha: true }));
    expect(transparent).toMatchObject({ reencoded: false, hasAlpha: true });
  });

  it('keeps a WebP at its own quality, re-encodes it for an explicit one', async () => {
    const webp = await noise(3).webp({ quality: 60 }).toBuffer();
    const kept = await prepareImage(webp, options({ format: 'WEBP' }));
    expect(kept.reencoded).toBe(false);
    expect(kept.data.equals(webp)).toBe(true);
    const requalified = await prepareImage(webp, options({ format: 'WEBP', quality: 30 }));
    expect(requalified.reencoded).toBe(true);
  });

  it('re-encodes a JPEG carrying EXIF unless metadata is kept', async () => {
    const jpeg = await noise(3)
      .jpeg()
      .withExif({ IFD0: { ImageDescription: 'workflow' } })
      .toBuffer();
    expect((await prepareImage(jpeg, options({ format: 'JPEG' }))).reencoded).toBe(true);
    const kept = await prepareImage(jpeg, options({ format: 'JPEG', metadata: 'keep' }));
    expect(kept.data.equals(jpeg)).toBe(true);
  });
});

describe('stripPngText', () => {
  it('refuses what is not a whole PNG chunk sequence', async () => {
    const { withText } = await comfyPng();
    expect(stripPngText(Buffer.from('not a png'))).toBeNull();
    expect(stripPngText(withText.subarray(0, withText.length - 6))).toBeNull();
  });
});

describe('EarlyOutputs', () => {
  const file = (name: string): OutputFile => ({
    kind: 'IMAGE',
    mimeType: 'image/png',
    filename: name,
    data: Buffer.from(name),
  });
  /** A prepare that records its calls; `fail` names files whose preparation fails once. */
  function preparer(fail: string[] = []) {
    const calls: string[] = [];
    const prepare = async (f: OutputFile): Promise<PreparedOutput> => {
      calls.push(f.filename);
      const at = fail.indexOf(f.filename);
      if (at >= 0) {
        fail.splice(at, 1);
        throw new Error(`cannot prepare ${f.filename}`);
      }
      return {
        row: { id: f.filename, outputIndex: 0 } as PreparedOutput['row'],
        discard: async () => {},
      };
    };
    return { calls, prepare };
  }

  it('hands an early preparation to the output with the same bytes, with its index', async () => {
    const { calls, prepare } = preparer();
    const early = new EarlyOutputs(prepare);
    const a = file('a.png');
    early.offer(a);
    early.offer(a); // reported twice: prepared once
    const taken = await early.take(a, 3);
    expect(taken.row).toMatchObject({ id: 'a.png', outputIndex: 3 });
    expect(calls).toEqual(['a.png']);
    expect(await early.close()).toEqual([]);
  });

  it('prepares an output nobody offered, and again one whose early preparation failed', async () => {
    const { calls, prepare } = preparer(['b.png']);
    const early = new EarlyOutputs(prepare);
    const b = file('b.png');
    early.offer(b);
    expect((await early.take(b, 0)).row.id).toBe('b.png');
    // The same name with other bytes is another file: not the early one.
    expect((await early.take(file('c.png'), 1)).row).toMatchObject({ id: 'c.png', outputIndex: 1 });
    expect(calls).toEqual(['b.png', 'b.png', 'c.png']);
  });

  it('gives back at close what no output took, and ignores offers after it', async () => {
    const { calls, prepare } = preparer(['y.png']);
    const early = new EarlyOutputs(prepare);
    early.offer(file('x.png'));
    early.offer(file('y.png')); // fails: nothing stored, nothing to give back
    const rest = await early.close();
    expect(rest.map((r) => r.row.id)).toEqual(['x.png']);
    early.offer(file('z.png'));
    expect(calls).toEqual(['x.png', 'y.png']);
    expect(await early.close()).toEqual([]);
  });
});
