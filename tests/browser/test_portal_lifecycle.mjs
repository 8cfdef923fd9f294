// In headless Chromium, as a dashboard user: install the KYC app with a subset of its
// permissions, launch it, see the portal inside the dashboard's cross-site iframe with the
// launch token gone from its address, reload it within the session, uninstall from a second
// tab and see the framed portal refuse to open.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  admin,
  expectPortal,
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

const GRANTED = ['data:read', 'alerts:write'];
let stack, browser, context, page, frame, installedAppId;

before(async () => {
  stack = await startStack('portal-lifecycle');
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  if (stack) await stopStack(stack);
});

test('install from the dashboard grants only the ticked permissions', async () => {
  await openAppPage(page, stack);
  for (const box of await page.locator('input[name="permission"]').all()) {
    const value = await box.getAttribute('value');
    if (GRANTED.includes(value)) await box.check();
    else await box.uncheck();
  }
  await page.getByRole('button', { name: 'Install' }).click();
  await page.waitForURL(/notice=installed/);
  await screenshot(page, stack, '1-installed');
  assert.match(await page.textContent('main'), /The app is installed/);

  const installs = await admin.get(stack, '/admin/installs');
  const live = installs.data.data.filter((i) => i.app_id === stack.appId && i.status === 'active');
  assert.equal(live.length, 1, JSON.stringify(installs.data));
  installedAppId = live[0].installed_app_id;
  assert.deepEqual(live[0].granted_permissions, GRANTED);
  assert.equal(live[0].instance_id, stack.instanceId);
  // The install event reached kyc serve and was acknowledged at once.
  const deliveries = await admin.get(stack, `/admin/deliveries?installed_app_id=${installedAppId}`);
  const installEvents = deliveries.data.data.filter((d) => d.kind === 'install');
  assert.ok(installEvents.some((d) => d.outcome === 'ok'), JSON.stringify(deliveries.data));
});

test('launch shows the portal inside the cross-site iframe, token gone from its address', async () => {
  await openAppPage(page, stack);
  const portalRequests = [];
  page.on('request', (r) => {
    if (r.url().startsWith(stack.appUrl)) portalRequests.push(r.url());
  });
  frame = await launchFromDashboard(page, stack);
  await frame.locator('h1').first().waitFor();
  await screenshot(page, stack, '2-launched');

  // The dashboard loaded the single-use launch URL; the app redeemed it and redirected.
  assert.ok(
    portalRequests.some((u) => /\/portal\?token=[A-Za-z0-9_-]{43}$/.test(u)),
    portalRequests.join('\n'),
  );
  assert.equal(frame.url(), `${stack.appUrl}/portal`);
  assert.ok(!frame.url().includes('token='));
  assert.notEqual(new URL(frame.url()).origin, new URL(page.url()).origin);

  // The session (partitioned third-party cookie) is bound to the launching user and carries
  // exactly the granted subset.
  const { text, session } = await expectPortal(frame, installedAppId);
  assert.match(text, /KYC review/);
  assert.equal(session.user_id, stack.user.user_id);
  assert.deepEqual(session.granted_permissions, GRANTED);

  // (context.cookies(url) leaves partitioned cookies out, so filter by hand.)
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === 'capp_session' && c.domain === 'localhost');
  assert.ok(cookie, JSON.stringify(cookies));
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'None');
  assert.equal(cookie.path, '/portal');
  // Partitioned: kept under the top-level (dashboard) site.
  assert.equal(cookie.partitionKey, new URL(stack.cloudUrl).origin.replace(/:\d+$/, ''));
});

test('reloading the framed portal within the session works', async () => {
  const response = await frame.goto(`${stack.appUrl}/portal`);
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.ok(csp.includes(`frame-ancestors 'self' https://blnkfinance.com`), csp);
  assert.ok(csp.includes(stack.cloudUrl), csp);
  assert.equal(response.headers()['x-frame-options'], undefined);
  await expectPortal(frame, installedAppId);
  await screenshot(page, stack, '3-reloaded');
});

test('after an uninstall the framed portal refuses to open', async () => {
  const other = await context.newPage();
  await openAppPage(other, stack);
  await other.getByRole('button', { name: 'Uninstall' }).click();
  await other.waitForURL(/notice=uninstalled/);
  await screenshot(other, stack, '4-uninstalled-dashboard');
  await other.close();

  // Uninstall deletes the install's sessions (spec D7), so the cookie no longer opens anything:
  // 401 "open this app from Blnk Cloud" (403 "no longer installed" if a session survived).
  const response = await frame.goto(`${stack.appUrl}/portal`);
  assert.ok([401, 403].includes(response.status()), `status ${response.status()}`);
  const text = await frame.locator('body').innerText();
  assert.match(text, /Launch the app again|no longer installed/);
  assert.ok(!text.includes(installedAppId));
  const session = await portalSession(frame);
  assert.ok([401, 403].includes(session.status), JSON.stringify(session));
  await screenshot(page, stack, '5-refused-after-uninstall');
});
