// In headless Chromium: a portal session that outlived its lifetime (kyc serve runs with
// --test-only-session-ttl 2) no longer opens the portal; the framed page asks the user to launch
// again from Blnk Cloud, and launching again from the dashboard opens a fresh session.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  expectPortal,
  installAll,
  launchBrowser,
  launchFromDashboard,
  openAppPage,
  portalSession,
  screenshot,
  skipUnlessChromium,
  startStack,
  stopStack,
} from './harness.mjs';

skipUnlessChromium();

const SESSION_TTL_SECONDS = 2;
let stack, browser, page, installedAppId;

before(async () => {
  stack = await startStack('session-expiry', {
    kycArgs: ['--test-only-session-ttl', String(SESSION_TTL_SECONDS)],
  });
  installedAppId = await installAll(stack);
  browser = await launchBrowser();
  page = await (await browser.newContext()).newPage();
});

after(async () => {
  await browser?.close();
  if (stack) await stopStack(stack);
});

test('an expired session shows the relaunch page, a new launch opens the portal', async () => {
  await openAppPage(page, stack);
  const frame = await launchFromDashboard(page, stack);
  await expectPortal(frame, installedAppId);
  const context = page.context();
  const cookie = (await context.cookies()).find((c) => c.name === 'capp_session');
  assert.ok(cookie);

  await page.waitForTimeout(SESSION_TTL_SECONDS * 1000 + 700);
  // The cookie lives as long as the browser session; the server enforces the lifetime and
  // answers 410 with the relaunch page.
  assert.equal(cookie.expires, -1, 'the session cookie carries no Max-Age/Expires');
  const response = await frame.goto(`${stack.appUrl}/portal`);
  assert.equal(response.status(), 410);
  const text = await frame.locator('body').innerText();
  assert.match(text, /Session expired/);
  assert.match(text, /Launch the app again from Blnk Cloud/);
  assert.ok(!text.includes(installedAppId));
  const session = await portalSession(frame);
  assert.equal(session.status, 410);
  assert.equal(session.body.code, 'session_expired');
  await screenshot(page, stack, '1-expired-410');

  await openAppPage(page, stack);
  const again = await launchFromDashboard(page, stack);
  assert.equal(again.url(), `${stack.appUrl}/portal`);
  await expectPortal(again, installedAppId);
  await screenshot(page, stack, '2-relaunched');
});
