// Keyboard use of the identity page in headless Chromium, inside the dashboard's iframe, against
// the real cloudsim (file database, seeded with planted matches) and the real `kyc serve`:
//   - N goes to the next identity that needs a decision (hit first, then needs_review);
//   - R chooses reject and puts the focus in the note; Escape and leaving the note with
//     Shift+Tab submit nothing; A then chooses approve and focuses the note;
//   - letters typed into the note are text, not shortcuts.
// Screenshots go to <build>/test-artifacts/browser/review-keys-*.png.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  admin,
  artifactsDir,
  buildDir,
  expectPortal,
  freePort,
  launchBrowser,
  launchFromDashboard,
  openAppPage,
  repoRoot,
  screenshot,
  skipUnlessChromium,
} from './harness.mjs';

skipUnlessChromium();

const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const FIXTURES = join(repoRoot, 'tests', 'screen', 'fixtures');
const NEEDS_DECISION = ['hit', 'needs_review'];
const stack = { name: 'review-keys', servers: [] };
let browser, page, frame, installedAppId;

// A server process, ready once it printed its listening line (harness.mjs starts cloudsim
// without a database file; this test seeds one, as test_review_portal.mjs does).
function startServer(name, argv, env = {}) {
  const server = { name, output: '' };
  server.child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  server.exited = new Promise((done) => server.child.once('exit', (code, signal) => done({ code, signal })));
  const collect = (chunk) => (server.output += chunk.toString());
  server.child.stdout.on('data', collect);
  server.child.stderr.on('data', collect);
  server.stop = async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
      await server.exited;
      clearTimeout(timer);
    }
    return server.exited;
  };
  stack.servers.push(server);
  return new Promise((resolveUrl, reject) => {
    const deadline = Date.now() + 15000;
    const tick = () => {
      const m = /event=server\.listening url=(\S+)/.exec(server.output);
      if (m) return resolveUrl(m[1]);
      if (server.child.exitCode !== null || Date.now() > deadline) {
        return reject(new Error(`${name} did not start:\n${server.output}`));
      }
      setTimeout(tick, 25);
    };
    tick();
  });
}

async function portalApi(path) {
  return frame.evaluate(async (p) => {
    const res = await fetch(p);
    return { status: res.status, body: await res.json() };
  }, path);
}

async function identity(id) {
  const res = await portalApi(`/portal/api/identities/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

const currentId = () => new URL(frame.url()).searchParams.get('id');
const activeId = () => frame.evaluate(() => document.activeElement && document.activeElement.id);
const pressed = (action) =>
  frame.locator(`#decision-form button[value="${action}"]`).getAttribute('aria-pressed');

before(async () => {
  mkdirSync(artifactsDir, { recursive: true });
  stack.dir = mkdtempSync(join(tmpdir(), 'kyc-browser-keys-'));
  const csDb = join(stack.dir, 'cloudsim.db');
  stack.cloudUrl = await startServer('cloudsim', [
    join(buildDir, 'cloudsim'), 'serve', '--listen', '127.0.0.1:0', '--db', csDb,
    '--config', join(repoRoot, 'cloudsim', 'manifests', 'orgs.example.json'),
  ]);
  stack.dashboardUrl = `${stack.cloudUrl}/dashboard`;
  const state = await admin.get(stack, '/admin/state');
  stack.instanceId = state.data.instances[0].instance_id;
  const seeded = spawnSync(join(buildDir, 'cloudsim'), [
    'seed', '--db', csDb, '--instance', stack.instanceId, '--identities', '40', '--seed', '5',
    '--plant-lists', join(FIXTURES, 'ofac'), join(FIXTURES, 'un.xml'), '--plant-rate', '0.3',
    '--bad-rate', '0',
  ], { encoding: 'utf8' });
  assert.equal(seeded.status, 0, seeded.stderr + seeded.stdout);

  const port = await freePort();
  stack.appUrl = `http://localhost:${port}`;
  const reg = await admin.post(stack, '/admin/apps', {
    display_name: 'KYC review',
    description: 'Browser test registration',
    developer_name: 'Blnk KYC team',
    callback_url: `${stack.appUrl}/api/callback`,
    portal_generator_url: `${stack.appUrl}/api/portal`,
    permissions: ['data:read', 'data:write', 'alerts:read', 'alerts:write'],
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.data));
  stack.appId = reg.data.app_id;
  await startServer('kyc', [
    join(buildDir, 'kyc'), 'serve', '--listen', `127.0.0.1:${port}`, '--public-url', stack.appUrl,
    '--db', join(stack.dir, 'kyc.db'), '--app-id', stack.appId, '--frame-ancestors', stack.cloudUrl,
    '--cloud-url', stack.cloudUrl, '--lists', join(FIXTURES, 'ofac'), '--lists', join(FIXTURES, 'un.xml'),
    '--pipeline-threads', '2',
  ], { KYC_MASTER_KEY: MASTER_KEY });
  const inst = await admin.post(stack, '/admin/installs', { app_id: stack.appId, all_permissions: true });
  assert.equal(inst.status, 201, JSON.stringify(inst.data));
  installedAppId = inst.data.installed_app_id;

  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
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
  assert.ok(progress.counts.hit + progress.counts.needs_review >= 2, JSON.stringify(progress));
});

after(async () => {
  await browser?.close();
  for (const server of [...stack.servers].reverse()) {
    const { code, signal } = await server.stop();
    writeFileSync(join(artifactsDir, `${stack.name}-${server.name}.log`),
      `${server.output}# ${server.name} exited: code=${code} signal=${signal}\n`);
  }
  if (stack.dir) rmSync(stack.dir, { recursive: true, force: true });
});

test('N goes to the next identity that needs a decision', async () => {
  const list = (await portalApi('/portal/api/identities?status=needs_review&page_size=1')).body;
  const first = list.items.length ? list.items[0].identity_id
    : (await portalApi('/portal/api/identities?status=hit&page_size=1')).body.items[0].identity_id;
  await frame.goto(`${stack.appUrl}/portal?view=identity&id=${first}`);
  await frame.locator('#decision-form').waitFor();
  assert.equal(await frame.locator('#next-identity').getAttribute('aria-keyshortcuts'), 'n');
  // the frame was navigated by the test, so give it the focus as a user's click would
  await frame.locator('h1').first().click();
  await page.keyboard.press('n');
  await frame.waitForURL((u) => u.searchParams.get('id') && u.searchParams.get('id') !== first);
  await frame.locator('#decision-form').waitFor();
  const next = await identity(currentId());
  assert.ok(NEEDS_DECISION.includes(next.status), `N went to a ${next.status} identity`);
  await screenshot(page, stack, '1-next');
});

test('R chooses reject with the focus in the note; Escape and Shift+Tab submit nothing', async () => {
  const id = currentId();
  const before = await identity(id);
  await frame.locator('h1').first().click();
  await page.keyboard.press('r');
  assert.equal(await activeId(), 'decision-note');
  assert.equal(await pressed('reject'), 'true');
  assert.equal(await pressed('approve'), 'false');
  assert.equal(await frame.locator('#decision-note').inputValue(), '');
  await screenshot(page, stack, '2-reject-chosen');

  // in the note, letters are text: N does not leave the page, A and R do not choose
  await frame.locator('#decision-note').press('n');
  await frame.locator('#decision-note').press('a');
  assert.equal(currentId(), id);
  assert.equal(await frame.locator('#decision-note').inputValue(), 'na');
  assert.equal(await pressed('reject'), 'true');
  await frame.locator('#decision-note').fill('');

  // Escape, then leaving the note by keyboard: nothing is sent, the identity is as it was
  await frame.locator('#decision-note').press('Escape');
  await page.keyboard.press('Shift+Tab');
  assert.notEqual(await activeId(), 'decision-note');
  await page.waitForTimeout(300);
  assert.equal(currentId(), id);
  const after = await identity(id);
  assert.equal(after.status, before.status);
  assert.deepEqual(after.decisions, before.decisions);
  assert.deepEqual(after.pending, before.pending);
});

test('A chooses approve and asks for the note', async () => {
  const id = currentId();
  await page.keyboard.press('a');
  assert.equal(await activeId(), 'decision-note');
  assert.equal(await pressed('approve'), 'true');
  assert.equal(await pressed('reject'), 'false');
  assert.equal(currentId(), id);
  assert.equal((await identity(id)).decisions.length, 0, 'A without a note decides nothing');
  await screenshot(page, stack, '3-approve-chosen');
});
