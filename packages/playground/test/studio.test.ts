// The studio in Chromium against a real server with the bundled ComfyUI sandbox: a
// text-to-image run with its stage timeline moving, an edit from a dropped file, inpainting
// with a painted mask, "animate" into a playable video, cancel, queue position, the gallery.
// dist/ is (re)built in beforeAll when missing or stale (see ensurePlaygroundBuilt).
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solid } from '../../server/test/fixtures/images.ts';
import { holdQueue } from '../../server/test/fixtures/runs.ts';
import { uploadOk } from '../../server/test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type Browser,
  CHROMIUM_PATH,
  ensurePlaygroundBuilt,
  generate,
  HAS_CHROMIUM,
  launchChromium,
  runStatus,
  SIGNED_MEDIA_URL,
  screenshot,
  selectModel,
  setParam,
  WAIT,
  waitForText,
} from './browser.ts';

if (!HAS_CHROMIUM) {
  console.warn(
    `\n*** ${CHROMIUM_PATH} not found: the playground browser tests are SKIPPED. ` +
      'Install Chromium (apt-get install chromium) or set CHROMIUM_PATH to run them. ***\n',
  );
}

/** A PNG made in the page (canvas), dropped on a drop zone with a real DataTransfer. */
async function dropImage(page: Page, testId: string, name: string, color: string) {
  await page.getByTestId(testId).evaluate(
    async (zone, { name, color }) => {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = color;
      ctx.fillRect(0, 0, 320, 240);
      ctx.fillStyle = '#fff';
      ctx.beginPath();
      ctx.arc(160, 120, 60, 0, Math.PI * 2);
      ctx.fill();
      const blob = await new Promise<Blob>((resolve) =>
        canvas.toBlob((b) => resolve(b!), 'image/png'),
      );
      const transfer = new DataTransfer();
      transfer.items.add(new File([blob], name, { type: 'image/png' }));
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(
          new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
        );
      }
    },
    { name, color },
  );
}

/** Drops a file that is not an image (the server refuses it with InvalidMediaError). */
async function dropText(page: Page, testId: string) {
  await page.getByTestId(testId).evaluate((zone) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['just some notes'], 'notes.txt', { type: 'text/plain' }));
    zone.dispatchEvent(
      new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }),
    );
  });
}

interface RunInputs {
  status: string;
  inputs: {
    role: string;
    media: {
      id: string;
      url: string;
      originalName: string | null;
      width: number;
      height: number;
      hasAlpha: boolean;
      purpose: string;
    };
  }[];
  outputs: { id: string; kind: string; mimeType: string; url: string }[];
}

async function runSeed(server: TestServer, id: string): Promise<string> {
  const result = await server.gql<{ run: { seed: string } }>(
    'query($id: ID!) { run(id: $id) { seed } }',
    { id },
  );
  return result.data!.run.seed;
}

async function galleryCount(server: TestServer): Promise<number> {
  const result = await server.gql<{ gallery: { edges: unknown[] } }>(
    '{ gallery(first: 100) { edges { cursor } } }',
  );
  return result.data!.gallery.edges.length;
}

/** The run the page shows, read from the server. */
async function shownRun(server: TestServer, page: Page): Promise<RunInputs & { id: string }> {
  const id = await page.getByTestId('run-view').getAttribute('data-run-id');
  const result = await server.gql<{ run: RunInputs }>(
    `query($id: ID!) { run(id: $id) { status
      inputs { role media { id url originalName width height hasAlpha purpose } }
      outputs { id kind mimeType url } } }`,
    { id },
  );
  if (!result.data?.run) throw new Error(`run ${id}: ${JSON.stringify(result)}`);
  return { id: id!, ...result.data.run };
}

(HAS_CHROMIUM ? describe : describe.skip)('the studio in Chromium', () => {
  let server: TestServer;
  let browser: Browser & { errors: string[] };
  let page: Page;
  /** The first text-to-image result (animated later, so it is in use in the gallery). */
  let firstResult: { id: string; runId: string };
  let editOutput: string;

  beforeAll(async () => {
    await ensurePlaygroundBuilt();
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the studio at / and runs text-to-image with a live stage timeline', async () => {
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['cache-control']).toBe('no-cache');
    await page.getByTestId('mode-TEXT_TO_IMAGE').click();
    // AUTH_MODE=local: no key asked for, no account shown (the local account needs none).
    expect(await page.getByTestId('key-form').count()).toBe(0);
    expect(await page.getByTestId('account').count()).toBe(0);
    await selectModel(page, 'flux1-dev');

    // An empty prompt: the server's ValidationError names the field.
    await page.getByTestId('generate').click();
    const formError = page.getByTestId('form-error');
    await formError.waitFor(WAIT);
    expect(await formError.getAttribute('data-field')).toBe('prompt');
    expect(await formError.textContent()).toMatch(/Prompt: .*empty/i);
    await screenshot(page, 'validation-error', false);

    await page.getByTestId('prompt').fill('a lighthouse at dusk, oil painting');
    await setParam(page, 'steps', 40);
    await setParam(page, 'width', 256);
    await setParam(page, 'height', 256);
    server.app.sandbox!.setStepDelay(50);
    await generate(page);

    // The GENERATE stage reports sampler steps; the message and the progress bar move.
    const first = await waitForText(page, 'stage-GENERATE-message', /step \d+\/40/);
    const firstStep = Number(first.match(/step (\d+)\//)![1]);
    const firstProgress = Number(
      await page.getByTestId('stage-GENERATE-progress').getAttribute('data-value'),
    );
    await expect
      .poll(
        async () =>
          Number(
            ((await page.getByTestId('stage-GENERATE-message').textContent()) ?? '').match(
              /step (\d+)\//,
            )?.[1] ?? 99,
          ),
        { timeout: 20_000, interval: 20 },
      )
      .toBeGreaterThan(firstStep);
    await expect
      .poll(async () =>
        Number(await page.getByTestId('stage-GENERATE-progress').getAttribute('data-value')),
      )
      .toBeGreaterThan(firstProgress);
    await page.getByTestId('run-preview').waitFor(WAIT);

    await runStatus(page, 'SUCCEEDED');
    server.app.sandbox!.setStepDelay(0);
    for (const kind of ['TRANSLATE', 'STYLE', 'OPTIMIZE', 'GENERATE']) {
      expect(await page.getByTestId(`stage-${kind}`).getAttribute('data-status')).toMatch(
        /SUCCEEDED|SKIPPED/,
      );
    }
    const image = page.getByTestId('result-0').getByTestId('result-image');
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), WAIT)
      .toBe(256);
    // Media URLs are signed (they load without credentials): /media/<uuid>?exp=…&sig=….
    expect(await page.getByTestId('download-link').first().getAttribute('href')).toMatch(
      SIGNED_MEDIA_URL,
    );
    await page.getByTestId('recent-run').first().waitFor(WAIT);
    const run = await shownRun(server, page);
    expect(run.status).toBe('SUCCEEDED');
    firstResult = { id: run.outputs[0]!.id, runId: run.id };
    await screenshot(page, 'text-to-image');

    // Fullscreen overlay.
    await image.click();
    await page.getByTestId('lightbox-image').waitFor(WAIT);
    await screenshot(page, 'fullscreen', false);
    await page.keyboard.press('Escape');
    await page.getByTestId('lightbox').waitFor({ state: 'detached', ...WAIT });
  });

  it('edits an image dropped on the drop zone (and shows a refused file’s typed error)', async () => {
    await page.getByTestId('mode-EDIT').click();
    await selectModel(page, 'qwen-image-edit-lightning');

    await dropText(page, 'dropzone-source');
    const refused = page.getByTestId('upload-source-0');
    await refused.and(page.locator('[data-status="error"]')).waitFor(WAIT);
    expect(await refused.getByTestId('upload-error').getAttribute('data-code')).toBe(
      'INVALID_MEDIA',
    );
    expect(await refused.getByTestId('upload-error').textContent()).toBeTruthy();
    await screenshot(page, 'upload-refused', false);

    await dropImage(page, 'dropzone-source', 'dropped.png', '#2563eb');
    const item = page.getByTestId('upload-source-0');
    await item.and(page.locator('[data-status="done"]')).waitFor(WAIT);
    expect(await page.getByTestId('upload-error').count()).toBe(0);
    await page.getByTestId('prompt').fill('turn the white circle into a glowing sun');
    await generate(page);
    await runStatus(page, 'SUCCEEDED');

    const run = await shownRun(server, page);
    expect(run.inputs.map((i) => [i.role, i.media.originalName])).toEqual([
      ['SOURCE', 'dropped.png'],
    ]);
    expect(run.inputs[0]!.media.width).toBe(320);
    editOutput = run.outputs[0]!.id;
    const image = page.getByTestId('result-0').getByTestId('result-image');
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), WAIT)
      .toBeGreaterThan(0);
    await screenshot(page, 'edit-dropped');
  });

  it('inpaints with a painted mask: painted pixels become transparent in the uploaded mask', async () => {
    await page.getByTestId('mode-INPAINT').click();
    await selectModel(page, 'sd2-inpainting');
    const source = await sharp({
      create: { width: 320, height: 240, channels: 3, background: '#d97706' },
    })
      .png()
      .toBuffer();
    await page
      .getByTestId('file-input-source')
      .setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: source });
    await page
      .getByTestId('upload-source-0')
      .and(page.locator('[data-status="done"]'))
      .waitFor(WAIT);
    const canvas = page.getByTestId('mask-canvas');
    await canvas.waitFor(WAIT);

    // Nothing painted yet: the studio asks for a mask before asking the server.
    await page.getByTestId('prompt').fill('a red door');
    await page.getByTestId('generate').click();
    await page.getByTestId('form-error').and(page.locator('[data-field="mask"]')).waitFor(WAIT);

    // Paint a horizontal stroke across the left half, in the middle.
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.5);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) {
      await page.mouse.move(box.x + box.width * (0.1 + i * 0.035), box.y + box.height * 0.5);
    }
    await page.mouse.up();
    await page.getByTestId('mask-status').and(page.locator('[data-painted="true"]')).waitFor(WAIT);
    await setParam(page, 'steps', 5);
    await generate(page);
    await runStatus(page, 'SUCCEEDED');
    await screenshot(page, 'inpaint');

    const run = await shownRun(server, page);
    const mask = run.inputs.find((i) => i.role === 'MASK')!.media;
    expect(mask.purpose).toBe('MASK');
    expect(mask.hasAlpha).toBe(true);
    expect([mask.width, mask.height]).toEqual([320, 240]);
    const { data, info } = await sharp(Buffer.from(await (await fetch(mask.url)).arrayBuffer()))
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const alpha = (x: number, y: number) => data[(y * info.width + x) * info.channels + 3];
    expect(alpha(Math.round(320 * 0.3), 120)).toBe(0); // painted: transparent
    expect(alpha(300, 20)).toBe(255); // untouched: opaque
    expect(alpha(20, 220)).toBe(255);
  });

  it('"Animate" on an image result opens image-to-video; Generate makes a playable <video>', async () => {
    // The Image → Video tab's settings drive "Animate": a small, quick WebM (VP9) model.
    await page.getByTestId('mode-IMAGE_TO_VIDEO').click();
    await selectModel(page, 'wan2.1-i2v-480p');
    await setParam(page, 'steps', 4);
    await setParam(page, 'width', 320);
    await setParam(page, 'height', 320);
    await setParam(page, 'frames', 9);

    // Back to the first text-to-image run, from the recent runs list.
    await page.locator(`[data-testid="recent-run"][data-run-id="${firstResult.runId}"]`).click();
    await page
      .locator(`[data-testid="run-view"][data-run-id="${firstResult.runId}"]`)
      .waitFor(WAIT);
    // "Animate" opens the Image → Video composer with the image as source; Generate runs it.
    await page.getByTestId('result-0').getByTestId('animate-button').click();
    await page
      .getByTestId('upload-source-0')
      .and(page.locator(`[data-media-id="${firstResult.id}"]`))
      .waitFor(WAIT);
    expect(await page.getByTestId('param-frames').inputValue()).toBe('9');
    await generate(page);
    await runStatus(page, 'SUCCEEDED', 45_000);

    const run = await shownRun(server, page);
    expect(run.inputs.map((i) => [i.role, i.media.id])).toEqual([['SOURCE', firstResult.id]]);
    expect(run.outputs[0]!.mimeType).toBe('video/webm');
    const video = page.getByTestId('result-0').getByTestId('result-video');
    await expect
      .poll(
        () =>
          video.evaluate((v: HTMLVideoElement) => ({
            ready: v.readyState >= 1,
            duration: Number.isFinite(v.duration) && v.duration > 0,
            error: v.error?.message ?? null,
          })),
        WAIT,
      )
      .toEqual({ ready: true, duration: true, error: null });
    // It really plays: time advances.
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), WAIT)
      .toBeGreaterThan(0);
    expect(await page.getByTestId('mode-IMAGE_TO_VIDEO').getAttribute('aria-selected')).toBe(
      'true',
    );
    await screenshot(page, 'animate-video');
  });

  it('cancels a running run', async () => {
    await page.getByTestId('mode-TEXT_TO_IMAGE').click();
    await selectModel(page, 'flux1-dev');
    await setParam(page, 'steps', 50);
    await page.getByTestId('prompt').fill('a very slow painting');
    server.app.sandbox!.setStepDelay(150);
    try {
      await generate(page);
      await waitForText(page, 'stage-GENERATE-message', /step \d+\/50/);
      await page.getByTestId('cancel-run').click();
      await runStatus(page, 'CANCELED');
    } finally {
      server.app.sandbox!.setStepDelay(0);
    }
    expect(await page.getByTestId('run-error').getAttribute('data-code')).toBe('CANCELED');
    expect(await page.getByTestId('stage-GENERATE').getAttribute('data-status')).toBe('CANCELED');
    expect(await page.getByTestId('cancel-run').count()).toBe(0);
    await screenshot(page, 'canceled-running');

    // "Retry with a new seed": a new run linked to the canceled one, with another seed.
    const canceled = await shownRun(server, page);
    const oldSeed = await runSeed(server, canceled.id);
    await page.getByTestId('retry-run').click();
    await page
      .locator(`[data-testid="run-view"]:not([data-run-id="${canceled.id}"])`)
      .waitFor(WAIT);
    await runStatus(page, 'SUCCEEDED');
    const retried = await shownRun(server, page);
    const linked = await server.gql<{ run: { seed: string; retryOf: { id: string } | null } }>(
      'query($id: ID!) { run(id: $id) { seed retryOf { id } } }',
      { id: retried.id },
    );
    expect(linked.data?.run.retryOf?.id).toBe(canceled.id);
    expect(linked.data?.run.seed).not.toBe(oldSeed);
  });

  it('shows the queue position of queued runs live, and cancels one before it starts', async () => {
    // The header's status line: the bundled sandbox worker, live from the queue subscription.
    const workers = page.getByTestId('worker-status');
    await expect.poll(() => workers.getAttribute('data-sandbox'), WAIT).toBe('true');
    expect(await workers.getAttribute('data-state')).toBe('ok');
    expect(await workers.textContent()).toMatch(/sandbox/i);

    const hold = await holdQueue(server);
    try {
      await page.getByTestId('prompt').fill('waiting my turn');
      await setParam(page, 'steps', 2);
      await generate(page);
      await runStatus(page, 'QUEUED');
      await waitForText(page, 'queue-position', /position 1\b/);
      const firstId = (await page.getByTestId('run-view').getAttribute('data-run-id'))!;

      await page.getByTestId('prompt').fill('waiting behind it');
      await generate(page);
      await runStatus(page, 'QUEUED');
      await waitForText(page, 'queue-position', /position 2\b/);
      const secondId = (await page.getByTestId('run-view').getAttribute('data-run-id'))!;
      await screenshot(page, 'queued');

      // The first run leaves the queue through the API, not this page: the second one's own
      // events say nothing of it, yet its position moves up live, without a reload.
      await page.evaluate(() => {
        (window as unknown as { stillHere: boolean }).stillHere = true;
      });
      const canceled = await server.gql<{ cancelRun: { __typename: string } }>(
        'mutation($id: ID!) { cancelRun(id: $id) { __typename } }',
        { id: firstId },
      );
      expect(canceled.data?.cancelRun.__typename).toBe('CancelRunSuccess');
      await waitForText(page, 'queue-position', /position 1\b/);
      expect(await page.getByTestId('run-view').getAttribute('data-run-id')).toBe(secondId);
      expect(
        await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere),
      ).toBe(true);

      await page.getByTestId('cancel-run').click();
      await runStatus(page, 'CANCELED');
      expect(await page.getByTestId('run-error').textContent()).toMatch(/before it started/i);
      // The recent runs come from the server: the first run shows up canceled there too.
      await page
        .locator(`[data-testid="recent-run"][data-run-id="${firstId}"][data-status="CANCELED"]`)
        .waitFor(WAIT);
    } finally {
      hold.release();
    }
  });

  it('composes several references (up to the model’s maxReferences), in order', async () => {
    await page.getByTestId('mode-MULTI_REFERENCE').click();
    await selectModel(page, 'qwen-image-edit-2509');
    const colours = ['#ef4444', '#22c55e', '#3b82f6', '#eab308'];
    const files = await Promise.all(
      colours.map(async (colour, i) => ({
        name: `ref-${i + 1}.png`,
        mimeType: 'image/png',
        buffer: await sharp({
          create: { width: 200, height: 160, channels: 3, background: colour },
        })
          .png()
          .toBuffer(),
      })),
    );
    // Four files for a model that takes three: three are kept, the fourth is refused.
    await page.getByTestId('file-input-references').setInputFiles(files);
    for (let i = 0; i < 3; i++) {
      await page
        .getByTestId(`upload-references-${i}`)
        .and(page.locator('[data-status="done"]'))
        .waitFor(WAIT);
    }
    await page
      .getByTestId('upload-references-3')
      .getByTestId('upload-error')
      .and(page.locator('[data-code="TOO_MANY_FILES"]'))
      .waitFor(WAIT);
    expect(await page.getByTestId('file-input-references').isDisabled()).toBe(true);

    await page.getByTestId('prompt').fill('the three colours as a flag');
    await page.getByTestId('style-select').selectOption('bauhaus');
    await setParam(page, 'steps', 4);
    await generate(page);
    await runStatus(page, 'SUCCEEDED');
    const run = await shownRun(server, page);
    expect(run.inputs.map((i) => [i.role, i.media.originalName])).toEqual([
      ['REFERENCE', 'ref-1.png'],
      ['REFERENCE', 'ref-2.png'],
      ['REFERENCE', 'ref-3.png'],
    ]);
    expect(await page.getByTestId('stage-STYLE').getAttribute('data-status')).toBe('SUCCEEDED');
    await page.getByTestId('style-select').selectOption('');
    await screenshot(page, 'multi-reference');
  });

  it('generates audio into a playable <audio>', async () => {
    await page.getByTestId('mode-TEXT_TO_AUDIO').click();
    await selectModel(page, 'ace-step-v1-3.5b');
    await page.getByTestId('prompt').fill('warm lo-fi piano with soft rain');
    await setParam(page, 'steps', 10);
    await setParam(page, 'duration', 5);
    expect(await page.getByTestId('param-lyrics').inputValue()).toBe('[inst]');
    expect(await page.getByTestId('output-format').count()).toBe(0); // image options only
    await generate(page);
    await runStatus(page, 'SUCCEEDED');
    const audio = page.getByTestId('result-0').getByTestId('result-audio');
    await expect
      .poll(
        () =>
          audio.evaluate(
            (a: HTMLAudioElement) =>
              a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0,
          ),
        WAIT,
      )
      .toBe(true);
    await screenshot(page, 'text-to-audio');
  });

  it('lists media in the gallery, filters by kind, deletes, and refuses to delete an input', async () => {
    // Enough media for more than one page (24 per page).
    for (let i = 0; i < 20; i++) {
      await uploadOk(
        server.url,
        await solid(48, 48, 'png', `#${(0x102030 + i * 0x0b0907).toString(16).slice(-6)}`),
        {
          filename: `filler-${i}.png`,
        },
      );
    }
    const total = await galleryCount(server);
    expect(total).toBeGreaterThan(24);

    await page.goto(`${server.url}/gallery`); // a deep link: the server answers index.html
    await page.getByTestId('gallery-page').waitFor(WAIT);
    const tiles = page.locator('[data-testid^="gallery-item-"]');
    await expect.poll(() => tiles.count(), WAIT).toBe(24);
    await page.getByTestId('gallery-load-more').click();
    await expect.poll(() => tiles.count(), WAIT).toBe(total);
    await page.getByTestId('gallery-load-more').waitFor({ state: 'detached', ...WAIT });
    const tile = (id: string) => page.getByTestId(`gallery-item-${id}`);
    await tile(firstResult.id).waitFor(WAIT);
    await tile(editOutput).waitFor(WAIT);
    // Thumbnails load lazily: check the ones on screen, and the first result's once scrolled to.
    const loaded = (img: HTMLImageElement) => img.complete && img.naturalWidth > 0;
    await expect
      .poll(() => page.getByTestId('gallery-thumb').first().evaluate(loaded), WAIT)
      .toBe(true);
    await tile(firstResult.id).scrollIntoViewIfNeeded();
    await expect
      .poll(() => tile(firstResult.id).getByTestId('gallery-thumb').evaluate(loaded), WAIT)
      .toBe(true);

    // The first result is the source of the video run: deleting it is refused, with the reason.
    await tile(firstResult.id).getByTestId('gallery-delete').click();
    await page.getByTestId('confirm-delete').click();
    await tile(firstResult.id).getByTestId('gallery-delete-error').waitFor(WAIT);
    expect(await tile(firstResult.id).getByTestId('gallery-delete-error').textContent()).toMatch(
      /input|in use|run/i,
    );
    // The edit's output is used by nothing: it goes.
    await tile(editOutput).getByTestId('gallery-delete').click();
    await page.getByTestId('confirm-delete').click();
    await tile(editOutput).waitFor({ state: 'detached', ...WAIT });
    const gone = await server.gql<{ media: unknown }>('query($id: ID!) { media(id: $id) { id } }', {
      id: editOutput,
    });
    expect(gone.data?.media).toBeNull();
    await screenshot(page, 'gallery');

    await page.getByTestId('gallery-filter-VIDEO').click();
    await page.locator('[data-testid^="gallery-item-"][data-kind="VIDEO"]').first().waitFor(WAIT);
    await expect
      .poll(() => page.locator('[data-testid^="gallery-item-"]:not([data-kind="VIDEO"])').count())
      .toBe(0);
    await screenshot(page, 'gallery-videos', false);
    await page.getByTestId('gallery-filter-ALL').click();
    await expect.poll(() => tiles.count(), WAIT).toBe(24);

    expect(browser.errors).toEqual([]);
  });
});
