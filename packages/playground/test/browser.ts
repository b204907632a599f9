// Browser-test helpers: find Chromium (the tests skip loudly without it), make sure the
// studio's dist/ is built and fresh, launch Chromium through playwright-core, save screenshots,
// and drive the studio's page (generate, wait for a run status or a text, set controls).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Chromium from the Debian package (CI installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

const PLAYGROUND = fileURLToPath(new URL('..', import.meta.url));
const REPO = path.resolve(PLAYGROUND, '../..');
/** Where the screenshots of each test's end state go (gitignored). */
export const SCREENSHOTS = path.join(REPO, 'test-results', 'playground');

/** Newest modification time under the given files and folders. */
async function newest(paths: string[]): Promise<number> {
  let latest = 0;
  for (const p of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(p);
    } catch {
      continue;
    }
    if (info.isFile()) {
      latest = Math.max(latest, info.mtimeMs);
      continue;
    }
    const entries = await readdir(p, { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (e.isFile())
        latest = Math.max(latest, (await stat(path.join(e.parentPath, e.name))).mtimeMs);
    }
  }
  return latest;
}

/**
 * Builds the studio with Vite's `build()` when dist/ is missing or older than its sources
 * (the studio's own and the SDK's), so the tests never run against a stale bundle. A fresh
 * dist (e.g. from the root postinstall) is used as is.
 */
export async function ensurePlaygroundBuilt(): Promise<void> {
  const index = path.join(PLAYGROUND, 'dist', 'index.html');
  const built = existsSync(index) ? (await stat(index)).mtimeMs : 0;
  const sources = await newest([
    path.join(PLAYGROUND, 'src'),
    path.join(PLAYGROUND, 'public'),
    path.join(PLAYGROUND, 'index.html'),
    path.join(PLAYGROUND, 'vite.config.ts'),
    path.join(REPO, 'packages', 'sdk', 'src'),
  ]);
  if (built && built >= sources) return;
  const { build } = await import('vite');
  // Vitest sets NODE_ENV=test, which would make the React plugin and React itself pick their
  // development builds; the served bundle must be the production one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: path.join(PLAYGROUND, 'vite.config.ts'),
      root: PLAYGROUND,
      mode: 'production',
      logLevel: 'warn',
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Default 1360×900. */
  viewport?: { width: number; height: number };
  /** The `prefers-color-scheme` the page sees (default light). */
  colorScheme?: 'light' | 'dark';
}

/** Chromium headless with a fresh profile; page errors and console errors are collected. */
export async function launchChromium(
  options: LaunchOptions = {},
): Promise<Browser & { errors: string[] }> {
  const profile = await mkdtemp(path.join(tmpdir(), 'atelier-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: options.viewport ?? { width: 1360, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
      // Let <video> load and play without a user gesture.
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a screenshot (the whole page unless `fullPage` is false) as test-results/playground/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // From the top, so the sticky header sits where it belongs in a full-page capture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** A signed media URL, as `Media.url` is now: `/media/<uuid>?exp=<unix s>&sig=<43 base64url>`. */
export const SIGNED_MEDIA_URL = /\/media\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]{43}$/;

export const WAIT = { timeout: 20_000 };

/** Text of an element once it matches `pattern` (polls; fails after the timeout). */
export async function waitForText(page: Page, testId: string, pattern: RegExp, timeout = 20_000) {
  const locator = page.getByTestId(testId);
  await expect
    .poll(async () => (await locator.textContent({ timeout: 1000 }).catch(() => '')) ?? '', {
      timeout,
      interval: 20,
    })
    .toMatch(pattern);
  return (await locator.textContent()) ?? '';
}

/** Clicks Generate and waits until the run view shows the run it created. */
export async function generate(page: Page) {
  const view = page.getByTestId('run-view');
  const before = (await view.count()) ? await view.getAttribute('data-run-id') : null;
  await page.getByTestId('generate').click();
  await page
    .locator(`[data-testid="run-view"]${before ? `:not([data-run-id="${before}"])` : ''}`)
    .waitFor(WAIT);
}

export async function runStatus(page: Page, status: string, timeout = 30_000) {
  await page
    .getByTestId('run-status')
    .and(page.locator(`[data-status="${status}"]`))
    .waitFor({
      timeout,
    });
}

/** Sets a generated parameter control (number input) and commits it. */
export async function setParam(page: Page, name: string, value: number) {
  const input = page.getByTestId(`param-${name}`);
  await input.fill(String(value));
  await input.blur();
  await expect.poll(() => input.inputValue()).toBe(String(value));
}

export async function selectModel(page: Page, key: string) {
  const select = page.getByTestId('model-select');
  await select.locator(`option[value="${key}"]`).waitFor({ state: 'attached', ...WAIT });
  await select.selectOption(key);
}
