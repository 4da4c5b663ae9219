// Chromium from the distribution, driven by playwright-core (the browser is not downloaded: CI installs `chromium`).
import { existsSync } from 'node:fs';
import { chromium as playwright, type Browser } from 'playwright-core';

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Why a browser test cannot run here, or false when it can. */
export const noBrowser: string | false = chromiumPath === undefined && 'Chromium is not installed (apt-get install chromium)';

export function launch(): Promise<Browser> {
  return playwright.launch({
    executablePath: chromiumPath!,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
