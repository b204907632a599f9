// The studio at a desktop (1440×900) and a phone (390×844) size: no horizontal overflow on
// any tab, the run panel scrolled into view after Generate, settings kept per tab and across
// reloads, "Animate" opening the Image → Video composer, the run status announced, the tabs
// and the lightbox usable from the keyboard, the gallery showing prompts and confirming
// deletes, a refused upload shown as a message, the dark scheme, and a screenshot of every
// mode at both sizes (test-results/studio-<mode>-<width>.png).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import { MODES } from '../src/modes.ts';
import {
  type Browser,
  ensurePlaygroundBuilt,
  generate,
  HAS_CHROMIUM,
  launchChromium,
  runStatus,
  SCREENSHOTS,
  setParam,
  WAIT,
} from './browser.ts';

const SIZES = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

/** Elements sticking out on the right (for a readable failure), and the page's widths. */
async function overflow(page: Page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const culprits: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 0.5 && box.width > 0) {
        const id = el.getAttribute('data-testid');
        culprits.push(
          `${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}.${el.className} ${Math.round(box.right)}`,
        );
      }
    }
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: width,
      culprits: culprits.slice(0, 8),
    };
  });
}

async function expectNoOverflow(page: Page, where: string) {
  const o = await overflow(page);
  expect(o.scrollWidth, `${where}: ${o.culprits.join(' | ')}`).toBeLessThanOrEqual(o.innerWidth);
}

async function openMode(page: Page, mode: string) {
  await page.getByTestId(`mode-${mode}`).click();
  await page.getByTestId(`mode-${mode}`).and(page.locator('[aria-selected="true"]')).waitFor(WAIT);
  // The composer has its model (the catalog answered).
  await page.locator('[data-testid="model-select"]:not([disabled])').waitFor(WAIT);
}

async function runCount(server: TestServer): Promise<number> {
  const result = await server.gql<{ runs: { edges: unknown[] } }>(
    '{ runs(first: 100) { edges { cursor } } }',
  );
  return result.data!.runs.edges.length;
}

(HAS_CHROMIUM ? describe : describe.skip)('the studio at desktop and phone sizes', () => {
  let server: TestServer;

  beforeAll(async () => {
    await ensurePlaygroundBuilt();
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe.each(SIZES)('at $width×$height', ({ width, height }) => {
    let browser: Browser & { errors: string[] };
    let page: Page;
    /** The text-to-image run made by the Generate test (animated and opened later). */
    let imageRun: { id: string; prompt: string; outputId: string };

    beforeAll(async () => {
      browser = await launchChromium({ viewport: { width, height } });
      page = browser.page;
      await page.goto(server.url);
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('has no horizontal overflow on any mode tab, nor in the gallery', async () => {
      for (const m of MODES) {
        await openMode(page, m.mode);
        await expectNoOverflow(page, m.mode);
      }
      await page.getByTestId('nav-gallery').click();
      await page.getByTestId('gallery-page').waitFor(WAIT);
      await expectNoOverflow(page, 'gallery');
      await page.getByTestId('nav-studio').click();
    });

    it('scrolls the run panel into view after Generate, and announces its status', async () => {
      await openMode(page, 'TEXT_TO_IMAGE');
      const prompt = `a lighthouse at dusk (${width})`;
      await page.getByTestId('prompt').fill(prompt);
      await setParam(page, 'steps', 2);
      await setParam(page, 'width', 256);
      await setParam(page, 'height', 256);
      // The Generate button is at the bottom of a long form: scroll down to press it.
      await page.getByTestId('generate').scrollIntoViewIfNeeded();
      await generate(page);
      const view = page.getByTestId('run-view');
      await expect
        .poll(async () => {
          const box = await view.boundingBox();
          return box ? box.y >= 0 && box.y < height && box.y + box.height > 0 : false;
        }, WAIT)
        .toBe(true);
      // The status is announced politely as it changes.
      const live = page
        .locator('[aria-live="polite"]')
        .filter({ has: page.getByTestId('run-status') });
      expect(await live.count()).toBe(1);
      await runStatus(page, 'SUCCEEDED');
      await expectNoOverflow(page, 'run view');
      const id = (await view.getAttribute('data-run-id'))!;
      const run = await server.gql<{ run: { outputs: { id: string }[] } }>(
        'query($id: ID!) { run(id: $id) { outputs { id } } }',
        { id },
      );
      imageRun = { id, prompt, outputId: run.data!.run.outputs[0]!.id };
    });

    it('"Animate" opens the Image → Video composer with the image as source, without a run', async () => {
      const before = await runCount(server);
      await page.getByTestId('result-0').getByTestId('animate-button').click();
      await page
        .getByTestId('mode-IMAGE_TO_VIDEO')
        .and(page.locator('[aria-selected="true"]'))
        .waitFor(WAIT);
      const source = page.getByTestId('upload-source-0');
      await source.and(page.locator('[data-status="done"]')).waitFor(WAIT);
      expect(await source.getAttribute('data-media-id')).toBe(imageRun.outputId);
      expect(await page.getByTestId('prompt').inputValue()).toBe(imageRun.prompt);
      // No run started: the run panel still shows the image run, the server has no new run.
      expect(await page.getByTestId('run-view').getAttribute('data-run-id')).toBe(imageRun.id);
      expect(await runCount(server)).toBe(before);
      await expectNoOverflow(page, 'animate composer');
    });

    it('tabs are a tablist: ArrowLeft/ArrowRight/Home/End move and select', async () => {
      const selected = () =>
        page.evaluate(() => ({
          selected: document.querySelector('[role="tab"][aria-selected="true"]')?.id,
          focused: document.activeElement?.id,
        }));
      const tabId = (mode: string) => `tab-${mode}`;
      await page.getByTestId('mode-TEXT_TO_IMAGE').click();
      await page.getByTestId('mode-TEXT_TO_IMAGE').focus();
      await page.keyboard.press('ArrowRight');
      expect(await selected()).toEqual({
        selected: tabId('IMAGE_TO_IMAGE'),
        focused: tabId('IMAGE_TO_IMAGE'),
      });
      await page.keyboard.press('End');
      const last = MODES[MODES.length - 1]!.mode;
      expect(await selected()).toEqual({ selected: tabId(last), focused: tabId(last) });
      await page.keyboard.press('ArrowRight'); // wraps around
      expect(await selected()).toEqual({
        selected: tabId('TEXT_TO_IMAGE'),
        focused: tabId('TEXT_TO_IMAGE'),
      });
      await page.keyboard.press('ArrowLeft'); // wraps back
      expect(await selected()).toEqual({ selected: tabId(last), focused: tabId(last) });
      await page.keyboard.press('Home');
      expect(await selected()).toEqual({
        selected: tabId('TEXT_TO_IMAGE'),
        focused: tabId('TEXT_TO_IMAGE'),
      });
      // Only the selected tab is in the Tab order; the panel is labelled by it.
      expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
      const panel = page.getByRole('tabpanel');
      expect(await panel.getAttribute('aria-labelledby')).toBe(tabId('TEXT_TO_IMAGE'));
    });

    it('the lightbox keeps focus inside, and Escape returns it to the button that opened it', async () => {
      await page.locator(`[data-testid="recent-run"][data-run-id="${imageRun.id}"]`).click();
      await page.locator(`[data-testid="run-view"][data-run-id="${imageRun.id}"]`).waitFor(WAIT);
      const opener = page.getByTestId('result-0').getByTestId('fullscreen-button');
      await opener.focus();
      await page.keyboard.press('Enter');
      await page.getByTestId('lightbox').waitFor(WAIT);
      const inside = () =>
        page.evaluate(
          () =>
            !!document.querySelector('[data-testid="lightbox"]')?.contains(document.activeElement),
        );
      expect(await inside()).toBe(true);
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press('Tab');
        expect(await inside()).toBe(true);
      }
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press('Shift+Tab');
        expect(await inside()).toBe(true);
      }
      await page.keyboard.press('Escape');
      await page.getByTestId('lightbox').waitFor({ state: 'detached', ...WAIT });
      expect(await opener.evaluate((el) => document.activeElement === el)).toBe(true);
    });

    it('a refused upload shows its error message, not a broken image', async () => {
      await openMode(page, 'EDIT');
      await page.getByTestId('file-input-source').setInputFiles({
        name: 'broken.png',
        mimeType: 'image/png',
        buffer: Buffer.from('this is not a png at all'),
      });
      const item = page.getByTestId('upload-source-0');
      await item.and(page.locator('[data-status="error"]')).waitFor(WAIT);
      expect(await item.getByTestId('upload-error').textContent()).toBeTruthy();
      expect(await item.locator('img').count()).toBe(0);
      await expectNoOverflow(page, 'refused upload');
      await item.getByRole('button', { name: /Remove/ }).click();
    });

    it('the gallery shows the prompt of each result, and asks before deleting', async () => {
      await page.getByTestId('nav-gallery').click();
      const tile = page.getByTestId(`gallery-item-${imageRun.outputId}`);
      await tile.waitFor(WAIT);
      await expect
        .poll(() => tile.getByTestId('gallery-title').textContent(), WAIT)
        .toBe(imageRun.prompt);
      await expectNoOverflow(page, 'gallery');

      // Cancel keeps the item.
      await tile.getByTestId('gallery-delete').click();
      const dialog = page.getByRole('alertdialog');
      await dialog.waitFor(WAIT);
      await dialog.getByTestId('confirm-cancel').click();
      await dialog.waitFor({ state: 'hidden', ...WAIT });
      expect(await tile.count()).toBe(1);
      const still = await server.gql<{ media: { id: string } | null }>(
        'query($id: ID!) { media(id: $id) { id } }',
        { id: imageRun.outputId },
      );
      expect(still.data?.media?.id).toBe(imageRun.outputId);
      await page.getByTestId('nav-studio').click();
    });

    it('keeps count, style and parameters per tab, and remembers them across a reload', async () => {
      await openMode(page, 'TEXT_TO_IMAGE');
      await page.getByTestId('count').fill('3');
      await page.getByTestId('style-select').selectOption('watercolor');
      await setParam(page, 'steps', 7);

      await openMode(page, 'TEXT_TO_VIDEO');
      expect(await page.getByTestId('count').inputValue()).toBe('1');
      expect(await page.getByTestId('style-select').inputValue()).toBe('');
      expect(await page.getByTestId('param-steps').inputValue()).not.toBe('7');
      await page.getByTestId('style-select').selectOption('comic');

      await page.reload();
      await page.locator('[data-testid="model-select"]:not([disabled])').waitFor(WAIT);
      expect(await page.getByTestId('mode-TEXT_TO_VIDEO').getAttribute('aria-selected')).toBe(
        'true',
      );
      expect(await page.getByTestId('style-select').inputValue()).toBe('comic');
      await openMode(page, 'TEXT_TO_IMAGE');
      expect(await page.getByTestId('count').inputValue()).toBe('3');
      expect(await page.getByTestId('style-select').inputValue()).toBe('watercolor');
      expect(await page.getByTestId('param-steps').inputValue()).toBe('7');
      expect(await page.getByTestId('param-width').inputValue()).toBe('256');
      expect(browser.errors).toEqual([]);
    });

    it("renders the model's size, quality and input fidelity, and the run gets them", async () => {
      await openMode(page, 'TEXT_TO_IMAGE');
      await page.getByTestId('model-select').selectOption('flux1-dev');
      await page.getByTestId('option-size').selectOption('SIZE_1536X1024');
      await page.getByTestId('option-quality').selectOption('LOW');
      // inputFidelity is offered (flux1-dev has it) though it maps to nothing in this mode.
      expect(await page.getByTestId('option-inputFidelity').count()).toBe(1);
      await page.getByTestId('prompt').fill(`options (${width})`);
      await page.getByTestId('generate').scrollIntoViewIfNeeded();
      await generate(page);
      await runStatus(page, 'SUCCEEDED');
      const id = (await page.getByTestId('run-view').getAttribute('data-run-id'))!;
      const run = await server.gql<{ run: { parameters: Record<string, unknown> } }>(
        'query($id: ID!) { run(id: $id) { parameters } }',
        { id },
      );
      expect(run.data!.run.parameters).toMatchObject({ width: 1536, height: 1024, steps: 10 });
      await expectNoOverflow(page, 'options');
      await page.getByTestId('option-size').selectOption('AUTO');
      await page.getByTestId('option-quality').selectOption('AUTO');
    });

    it('screenshots every mode (test-results/studio-<mode>-<width>.png)', async () => {
      const dir = path.resolve(SCREENSHOTS, '..');
      await mkdir(dir, { recursive: true });
      for (const m of MODES) {
        await openMode(page, m.mode);
        await expectNoOverflow(page, m.mode);
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({
          path: path.join(dir, `studio-${m.mode}-${width}.png`),
          fullPage: true,
        });
      }
    });
  });

  it.each(SIZES)('follows a dark color scheme at $width×$height', async ({ width, height }) => {
    const dark = await launchChromium({ viewport: { width, height }, colorScheme: 'dark' });
    try {
      await dark.page.goto(server.url);
      await dark.page.getByTestId('composer').waitFor(WAIT);
      const colors = await dark.page.evaluate(() => {
        const rgb = (el: Element, prop: 'backgroundColor' | 'color') =>
          (getComputedStyle(el)[prop].match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
        const composer = document.querySelector('[data-testid="composer"]')!;
        return {
          page: rgb(document.documentElement, 'backgroundColor'),
          panel: rgb(composer, 'backgroundColor'),
          text: rgb(composer, 'color'),
        };
      });
      const luminance = ([r = 0, g = 0, b = 0]: number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
      expect(luminance(colors.page)).toBeLessThan(60);
      expect(luminance(colors.panel)).toBeLessThan(70);
      expect(luminance(colors.text)).toBeGreaterThan(180);
      await expectNoOverflow(dark.page, 'dark');
      await dark.page.screenshot({
        path: path.join(path.resolve(SCREENSHOTS, '..'), `studio-dark-${width}.png`),
        fullPage: true,
      });
    } finally {
      await dark.close();
    }
  });
});
