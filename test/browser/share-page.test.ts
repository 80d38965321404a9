/**
 * The share page in a real browser: Debian's Chromium, headless, driven by playwright-core. A
 * small real MP4 (made by ffmpeg here) is shared through `POST /.share`; the page shows the file
 * name (checked in the DOM and kept as a screenshot in .tmp/) and its <video> really plays
 * (currentTime advances). Skipped only when Chromium is not installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../integration/helpers.js';
import { ROOT } from '../support/built-cli.js';

interface VideoElement {
  muted: boolean;
  readyState: number;
  currentTime: number;
  videoWidth: number;
  error: { code: number } | null;
  play(): Promise<void>;
}
interface BrowserGlobals {
  document: { querySelector(selector: string): VideoElement | null };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NAME = 'Holiday clip (2024).mp4';

describe.skipIf(!existsSync(CHROMIUM))('the share page in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let dir: string;
  let url: string;
  let size: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fichier-dav-browser-'));
    const mp4 = join(dir, 'clip.mp4');
    // 3 s of test pattern, H.264 in MP4 with the index first (what a browser streams best).
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', mp4]);
    const content = await readFile(mp4);
    size = content.length;
    stack = await startStack();
    const folder = await stack.sim.addFolder({ name: 'Videos' });
    await stack.sim.addFile({ folderId: folder, name: NAME, content, contentType: 'video/mp4' });
    const response = await fetch(`${stack.bridge.url}.share`, { method: 'POST', body: JSON.stringify({ path: `/Videos/${NAME}` }) });
    expect(response.status).toBe(201);
    url = ((await response.json()) as { url: string }).url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the name and size, offers the download, and the video plays', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    await expect.poll(() => page.locator('#name').innerText(), { timeout: 30_000 }).toBe(NAME);
    expect(await page.locator('#name').isVisible()).toBe(true);
    expect(await page.locator('#size').innerText()).toContain(`${size} bytes`);
    expect(await page.locator('#download').getAttribute('download')).toBe(NAME);
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    const shot = await page.screenshot({ path: join(ROOT, '.tmp', 'share-page.png'), fullPage: true });
    expect(shot.subarray(1, 4).toString()).toBe('PNG');

    // The browser said it can play video/mp4 (else the page removes the element).
    expect(await page.locator('video#preview').count()).toBe(1);
    // Browser-side functions (serialised by playwright; the page's CSP forbids string eval). This
    // project's TypeScript has no DOM types, hence the casts.
    await page.evaluate(() => {
      const v = (globalThis as unknown as BrowserGlobals).document.querySelector('video')!;
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction(
      () => {
        const v = (globalThis as unknown as BrowserGlobals).document.querySelector('video');
        return v !== null && v.readyState >= 2 && v.currentTime > 0.2;
      },
      undefined,
      { timeout: 60_000 },
    );
    const state = await page.evaluate(() => {
      const v = (globalThis as unknown as BrowserGlobals).document.querySelector('video')!;
      return { width: v.videoWidth, error: v.error ? v.error.code : null };
    });
    expect(state).toEqual({ width: 320, error: null });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("a shared or WebDAV-served HTML file shows without running its scripts (no access to the bridge's origin)", async () => {
    const html = '<!DOCTYPE html><html><head><title>inert</title></head><body><p id="text">visible</p><script>document.title = "ran"; fetch("/", { method: "PROPFIND", headers: { Depth: "1" } }).then((r) => { document.title = "reached " + r.status; });</script></body></html>';
    // Through the bridge (its cached listing of / then knows the file); stored as text/html.
    expect((await fetch(`${stack.bridge.url}page.html`, { method: 'PUT', body: html })).status).toBe(201);
    const response = await fetch(`${stack.bridge.url}.share`, { method: 'POST', body: JSON.stringify({ path: '/page.html' }) });
    expect(response.status).toBe(201);
    const shared = ((await response.json()) as { url: string }).url;
    for (const target of [`${shared}/file`, `${stack.bridge.url}page.html`]) {
      const page = await browser.newPage();
      await page.goto(target, { waitUntil: 'load', timeout: 60_000 });
      expect(await page.locator('#text').innerText(), target).toBe('visible');
      // An inline script runs while the page is parsed, before 'load': its title would be set by now.
      expect(await page.title(), target).toBe('inert');
      await page.close();
    }
  }, 180_000);
});
