// Reviewer accounts (spec D23′) in headless Chromium, inside the dashboard's cross-site iframe,
// against the real cloudsim in V2 mode (launches carry no user_id) and the real `kyc serve`:
//   - a fresh install: the portal reads, says there is no reviewer yet, and a decision from the
//     page is refused with "Sign in to decide";
//   - first-run set-up: the secret is shown once, as text, as an otpauth:// URI and as an inline
//     SVG QR code (no style attribute, no CSP violation), and the account is saved only after a
//     code computed from that secret (node's HMAC, as an authenticator app) checks out;
//   - sign out, a wrong code is refused with its message, a right one signs in;
//   - signed in, the reviewer decides from the identity page.
// Screenshots go to <build>/test-artifacts/browser/reviewer-accounts-*.png.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  admin,
  expectPortal,
  launchBrowser,
  launchFromDashboard,
  openAppPage,
  screenshot,
  setUpFirstReviewer,
  signInReviewer,
  skipUnlessChromium,
  startStack,
  stopStack,
  totp,
} from './harness.mjs';

skipUnlessChromium();

let stack, browser, page, frame, installedAppId, ada;
const cspViolations = [];

async function portalApi(path) {
  return frame.evaluate(async (p) => {
    const res = await fetch(p, { signal: AbortSignal.timeout(10000) });
    return { status: res.status, body: await res.json() };
  }, path);
}

// An identity whose approval needs one reviewer (not a hit, score below 0.80).
async function singleReviewerIdentity() {
  const list = (await portalApi('/portal/api/identities?status=needs_review&page_size=100')).body;
  const item = list.items.find((i) => i.score < 0.8);
  assert.ok(item, `no needs_review identity below 0.80: ${JSON.stringify(list.items.slice(0, 3))}`);
  return item.identity_id;
}

before(async () => {
  stack = await startStack('reviewer-accounts', {
    seed: { identities: 40, seed: 9, plantRate: 0.1, badRate: 0.4 },
    kycArgs: ['--pipeline-threads', '2'],
    mode: 'v2',
  });
  const inst = await admin.post(stack, '/admin/installs', { app_id: stack.appId, all_permissions: true });
  assert.equal(inst.status, 201, JSON.stringify(inst.data));
  installedAppId = inst.data.installed_app_id;
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await openAppPage(page, stack);
  frame = await launchFromDashboard(page, stack);
  await frame.locator('h1').first().waitFor();
  await expectPortal(frame, installedAppId);
  let progress;
  for (let i = 0; i < 200; i++) {
    progress = (await portalApi('/portal/api/progress')).body;
    if (progress.state === 'idle' && progress.counts && progress.counts.total >= 40) break;
    await page.waitForTimeout(150);
  }
  assert.equal(progress.counts.total, 40, JSON.stringify(progress));
});

after(async () => {
  await browser?.close();
  if (stack) await stopStack(stack);
});

test('a fresh install reads, but deciding needs a signed-in reviewer', async () => {
  const session = (await portalApi('/portal/api/session')).body;
  assert.equal(session.user_id ?? null, null, 'a V2 launch names no user');
  assert.equal(await frame.locator('#sign-in-link').textContent(), 'Set up reviewer accounts');
  assert.match(await frame.locator('.banner.warn').textContent(), /No reviewer accounts yet/);
  const id = await singleReviewerIdentity();
  await frame.goto(`${stack.appUrl}/portal?view=identity&id=${id}`);
  await frame.getByLabel('Note (required)').fill('Documents checked.');
  await frame.getByRole('button', { name: /Approve/ }).click();
  await frame.locator('#decision-form .form-status', { hasText: 'Sign in to decide' }).waitFor();
  assert.equal((await portalApi(`/portal/api/identities/${id}`)).body.decisions.length, 0);
  await screenshot(page, stack, '1-read-only');
});

test('first-run set-up shows the secret once and saves the account after a check code', async () => {
  await frame.goto(`${stack.appUrl}/portal?view=signin`);
  await frame.locator('h1', { hasText: 'Set up reviewer accounts' }).waitFor();
  await frame.getByLabel('Your name (shown to the other reviewers)').fill('Ada Lovelace');
  await frame.getByRole('button', { name: 'Create my secret' }).click();
  await frame.locator('#secret-panel svg.qr').waitFor();
  const secret = (await frame.locator('#secret-text').textContent()).trim();
  const uri = (await frame.locator('#secret-uri').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.equal(uri, `otpauth://totp/KYC%20review:Ada%20Lovelace?secret=${secret}&issuer=KYC%20review&algorithm=SHA1&digits=6&period=30`);
  const qr = frame.locator('#secret-panel svg.qr');
  assert.equal(await qr.getAttribute('role'), 'img');
  assert.ok((await qr.locator('path').getAttribute('d')).length > 500);
  const box = await qr.boundingBox();
  assert.ok(box.width >= 150 && Math.abs(box.width - box.height) < 1, JSON.stringify(box));
  assert.equal(await frame.evaluate(() => document.querySelectorAll('[style]').length), 0);
  assert.equal((await portalApi('/portal/api/reviewers/me')).body.setup_needed, true, 'nothing saved yet');
  await screenshot(page, stack, '2-secret');
  // a wrong code saves nothing; the right one does, and signs the session in
  const right = totp(secret);
  await frame.getByLabel('Code from the app').fill(right === '000000' ? '111111' : '000000');
  await frame.getByRole('button', { name: 'Save my account' }).click();
  await frame.locator('#secret-panel .form-status', { hasText: 'not right' }).waitFor();
  await frame.getByLabel('Code from the app').fill(totp(secret));
  await frame.getByRole('button', { name: 'Save my account' }).click();
  await frame.waitForURL((u) => u.pathname === '/portal' && u.search === '');
  assert.equal(await frame.locator('#reviewer').textContent(), 'Ada Lovelace');
  const me = (await portalApi('/portal/api/reviewers/me')).body;
  assert.equal(me.signed_in, true);
  assert.equal(me.account.role, 'admin');
  ada = { secret };
  // the set-up is done for good
  await frame.goto(`${stack.appUrl}/portal?view=signin`);
  await frame.locator('h1', { hasText: 'Signed in' }).waitFor();
});

test('sign out, a wrong code is refused, the right one signs in', async () => {
  await frame.getByRole('button', { name: 'Sign out' }).click();
  await frame.locator('#sign-in-link', { hasText: 'Sign in to decide' }).waitFor();
  await frame.getByRole('link', { name: 'Sign in to decide' }).click();
  await frame.locator('h1', { hasText: 'Sign in to decide' }).waitFor();
  await frame.getByLabel('Account').selectOption({ label: 'Ada Lovelace' });
  const right = totp(ada.secret, 1);
  await frame.getByLabel('Code from your authenticator app').fill(right === '123456' ? '654321' : '123456');
  await frame.getByRole('button', { name: 'Sign in' }).click();
  await frame.locator('#signin-form .form-status', { hasText: '5 wrong codes' }).waitFor();
  await screenshot(page, stack, '3-wrong-code');
  await signInReviewer(frame, stack, 'Ada Lovelace', ada.secret, 1);
  assert.equal(await frame.locator('#reviewer').textContent(), 'Ada Lovelace');
});

test('signed in, the reviewer decides', async () => {
  const id = await singleReviewerIdentity();
  await frame.goto(`${stack.appUrl}/portal?view=identity&id=${id}`);
  await frame.getByLabel('Note (required)').fill('Data-quality finding checked against the documents.');
  await frame.getByRole('button', { name: /Approve/ }).click();
  await frame.waitForLoadState('load');
  await frame.locator('.head-badges .badge', { hasText: 'Approved' }).first().waitFor();
  const after = (await portalApi(`/portal/api/identities/${id}`)).body;
  assert.equal(after.status, 'approved');
  const me = (await portalApi('/portal/api/reviewers/me')).body;
  assert.equal(after.decisions[0].maker, me.account.account_id);
  assert.equal(after.decisions[0].maker_user_id, null, 'V2: no user_id beside the account');
  await screenshot(page, stack, '4-decided');
  assert.deepEqual(cspViolations, []);
});
