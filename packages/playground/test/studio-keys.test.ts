// The studio in Chromium against a server in AUTH_MODE=keys: the key form, a refused key, a
// text-to-image run with the right key (its signed image loads, its cost leaves the credits
// shown in the header), a canceled run's refund, the key kept across a reload, "Forget key".
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    `\n*** ${CHROMIUM_PATH} not found: the playground browser tests (API keys) are SKIPPED. ***\n`,
  );
}

/** Where the studio keeps the key (see src/Session.tsx). */
const STORAGE = 'atelier.apiKey';

const storedKey = (page: Page) =>
  page.evaluate((name) => window.localStorage.getItem(name), STORAGE);

const keyForm = (page: Page) => ({
  heading: page.getByRole('heading', { name: 'This server needs an API key' }),
  input: page.getByLabel('API key', { exact: true }),
  submit: page.getByRole('button', { name: 'Use this key' }),
  error: page.getByRole('alert'),
});

/** The credits the header shows, as a number (NaN while the badge is not there). */
const shownCredits = (page: Page) =>
  page
    .getByTestId('account-credits')
    .getAttribute('data-credits', { timeout: 1000 })
    .then(Number)
    .catch(() => Number.NaN);

(HAS_CHROMIUM ? describe : describe.skip)('the studio with API keys (AUTH_MODE=keys)', () => {
  let server: TestServer;
  let browser: Browser & { errors: string[] };
  let page: Page;
  let key: string;
  let runId: string;

  beforeAll(async () => {
    await ensurePlaygroundBuilt();
    server = await startTestServer({ AUTH_MODE: 'keys', SANDBOX_STEP_DELAY_MS: '0' });
    ({ key } = await server.createKey({ account: 'studio', credits: 100 }));
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('asks for a key, refuses a wrong one, then runs text-to-image with the right one', async () => {
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    const form = keyForm(page);
    await form.heading.waitFor(WAIT);
    expect(await form.input.getAttribute('type')).toBe('password');
    expect(await page.getByTestId('account').count()).toBe(0);
    expect(await page.getByTestId('generate').count()).toBe(0);
    await screenshot(page, 'keys-form', false);

    // A well-formed key the server does not know: the error, the form again, nothing stored.
    await form.input.fill(`atl_${'A'.repeat(40)}`);
    await form.submit.click();
    await form.error.waitFor(WAIT);
    expect(await form.error.textContent()).toMatch(/not accepted/i);
    expect(await form.input.getAttribute('aria-invalid')).toBe('true');
    expect(await form.heading.isVisible()).toBe(true);
    expect(await storedKey(page)).toBeNull();
    await screenshot(page, 'keys-refused', false);

    await form.input.fill(key);
    await form.submit.click();
    await page.getByTestId('account-name').waitFor(WAIT);
    expect(await page.getByTestId('account-name').textContent()).toBe('studio');
    await expect.poll(() => shownCredits(page), WAIT).toBe(100);
    expect(await form.heading.count()).toBe(0);
    expect(await storedKey(page)).toBe(key);
    // The live queue status (graphql-ws, key in connectionParams) connects too.
    await expect
      .poll(() => page.getByTestId('worker-status').getAttribute('data-state'), WAIT)
      .toBe('ok');

    await page.getByTestId('mode-TEXT_TO_IMAGE').click();
    await selectModel(page, 'flux1-dev');
    await page.getByTestId('prompt').fill('a key-shaped lighthouse');
    await setParam(page, 'steps', 4);
    await setParam(page, 'width', 256);
    await setParam(page, 'height', 256);
    await generate(page);
    await runStatus(page, 'SUCCEEDED');
    runId = (await page.getByTestId('run-view').getAttribute('data-run-id'))!;

    // The result is a signed URL: the <img> loads it without any key.
    const image = page.getByTestId('result-0').getByTestId('result-image');
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), WAIT)
      .toBeGreaterThan(0);
    expect(await page.getByTestId('download-link').first().getAttribute('href')).toMatch(
      SIGNED_MEDIA_URL,
    );

    // The header's credits went down by exactly the run's cost.
    const charged = await server.gql<{ run: { cost: number; status: string } | null }>(
      'query($id: ID!) { run(id: $id) { cost status } }',
      { id: runId },
      { apiKey: key },
    );
    const cost = charged.data?.run?.cost;
    expect(cost).toBeGreaterThan(0);
    await expect.poll(() => shownCredits(page), WAIT).toBe(100 - cost!);
    await screenshot(page, 'keys-signed-in');
  });

  it('shows the charge of a new run and its refund when it is canceled', async () => {
    const before = await shownCredits(page);
    await setParam(page, 'steps', 50);
    await page.getByTestId('prompt').fill('a slow one, canceled');
    server.app.sandbox!.setStepDelay(150);
    try {
      await generate(page);
      await waitForText(page, 'stage-GENERATE-message', /step \d+\/50/);
      // Charged when created (T2I: 2 per output) …
      await expect.poll(() => shownCredits(page), WAIT).toBe(before - 2);
      await page.getByTestId('cancel-run').click();
      await runStatus(page, 'CANCELED');
    } finally {
      server.app.sandbox!.setStepDelay(0);
    }
    // … and refunded when it ends CANCELED: the header follows without a reload.
    await expect.poll(() => shownCredits(page), WAIT).toBe(before);
  });

  it('stays signed in across a reload (the key is in localStorage)', async () => {
    await page.reload();
    await page.getByTestId('account-name').waitFor(WAIT);
    expect(await page.getByTestId('account-name').textContent()).toBe('studio');
    expect(await keyForm(page).heading.count()).toBe(0);
    // The account's own runs, listed by the server for this key.
    await page.locator(`[data-testid="recent-run"][data-run-id="${runId}"]`).waitFor(WAIT);
    expect(await shownCredits(page)).toBeLessThan(100);
  });

  it('"Forget key" clears the key and brings the form back', async () => {
    await page.getByTestId('forget-key').click();
    const form = keyForm(page);
    await form.heading.waitFor(WAIT);
    expect(await storedKey(page)).toBeNull();
    expect(await page.getByTestId('account').count()).toBe(0);
    expect(await form.error.count()).toBe(0);
    // And it stays forgotten.
    await page.reload();
    await form.heading.waitFor(WAIT);

    // The only console errors are Chromium's reports of the refused (401) requests.
    const unexpected = browser.errors.filter(
      (e) => !/Failed to load resource: .*status of 401/.test(e),
    );
    expect(unexpected).toEqual([]);
  });
});
