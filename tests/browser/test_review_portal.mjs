// The review portal in headless Chromium, inside the dashboard's cross-site iframe, against the
// real cloudsim (file database, seeded with planted near-matches of the fixture lists) and the
// real `kyc serve` screening against those lists:
//   - the overview shows counts, the two SVG charts and the review policy;
//   - the queue filters by status and search and links to identities;
//   - the identity page shows each match beside its list entry with the matching tokens
//     highlighted and the qualifier breakdown;
//   - four-eyes: Ada sets up the first reviewer account and invites Grace, approves a
//     high-scoring identity with a note (pending), cannot confirm it herself, Grace (switched to
//     in the dashboard's user switcher) enrols with the code and confirms it, and the identity's
//     history shows both accounts with the status change;
//   - the CSV export and the dossier download.
// Screenshots go to <build>/test-artifacts/browser/review-portal-*.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  admin,
  artifactsDir,
  enrolReviewer,
  expectPortal,
  inviteReviewer,
  launchBrowser,
  launchFromDashboard,
  openAppPage,
  screenshot,
  setUpFirstReviewer,
  skipUnlessChromium,
  startStack,
  stopStack,
} from './harness.mjs';

skipUnlessChromium();

let stack, browser, context, page, frame, installedAppId, users, chosen;

// In the portal frame: the portal API's answer (the frame holds the session cookie).
async function portalApi(path) {
  return frame.evaluate(async (p) => {
    const res = await fetch(p, { signal: AbortSignal.timeout(10000) });
    const type = res.headers.get('content-type') || '';
    return {
      status: res.status,
      disposition: res.headers.get('content-disposition'),
      body: type.includes('json') ? await res.json() : await res.text(),
    };
  }, path);
}

async function launchAs(user) {
  await page.goto(`${stack.dashboardUrl}/apps`);
  const option = `${user.user_id}/${stack.instanceId}`;
  await page.locator('select[name="context"]').selectOption(option);
  await page.getByRole('button', { name: 'Switch' }).click();
  await page.waitForURL('**/dashboard/apps');
  await openAppPage(page, stack);
  frame = await launchFromDashboard(page, stack);
  await frame.locator('h1').first().waitFor();
  return frame;
}

before(async () => {
  stack = await startStack('review-portal', {
    seed: { identities: 120, seed: 11, plantRate: 0.15, badRate: 0.05 },
    kycArgs: ['--pipeline-threads', '2'],
  });
  const state = await admin.get(stack, '/admin/state');
  users = state.data.users.filter((u) => u.organization_id === state.data.instances[0].organization_id);
  assert.ok(users.length >= 2, JSON.stringify(state.data.users));
  const inst = await admin.post(stack, '/admin/installs', { app_id: stack.appId, all_permissions: true });
  assert.equal(inst.status, 201, JSON.stringify(inst.data));
  installedAppId = inst.data.installed_app_id;

  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  if (stack) await stopStack(stack);
});

test('the overview shows counts, charts and the review policy once screening is done', async () => {
  await launchAs(users[0]);
  await expectPortal(frame, installedAppId);
  // the install's first run screens every seeded identity
  let progress;
  for (let i = 0; i < 200; i++) {
    progress = (await portalApi('/portal/api/progress')).body;
    if (progress.state === 'idle' && progress.counts && progress.counts.total >= 100) break;
    await page.waitForTimeout(150);
  }
  assert.ok(progress.counts.total >= 100, JSON.stringify(progress));
  assert.ok(progress.counts.hit + progress.counts.needs_review > 0, JSON.stringify(progress.counts));
  await frame.goto(`${stack.appUrl}/portal`);
  await frame.locator('h1', { hasText: 'Overview' }).waitFor();
  assert.equal(await frame.locator('.cards .card').count(), 6);
  assert.equal(await frame.locator('figure.chart svg[role="img"]').count(), 2);
  assert.ok((await frame.locator('svg rect.bar').count()) > 0);
  assert.ok(await frame.locator('#four-eyes').isChecked());
  assert.equal(await frame.getByLabel('Four-eyes review').count(), 1);
  await screenshot(page, stack, '1-overview');
});

test('the queue filters by status and by name and links to the identity page', async () => {
  await frame.getByRole('link', { name: 'Queue' }).click();
  await frame.locator('h1', { hasText: 'Review queue' }).waitFor();
  const total = await frame.locator('#queue tbody tr').count();
  assert.ok(total > 1);
  await frame.getByLabel('Status').selectOption('needs_review');
  await frame.getByRole('button', { name: 'Apply' }).click();
  await frame.waitForURL((u) => u.searchParams.get('status') === 'needs_review');
  const badges = await frame.locator('#queue tbody .badge').allTextContents();
  assert.ok(badges.length > 0);
  assert.ok(badges.every((b) => b === 'Needs review'), badges.join(','));
  // back to any status, highest score first, and search for the top name
  await frame.getByLabel('Status').selectOption('');
  await frame.getByRole('button', { name: 'Apply' }).click();
  await frame.waitForURL((u) => u.searchParams.get('status') === '');
  const first = frame.locator('#queue tbody tr').first();
  chosen = { name: (await first.locator('th a').textContent()).trim() };
  const word = chosen.name.split(/\s+/).pop();
  await frame.getByLabel('Search by name').fill(word);
  await frame.getByLabel('Search by name').press('Enter');
  await frame.waitForURL((u) => u.searchParams.get('q') === word);
  const names = await frame.locator('#queue tbody th a').allTextContents();
  assert.ok(names.length >= 1 && names.every((n) => n.toLowerCase().includes(word.toLowerCase())), names.join(','));
  await screenshot(page, stack, '2-queue-filtered');
  await frame.locator('#queue tbody th a').first().click();
  await frame.waitForURL(/view=identity/);
  chosen.url = frame.url();
  chosen.id = new URL(chosen.url).searchParams.get('id');
});

test('the identity page shows the matches beside the list entry with highlighted tokens', async () => {
  await frame.locator('h2', { hasText: 'Sanctions matches' }).waitFor();
  const matches = frame.locator('article.match');
  assert.ok((await matches.count()) >= 1);
  const firstMatch = matches.first();
  assert.equal(await firstMatch.locator('table.side caption').textContent(), 'The identity beside the list entry');
  const marks = await firstMatch.locator('table.side td.name mark').allTextContents();
  assert.ok(marks.length >= 2, `highlighted tokens: ${marks.join(',')}`);
  assert.ok((await firstMatch.locator('caption', { hasText: 'Token alignment' }).count()) === 1);
  assert.ok((await firstMatch.locator('caption', { hasText: 'Qualifiers' }).count()) === 1);
  assert.ok((await frame.locator('caption', { hasText: 'Checks and reasons' }).count()) === 1);
  const score = Number((await frame.locator('.head-badges .score').textContent()).replace('Score', ''));
  assert.ok(score >= 0.8, `top of the queue scores ${score}`);
  await screenshot(page, stack, '3-identity');
  await firstMatch.screenshot({ path: join(artifactsDir, `${stack.name}-3b-match.png`) });
});

test('four-eyes: Ada approves with a note, cannot confirm herself, Grace confirms', async () => {
  // decisions need signed-in reviewers: Ada sets up the first account and invites Grace
  await setUpFirstReviewer(frame, stack, 'Ada');
  const adaAccount = (await portalApi('/portal/api/reviewers/me')).body.account.account_id;
  const enrolment = await inviteReviewer(frame, stack);
  await frame.goto(chosen.url);
  await frame.locator('h2', { hasText: 'Sanctions matches' }).waitFor();
  // the note is required: the A shortcut without one asks for it
  await frame.locator('body').press('a');
  assert.equal(await frame.evaluate(() => document.activeElement.id), 'decision-note');
  await frame.getByLabel('Note (required)').fill('Namesake: date of birth and nationality differ.');
  await frame.getByRole('button', { name: /Approve/ }).click();
  await frame.locator('#pending').waitFor();
  assert.match(await frame.locator('#pending').textContent(), /proposed to approve/);
  assert.equal(await frame.locator('[data-confirm-button]').count(), 0, 'the maker gets no confirm button');
  assert.notEqual(await frame.locator('.head-badges .badge').first().textContent(), 'Approved', 'nothing applied yet');
  await screenshot(page, stack, '4-pending');
  // the API refuses the maker as checker too
  const pending = (await portalApi(`/portal/api/identities/${chosen.id}`)).body.pending;
  const refused = await frame.evaluate(async (id) => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch(`/portal/api/decisions/${id}/confirm`, {
      signal: AbortSignal.timeout(10000),
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ note: 'self-check' }),
    });
    return { status: res.status, body: await res.json() };
  }, pending.decision_id);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'same_reviewer');

  // Grace, switched to in the dashboard, enrols with Ada's code and confirms
  await launchAs(users[1]);
  await enrolReviewer(frame, stack, enrolment, 'Grace');
  const graceAccount = (await portalApi('/portal/api/reviewers/me')).body.account.account_id;
  await frame.goto(chosen.url);
  await frame.locator('#pending').waitFor();
  assert.equal(await frame.locator('#reviewer').textContent(), 'Grace');
  await frame.getByLabel('Note (required)').fill('Checked the list entry: not the same person.');
  await frame.getByRole('button', { name: 'Confirm' }).click();
  await frame.locator('#pending').waitFor({ state: 'detached' });
  assert.equal(await frame.locator('.head-badges .badge').first().textContent(), 'Approved');
  const history = await frame.locator('#history tbody').textContent();
  assert.ok(history.includes(adaAccount) && history.includes(graceAccount), history);
  assert.match(history, /approve \(pending\)/);
  assert.match(history, /approve \(confirmed\)/);
  assert.match(history, /→ Approved/);
  await screenshot(page, stack, '5-approved');
  await frame.locator('#history').screenshot({ path: join(artifactsDir, `${stack.name}-5b-history.png`) });
});

test('the CSV export and the dossier download', async () => {
  const csv = await portalApi('/portal/api/export.csv?status=approved');
  assert.equal(csv.status, 200);
  assert.match(csv.disposition, /^attachment; filename="kyc-results-\d{8}\.csv"$/);
  assert.ok(csv.body.startsWith('identity_id,name,'));
  assert.ok(csv.body.includes(chosen.id));
  const dossier = await portalApi(`/portal/api/identities/${chosen.id}/dossier`);
  assert.equal(dossier.status, 200);
  assert.match(dossier.disposition, /kyc-dossier-/);
  assert.equal(dossier.body.chain.intact, true);
  assert.ok(dossier.body.records.length >= 3);
  assert.equal(dossier.body.current.status, 'approved');
  assert.ok(!JSON.stringify(dossier.body).includes('blnk_'), 'no API key in the dossier');
});
