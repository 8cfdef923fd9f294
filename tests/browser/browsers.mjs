// One small driver interface over three browser engines, for the cross-browser flow test
// (test_browsers.mjs). Every browser is a Debian package, never a downloaded build:
//   chromium          /usr/bin/chromium through playwright-core (CDP), its default cookie policy
//                     (Debian's chromium 156 blocks unpartitioned third-party cookies and a
//                     third-party frame's storage out of the box, and keeps partitioned cookies);
//   chromium-no-3pc   the same with the user setting "Block third-party cookies" in its profile;
//   firefox           /usr/bin/firefox-esr through puppeteer-core over WebDriver BiDi, with
//                     Firefox's own default cookie policy (Total Cookie Protection);
//   firefox-strict    the same with "Cookies: All cross-site cookies" blocked;
//   webkit            WebKitGTK's MiniBrowser through /usr/bin/WebKitWebDriver (classic WebDriver
//                     HTTP, spoken here with plain fetch), under xvfb-run (it needs a display),
//                     with WebKit's default policy (no third-party cookies).
//
// A driver offers what the flow needs and nothing more, so each engine's part stays small:
//   goto(url)          top-level navigation;
//   top(fn, arg)       runs fn(arg) in the top document (fn may be async; its result is JSON);
//   frame(fn, arg)     the same in the dashboard's first iframe, whatever document it shows;
//   screenshot(path)   a PNG of the whole window; close().
// Actions inside pages are DOM calls (click(), requestSubmit()), identical in every engine.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromiumPath, freePort } from './harness.mjs';

export const firefoxPath = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const webkitDriverPath = process.env.WEBKIT_WEBDRIVER || '/usr/bin/WebKitWebDriver';
export const xvfbRunPath = '/usr/bin/xvfb-run';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// What each browser needs on this machine; the first missing one is the reason to skip.
export function missingFor(kind) {
  const needs = {
    chromium: [chromiumPath],
    'chromium-no-3pc': [chromiumPath],
    firefox: [firefoxPath],
    'firefox-strict': [firefoxPath],
    webkit: [webkitDriverPath, xvfbRunPath],
  }[kind];
  if (!needs) throw new Error(`unknown browser ${kind}`);
  return needs.find((p) => !existsSync(p)) || null;
}

export async function openBrowser(kind) {
  if (kind === 'chromium' || kind === 'chromium-no-3pc') return openChromium(kind);
  if (kind === 'firefox' || kind === 'firefox-strict') return openFirefox(kind);
  return openWebKit();
}

// The portal frame of a playwright or puppeteer page: the first frame that is not the top one.
function firstChild(page, mainFrame) {
  const f = page.frames().find((x) => x !== mainFrame);
  if (!f) throw new Error('the dashboard shows no iframe yet');
  return f;
}

async function openChromium(kind) {
  const { chromium } = await import('playwright-core');
  // A profile of our own: "Block third-party cookies" is a profile setting
  // (chrome://settings/cookies), stored in Default/Preferences as cookie_controls_mode 1.
  const profile = mkdtempSync(join(tmpdir(), 'kyc-chromium-profile-'));
  if (kind === 'chromium-no-3pc') {
    mkdirSync(join(profile, 'Default'), { recursive: true });
    writeFileSync(join(profile, 'Default', 'Preferences'),
      JSON.stringify({ profile: { cookie_controls_mode: 1, block_third_party_cookies: true } }));
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    name: kind,
    goto: async (url) => { await page.goto(url); },
    top: (fn, arg) => page.evaluate(fn, arg),
    frame: (fn, arg) => firstChild(page, page.mainFrame()).evaluate(fn, arg),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function openFirefox(kind) {
  const strict = kind === 'firefox-strict';
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: firefoxPath,
    headless: true,
    // puppeteer's profile turns cookie partitioning off (cookieBehavior0 in the "standard"
    // content-blocking features); put back Firefox's own default, Total Cookie Protection (5,
    // as Debian's firefox-esr ships it in browser/defaults/preferences/firefox.js), or for
    // firefox-strict the setting "Cookies: All cross-site cookies" (1).
    extraPrefsFirefox: {
      'network.cookie.cookieBehavior': strict ? 1 : 5,
      'browser.contentblocking.features.standard':
        `-tp,tpPrivate,cookieBehavior${strict ? 1 : 5},-cryptoTP,-fp`,
    },
  });
  const page = (await browser.pages())[0] || (await browser.newPage());
  await page.setViewport({ width: 1280, height: 900 });
  return {
    name: kind,
    goto: async (url) => { await page.goto(url); },
    top: (fn, arg) => page.evaluate(fn, arg),
    frame: (fn, arg) => firstChild(page, page.mainFrame()).evaluate(fn, arg),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    close: () => browser.close(),
  };
}

// Classic WebDriver (W3C) over HTTP: a session, then one command per call.
async function openWebKit() {
  const port = await freePort();
  // xvfb-run gives the driver (and the MiniBrowser it starts) a display of its own; it is the
  // leader of a new process group, so closing ends Xvfb, the driver and the browser together.
  const child = spawn(xvfbRunPath, ['-a', webkitDriverPath, `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      signal: AbortSignal.timeout(60000),
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${res.status} ${JSON.stringify(data.value)}`);
    return data.value;
  };
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch { /* already gone */ }
  };
  let session;
  try {
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        session = await call('POST', '/session', {
          capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { args: ['--automation'] } } },
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not start: ${err.message}\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    kill();
    throw err;
  }
  const sid = `/session/${session.sessionId}`;
  await call('POST', `${sid}/window/rect`, { width: 1280, height: 900 }).catch(() => {});
  // The function's source runs as an async script: arguments[0] is arg, the last is the callback.
  const run = async (fn, arg) => {
    const script = 'var done = arguments[arguments.length - 1], arg = arguments[0];' +
      `Promise.resolve().then(function () { return (${fn.toString()})(arg); })` +
      '.then(function (v) { done({ ok: v === undefined ? null : v }); },' +
      ' function (e) { done({ err: String((e && e.stack) || e) }); });';
    const out = await call('POST', `${sid}/execute/async`, { script, args: [arg === undefined ? null : arg] });
    if (out && out.err !== undefined) throw new Error(out.err);
    return out ? out.ok : null;
  };
  return {
    name: 'webkit',
    goto: (url) => call('POST', `${sid}/url`, { url }),
    top: async (fn, arg) => {
      await call('POST', `${sid}/frame`, { id: null });
      return run(fn, arg);
    },
    frame: async (fn, arg) => {
      await call('POST', `${sid}/frame`, { id: null });
      await call('POST', `${sid}/frame`, { id: 0 });
      return run(fn, arg);
    },
    screenshot: async (path) => {
      await call('POST', `${sid}/frame`, { id: null });
      writeFileSync(path, Buffer.from(await call('GET', `${sid}/screenshot`), 'base64'));
    },
    close: async () => {
      await call('DELETE', sid).catch(() => {});
      kill();
    },
  };
}
