// In headless Chromium: a page on a foreign origin (served by this test on its own port) that
// frames the portal, with a fresh, valid launch URL and with the bare /portal, gets nothing:
// the portal's CSP frame-ancestors admits only Blnk's origins and the dashboard's, so Chromium
// refuses to render it in the frame. The dashboard, framing the same portal, is the control.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import {
  admin,
  expectPortal,
  installAll,
  launchBrowser,
  launchFromDashboard,
  openAppPage,
  screenshot,
  skipUnlessChromium,
  startStack,
  stopStack,
} from './harness.mjs';

skipUnlessChromium();

let stack, browser, installedAppId, foreign, foreignUrl;
let framedUrls = [];

function escapeAttribute(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

before(async () => {
  stack = await startStack('foreign-frame');
  installedAppId = await installAll(stack);
  browser = await launchBrowser();
  // The foreign page: two iframes on the portal, nothing else.
  foreign = createServer((req, res) => {
    const frames = framedUrls
      .map((u, i) => `<iframe id="f${i}" src="${escapeAttribute(u)}" width="600" height="200"></iframe>`)
      .join('\n');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Not Blnk</title><h1>A foreign site</h1>\n${frames}\n`);
  });
  await new Promise((r) => foreign.listen(0, '127.0.0.1', r));
  foreignUrl = `http://127.0.0.1:${foreign.address().port}/`;
});

after(async () => {
  await browser?.close();
  foreign?.close();
  if (stack) await stopStack(stack);
});

test('a foreign origin cannot frame the portal', async () => {
  const launch = await admin.post(stack, '/admin/launches', { installed_app_id: installedAppId });
  assert.equal(launch.status, 200, JSON.stringify(launch.data));
  const portalUrl = launch.data.portal_url;
  assert.match(portalUrl, /\/portal\?token=/);
  framedUrls = [portalUrl, `${stack.appUrl}/portal`];

  const page = await (await browser.newContext()).newPage();
  const refusals = [];
  page.on('console', (m) => {
    if (/frame-ancestors/.test(m.text())) refusals.push(m.text());
  });
  const portalResponses = [];
  page.on('response', (r) => {
    if (r.url().startsWith(stack.appUrl)) portalResponses.push(r);
  });
  await page.goto(foreignUrl);
  await page.waitForLoadState('load');
  // Both frames were requested from the app (so it is the CSP, not a network error, that
  // stops them) ...
  const deadline = Date.now() + 5000;
  while (refusals.length < 2 && Date.now() < deadline) await page.waitForTimeout(50);
  assert.ok(portalResponses.length >= 2, portalResponses.map((r) => r.url()).join('\n'));
  for (const r of portalResponses) {
    const csp = r.headers()['content-security-policy'] || '';
    assert.ok(csp.includes('frame-ancestors'), `${r.url()}: ${csp}`);
    assert.ok(!csp.includes(new URL(foreignUrl).origin), csp);
  }
  // ... and Chromium refused to render either one.
  assert.equal(refusals.length, 2, refusals.join('\n'));
  for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
    let content = '';
    try {
      content = await frame.content();
    } catch {
      content = ''; // an inaccessible frame is as good as an empty one
    }
    assert.ok(!content.includes('KYC review'), `${frame.url()}:\n${content.slice(0, 500)}`);
    assert.ok(!content.includes(installedAppId), frame.url());
    assert.ok(!frame.url().startsWith(`${stack.appUrl}/portal`), frame.url());
  }
  await screenshot(page, stack, '1-foreign-page');
});

test('the dashboard origin frames the same portal (control)', async () => {
  const page = await (await browser.newContext()).newPage();
  await openAppPage(page, stack);
  const frame = await launchFromDashboard(page, stack);
  await expectPortal(frame, installedAppId);
  await screenshot(page, stack, '2-dashboard-control');
});
