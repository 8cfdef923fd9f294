// Shared set-up for the browser tests: the real cloudsim and the real `kyc serve` on ephemeral
// loopback ports, and Debian's headless chromium driven by playwright-core (never a downloaded
// browser).
//
// The two servers sit on different sites, as in Blnk Cloud: the dashboard on
// http://127.0.0.1:<port>, the app on http://localhost:<port>. The portal is therefore a
// cross-site iframe whose session cookie is third-party (SameSite=None; Secure; Partitioned);
// both hosts are loopback, which Chromium treats as potentially trustworthy, so it accepts a
// Secure cookie over plain http. kyc serve admits the dashboard origin with --frame-ancestors.
//
// Each test file calls startStack() once and stop() at the end; a server's output is kept in
// memory and written next to the screenshots under <build>/test-artifacts/browser/.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const buildDir = resolve(process.env.KYC_BUILD_DIR || join(repoRoot, 'build'));
export const artifactsDir = join(buildDir, 'test-artifacts', 'browser');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// CTest treats this exit code as "skipped" (SKIP_RETURN_CODE in CMakeLists.txt).
export const SKIP_EXIT_CODE = 77;

// Only a missing browser skips: CI installs chromium, so normally every test runs.
export function skipUnlessChromium() {
  if (!existsSync(chromiumPath)) {
    console.log(`SKIP: ${chromiumPath} not found (install Debian's chromium, or set CHROMIUM)`);
    process.exit(SKIP_EXIT_CODE);
  }
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TEST_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;

export async function launchBrowser() {
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch (err) {
    throw new Error(`playwright-core is not installed: run scripts/bootstrap (npm ci) (${err.message})`);
  }
  // playwright gives every launch a fresh, empty --user-data-dir and adds --headless. A browser
  // that does not come up in 60 s fails the suite with playwright's message (its default, 180 s,
  // left too little of CTest's 240 s for the hooks to report).
  return playwright.chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, timeout: 60000 });
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

// A started server process: resolves once it printed `event=server.listening url=...`.
class Server {
  constructor(name, argv, env) {
    this.name = name;
    this.output = '';
    this.exited = new Promise((done) => {
      this.child = spawn(argv[0], argv.slice(1), {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        this.output += `spawn failed: ${err.message}\n`;
        done({ code: -1, signal: null });
      });
    });
    const collect = (chunk) => {
      this.output += chunk.toString();
    };
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
  }

  async listening() {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let gone = false;
    this.exited.then(() => {
      gone = true;
    });
    while (Date.now() < deadline) {
      const m = /event=server\.listening url=(\S+)/.exec(this.output);
      if (m) return m[1];
      if (gone) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${this.name} did not start:\n${this.output}`);
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

async function json(method, url, body) {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(10000), // a hung server fails the test instead of the clock
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = { raw: text };
  }
  return { status: res.status, data };
}

// The list fixtures as the build lays them out (tests/screen/CMakeLists.txt).
export const FIXTURE_LISTS = join(buildDir, 'fixtures');

// cloudsim (V1, the example organization) + the KYC app registered with all four permissions
// + kyc serve pinned to that app. kycArgs are extra `kyc serve` flags (e.g. test-only TTLs).
// `mode` is cloudsim's launch mode: V1 by default (the launch names the dashboard's user, which
// the portal records beside the reviewer account), 'v2' for what Blnk Cloud does today (a launch
// without a user; decisions are told apart by the signed-in reviewer accounts alone).
// With `seed` ({identities, seed, plantRate, badRate}), cloudsim keeps a database file, the
// first instance is seeded with planted near-matches of the fixture lists before the app
// starts, and kyc serve screens against those lists.
export async function startStack(name, { kycArgs = [], seed = null, mode = 'v1' } = {}) {
  mkdirSync(artifactsDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), `kyc-browser-${name}-`));
  const stack = { name, dir, servers: [] };
  try {
    const cloudsimDb = join(dir, 'cloudsim.db');
    const cloudsim = new Server('cloudsim', [
      join(buildDir, 'cloudsim'),
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--mode',
      mode,
      ...(seed ? ['--db', cloudsimDb] : []),
      '--config',
      join(repoRoot, 'cloudsim', 'manifests', 'orgs.example.json'),
    ]);
    stack.servers.push(cloudsim);
    stack.cloudUrl = await cloudsim.listening();
    stack.dashboardUrl = `${stack.cloudUrl}/dashboard`;
    if (seed) {
      const state = await json('GET', `${stack.cloudUrl}/admin/state`);
      const seeded = spawnSync(
        join(buildDir, 'cloudsim'),
        ['seed', '--db', cloudsimDb, '--instance', state.data.instances[0].instance_id,
          '--identities', String(seed.identities), '--seed', String(seed.seed),
          '--plant-lists', join(FIXTURE_LISTS, 'ofac'), join(FIXTURE_LISTS, 'un.xml'),
          '--plant-rate', String(seed.plantRate), '--bad-rate', String(seed.badRate ?? 0)],
        { encoding: 'utf8' },
      );
      if (seeded.status !== 0) throw new Error(`seed: ${seeded.stderr}${seeded.stdout}`);
      kycArgs = ['--lists', join(FIXTURE_LISTS, 'ofac'), '--lists', join(FIXTURE_LISTS, 'un.xml'),
        ...kycArgs];
    }

    const port = await freePort();
    stack.appUrl = `http://localhost:${port}`;
    const reg = await json('POST', `${stack.cloudUrl}/admin/apps`, {
      display_name: 'KYC review',
      description: 'Browser test registration',
      developer_name: 'Blnk KYC team',
      callback_url: `${stack.appUrl}/api/callback`,
      portal_generator_url: `${stack.appUrl}/api/portal`,
      permissions: ['data:read', 'data:write', 'alerts:read', 'alerts:write'],
    });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.data)}`);
    stack.appId = reg.data.app_id;

    const kyc = new Server(
      'kyc',
      [
        join(buildDir, 'kyc'),
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--public-url',
        stack.appUrl,
        '--db',
        join(dir, 'kyc.db'),
        '--app-id',
        stack.appId,
        '--frame-ancestors',
        stack.cloudUrl,
        // The app's Cloud is cloudsim: nothing in a test may reach the real Blnk Cloud.
        ...(kycArgs.includes('--cloud-url') ? [] : ['--cloud-url', stack.cloudUrl]),
        ...kycArgs,
      ],
      { KYC_MASTER_KEY: TEST_MASTER_KEY },
    );
    stack.servers.push(kyc);
    await kyc.listening();

    const state = await json('GET', `${stack.cloudUrl}/admin/state`);
    stack.instanceId = state.data.instances[0].instance_id;
    stack.user = state.data.users[0];
  } catch (err) {
    await stopStack(stack);
    throw err;
  }
  return stack;
}

export async function stopStack(stack) {
  for (const server of [...stack.servers].reverse()) {
    const { code, signal } = await server.stop();
    const status = `# ${server.name} exited: code=${code} signal=${signal}\n`;
    writeFileSync(join(artifactsDir, `${stack.name}-${server.name}.log`), server.output + status);
  }
  rmSync(stack.dir, { recursive: true, force: true });
}

export const admin = {
  get: (stack, path) => json('GET', `${stack.cloudUrl}${path}`),
  post: (stack, path, body) => json('POST', `${stack.cloudUrl}${path}`, body),
};

export async function screenshot(page, stack, step) {
  const path = join(artifactsDir, `${stack.name}-${step}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// The dashboard's iframe once it shows the given URL (the portal, after its redirect).
export async function waitForFrame(page, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const frame = page.frames().find((f) => f !== page.mainFrame() && predicate(f.url()));
    if (frame) {
      await frame.waitForLoadState('load');
      return frame;
    }
    await page.waitForTimeout(50);
  }
  const urls = page.frames().map((f) => f.url());
  throw new Error(`no frame matched within ${timeoutMs} ms; frames: ${urls.join(', ')}`);
}

// The dashboard, acting as the first user of the example organization: open the app's page.
export async function openAppPage(page, stack) {
  await page.goto(`${stack.dashboardUrl}/apps`);
  await page.getByRole('link', { name: 'KYC review' }).first().click();
  await page.waitForURL(`**/dashboard/apps/${stack.appId}*`);
}

// Launch from the app's page: resolves with the portal frame at <app>/portal.
export async function launchFromDashboard(page, stack) {
  await page.getByRole('button', { name: 'Launch app' }).click();
  await page.waitForURL(`**/dashboard/apps/${stack.appId}/launch`);
  return waitForFrame(page, (url) => url.startsWith(`${stack.appUrl}/portal`));
}

// What the portal's own API says about the session (fetched inside the frame, with its cookie).
export async function portalSession(frame) {
  return frame.evaluate(async () => {
    const res = await fetch('/portal/api/session', { signal: AbortSignal.timeout(10000) });
    return { status: res.status, body: await res.json() };
  });
}

// Install with every requested permission through the admin API (for tests whose subject is
// not the install form); returns the installed_app_id.
export async function installAll(stack) {
  const res = await admin.post(stack, '/admin/installs', {
    app_id: stack.appId,
    all_permissions: true,
  });
  if (res.status !== 201) throw new Error(`install: ${res.status} ${JSON.stringify(res.data)}`);
  return res.data.installed_app_id;
}

// The frame shows the live KYC portal launched for this install: not one of capp's notice pages
// (expired, not installed, open from Blnk Cloud), the KYC page itself, and its session API
// answers. The page never names the install, its organization or instance (spec D1: the UI is
// never sent IDs it does not need), so every browser test also checks that the markup does not
// contain the installed_app_id; the session's binding to the install is checked by the C
// integration tests, which can read the app's database.
export async function expectPortal(frame, installedAppId) {
  const text = await frame.locator('body').innerText();
  const html = await frame.content();
  if ((await frame.locator('main.notice').count()) > 0 || !text.includes('KYC review')) {
    throw new Error(`the frame at ${frame.url()} does not show the KYC portal:\n${text}`);
  }
  if (html.includes(installedAppId)) {
    throw new Error(`the portal page at ${frame.url()} names its install ${installedAppId}`);
  }
  const session = await portalSession(frame);
  if (session.status !== 200) {
    throw new Error(`portal session API answered ${session.status}: ${JSON.stringify(session.body)}`);
  }
  return { text, session: session.body };
}

// ---- reviewer accounts (spec D23′): decisions need a reviewer signed in with a TOTP code ----

// The RFC 6238 code of a base32 secret (SHA-1, 30 s, 6 digits) `steps` time steps from now, as
// an authenticator app computes it.
export function totp(secretBase32, steps = 0, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${secretBase32}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30) + steps));
  const h = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1000000;
  return String(n).padStart(6, '0');
}

// The secret shown once after a set-up or enrolment: read it from the page (text beside the QR
// code), confirm with a code computed from it; the page then goes to the overview, signed in.
async function confirmShownSecret(frame) {
  await frame.locator('#secret-panel svg.qr').waitFor();
  const secret = (await frame.locator('#secret-text').textContent()).trim();
  const uri = (await frame.locator('#secret-uri').textContent()).trim();
  await frame.getByLabel('Code from the app').fill(totp(secret));
  await frame.getByRole('button', { name: 'Save my account' }).click();
  await frame.waitForURL((u) => u.pathname === '/portal' && u.search === '');
  await frame.locator('#reviewer').waitFor();
  return { secret, uri };
}

// First-run set-up of an install without accounts: `name` becomes its admin.
export async function setUpFirstReviewer(frame, stack, name) {
  await frame.goto(`${stack.appUrl}/portal?view=signin`);
  await frame.getByLabel('Your name (shown to the other reviewers)').fill(name);
  await frame.getByRole('button', { name: 'Create my secret' }).click();
  return confirmShownSecret(frame);
}

// An enrolment code from the admin signed in to the frame.
export async function inviteReviewer(frame, stack, role = 'reviewer') {
  await frame.goto(`${stack.appUrl}/portal?view=reviewers`);
  await frame.getByLabel('Role').selectOption(role);
  await frame.getByRole('button', { name: 'Create enrolment code' }).click();
  await frame.locator('#code-panel').waitFor();
  return (await frame.locator('#enrolment-code').textContent()).trim();
}

// A new reviewer enrols from their own portal session with an admin's code.
export async function enrolReviewer(frame, stack, code, name) {
  await frame.goto(`${stack.appUrl}/portal?view=signin`);
  await frame.getByLabel('Enrolment code').fill(code);
  await frame.locator('#enrol-name').fill(name);
  await frame.getByRole('button', { name: 'Enrol' }).click();
  return confirmShownSecret(frame);
}

// Signs the frame's session in to an account with the code `steps` time steps ahead (a code
// works once per account: a later step than the one used last).
export async function signInReviewer(frame, stack, name, secret, steps = 1) {
  await frame.goto(`${stack.appUrl}/portal?view=signin`);
  await frame.getByLabel('Account').selectOption({ label: name });
  await frame.getByLabel('Code from your authenticator app').fill(totp(secret, steps));
  await frame.getByRole('button', { name: 'Sign in' }).click();
  await frame.waitForURL((u) => u.pathname === '/portal' && u.search === '');
  await frame.locator('#reviewer').waitFor();
}
