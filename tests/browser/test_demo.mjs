// `make demo`'s script end to end: scripts/demo on ephemeral ports (its state and master key in
// a temporary directory), then in headless Chromium the dashboard it prints: the seeded
// identities are listed and Launch app opens the portal in the cross-site iframe. SIGINT (what
// Ctrl-C sends) stops both servers and the script exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  buildDir,
  expectPortal,
  freePort,
  launchBrowser,
  repoRoot,
  screenshot,
  skipUnlessChromium,
  waitForFrame,
} from './harness.mjs';

skipUnlessChromium();

const BANNER_TIMEOUT_MS = 30000;
const stack = { name: 'demo' };
let demo, output = '', exited, dir, browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kyc-demo-'));
  const cloudPort = await freePort();
  let appPort = await freePort();
  while (appPort === cloudPort) appPort = await freePort();
  stack.cloudUrl = `http://127.0.0.1:${cloudPort}`;
  stack.appUrl = `http://localhost:${appPort}`;
  demo = spawn(join(repoRoot, 'scripts', 'demo'), [], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KYC_BUILD_DIR: buildDir,
      DEMO_CLOUD_PORT: String(cloudPort),
      DEMO_APP_PORT: String(appPort),
      DEMO_IDENTITIES: '500',
      DEMO_STATE_DIR: join(dir, 'state'),
      DEMO_MASTER_KEY_FILE: join(dir, 'master.key'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((done) => demo.once('exit', (code, signal) => done({ code, signal })));
  demo.stdout.on('data', (c) => (output += c));
  demo.stderr.on('data', (c) => (output += c));
  const deadline = Date.now() + BANNER_TIMEOUT_MS;
  while (!output.includes('Ctrl-C stops both servers')) {
    if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the demo prints the dashboard URL, seeds identities and keeps its key private', async () => {
  assert.ok(output.includes(`${stack.cloudUrl}/dashboard`), output);
  assert.match(output, /installed the KYC app with all permissions: instapp_[0-9a-f]{32}/);
  assert.match(output, /seeded 500 identities/);
  assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
});

test('the printed dashboard lists identities and launches the portal', async () => {
  const installedAppId = /instapp_[0-9a-f]{32}/.exec(output)[0];
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${stack.cloudUrl}/dashboard/identities`);
  assert.ok((await page.locator('table tr').count()) > 10, 'identities are listed');
  await screenshot(page, stack, '1-identities');

  await page.goto(`${stack.cloudUrl}/dashboard/apps`);
  await page.getByRole('link', { name: 'KYC review' }).first().click();
  await page.getByRole('button', { name: 'Launch app' }).click();
  const frame = await waitForFrame(page, (url) => url.startsWith(`${stack.appUrl}/portal`));
  assert.equal(frame.url(), `${stack.appUrl}/portal`);
  await expectPortal(frame, installedAppId);
  await screenshot(page, stack, '2-portal');
});

test('SIGINT stops both servers and the demo exits 0', async () => {
  demo.kill('SIGINT');
  const timer = setTimeout(() => demo.kill('SIGKILL'), 10000);
  const { code, signal } = await exited;
  clearTimeout(timer);
  assert.equal(signal, null, output);
  assert.equal(code, 0, output);
  assert.match(output, /stopping kyc serve and cloudsim/);
  for (const url of [stack.cloudUrl, stack.appUrl]) {
    await assert.rejects(fetch(`${url}/healthz`), `${url} still answers`);
  }
});
