// The key portal flow in every browser engine, each with its default cookie policy (spec D10′):
// launch from the dashboard (cloudsim on 127.0.0.1) → the portal in its cross-site iframe (kyc
// serve on localhost) → the first-run set-up of a reviewer account, signed in with a TOTP code
// (spec D23′: deciding needs a signed-in reviewer) → the queue by a link → a filter by a GET
// form → an identity → a reload → a decision that applies. Where the browser does not send the partitioned cookie back, the
// session must switch by itself to the Authorization header, and every navigation must still
// work (through single-use page tickets that leave the address bar).
//
// KYC_BROWSER picks the browser (chromium, chromium-no-3pc, firefox, webkit); CTest runs one
// entry per browser (tests/browser/CMakeLists.txt). Without it every browser runs in turn. A
// browser that is not installed is a skip (exit 77 for a single browser), never a pass.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { missingFor, openBrowser } from './browsers.mjs';
import { SKIP_EXIT_CODE, admin, artifactsDir, startStack, stopStack, totp } from './harness.mjs';

const ALL = ['chromium', 'chromium-no-3pc', 'firefox', 'firefox-strict', 'webkit'];
// What each browser does with the portal's partitioned cookie, as observed with Debian's
// packages (a change here is a change of the browser's policy, worth a look):
//   - Chromium keeps partitioned cookies (CHIPS) when it blocks third-party cookies, by default
//     or by the setting; when it refuses a frame's cookies it refuses its storage too, so it
//     never needs (and could not keep) a header-carried session;
//   - Firefox partitions every third-party cookie (Total Cookie Protection); with all cross-site
//     cookies blocked it still gives the frame sessionStorage: header;
//   - WebKit refuses third-party cookies, partitioned or not, and gives the frame storage: header.
const EXPECTED_CARRIER = {
  chromium: 'cookie',
  'chromium-no-3pc': 'cookie',
  firefox: 'cookie',
  'firefox-strict': 'header',
  webkit: 'header',
};

const chosen = process.env.KYC_BROWSER ? process.env.KYC_BROWSER.split(',') : ALL;
if (chosen.length === 1 && missingFor(chosen[0])) {
  console.log(`SKIP: ${chosen[0]}: ${missingFor(chosen[0])} not found (scripts/bootstrap installs it)`);
  process.exit(SKIP_EXIT_CODE);
}

const IDENTITIES = 40;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn (which may throw while a frame navigates) until it returns a truthy value.
async function until(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      last = JSON.stringify(v);
    } catch (err) {
      last = err.message;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last: ${last}`);
}

// Functions below run inside the browser: they must be self-contained.
function pageState() {
  const h1 = document.querySelector('h1');
  const badge = document.querySelector('.head-badges .badge');
  const reviewer = document.getElementById('reviewer');
  const secret = document.getElementById('secret-text');
  return {
    url: location.href,
    ready: document.readyState,
    h1: h1 ? h1.textContent.trim() : '',
    notice: !!document.querySelector('main.notice'),
    marked: !!window.kycTestMarker,
    header: !!(window.cappSession && window.cappSession.headerCarried()),
    badge: badge ? badge.textContent.trim() : '',
    reviewer: reviewer ? reviewer.textContent.trim() : '',
    secret: secret ? secret.textContent.trim() : '',
    rows: Array.prototype.map.call(document.querySelectorAll('#queue tbody .badge'), (b) => b.textContent.trim()),
    html: document.documentElement.outerHTML,
  };
}

async function portalJson(arg) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const res = await window.cappSession.fetch(arg.path, {
    method: arg.method || 'GET',
    headers: { 'X-CSRF-Token': meta ? meta.content : '' },
  });
  let body = null;
  try {
    body = await res.json();
  } catch { /* not JSON */ }
  return { status: res.status, body };
}

async function flow(kind) {
  const stack = await startStack(`browsers-${kind}`, {
    seed: { identities: IDENTITIES, seed: 5, plantRate: 0, badRate: 0.4 },
    kycArgs: ['--pipeline-threads', '2'],
  });
  let b;
  try {
    const installed = await admin.post(stack, '/admin/installs', { app_id: stack.appId, all_permissions: true });
    assert.equal(installed.status, 201, JSON.stringify(installed.data));
    const installedAppId = installed.data.installed_app_id;
    b = await openBrowser(kind);
    const shot = (step) => b.screenshot(join(artifactsDir, `browsers-${kind}-${step}.png`));
    const state = () => b.frame(pageState);
    const api = (path, method) => b.frame(portalJson, { path, method });
    const settle = (what, pred) => until(what, async () => {
      const s = await state();
      return s.ready === 'complete' && !s.url.includes('ticket=') && pred(s) ? s : null;
    });

    // launch → the portal's overview, in the dashboard's cross-site iframe
    await b.goto(`${stack.dashboardUrl}/apps/${stack.appId}`);
    await b.top(() => {
      const button = Array.from(document.querySelectorAll('button')).find((x) => x.textContent.trim() === 'Launch app');
      setTimeout(() => button.click(), 0);
      return true;
    });
    let s = await settle('the portal overview', (x) => !x.notice && x.h1 === 'Overview');
    assert.equal(new URL(s.url).pathname, '/portal');
    assert.equal(new URL(s.url).search, '', 'no token, handoff or ticket left in the address bar');
    assert.ok(!s.html.includes(installedAppId), 'the page never names its install');
    const session = await api('/portal/api/session');
    assert.equal(session.status, 200, JSON.stringify(session.body));
    const carrier = session.body.carried_by;
    console.log(`# ${kind}: the portal session is carried by the ${carrier}`);
    assert.equal(carrier, s.header ? 'header' : 'cookie');
    assert.equal(carrier, EXPECTED_CARRIER[kind], `${kind} carried the session by ${carrier}`);
    await shot('1-overview');

    // the first person to open a new install sets up its first reviewer account (admin): a link
    // to the set-up page, a name, the secret shown once, a code computed from it as an
    // authenticator app would; the session is then signed in, whatever carries it (a header
    // session sends no CSRF token and needs none)
    let me = await api('/portal/api/reviewers/me');
    assert.deepEqual([me.status, me.body.signed_in, me.body.setup_needed], [200, false, true]);
    await b.frame(() => {
      document.getElementById('sign-in-link').click();
      return true;
    });
    s = await settle('the set-up page', (x) => x.h1 === 'Set up reviewer accounts');
    await b.frame(() => {
      const form = document.getElementById('setup-form');
      form.querySelector('input[name="display_name"]').value = 'Ada';
      form.requestSubmit();
      return true;
    });
    s = await settle('the secret shown once', (x) => /^[A-Z2-7]{16,}$/.test(x.secret));
    await b.frame((code) => {
      window.kycTestMarker = true;
      const form = document.querySelector('#secret-panel form');
      form.querySelector('input[name="code"]').value = code;
      form.requestSubmit();
      return true;
    }, totp(s.secret));
    s = await settle('the overview, signed in', (x) => !x.marked && x.h1 === 'Overview' && x.reviewer === 'Ada');
    me = await api('/portal/api/reviewers/me');
    assert.equal(me.body.signed_in, true, JSON.stringify(me.body));
    assert.equal(me.body.account.role, 'admin');
    await shot('1-signed-in');

    // the install's first run screens the seeded identities
    await until('screening to finish', async () => {
      const p = (await api('/portal/api/progress')).body;
      return p && p.state === 'idle' && p.counts && p.counts.total >= IDENTITIES;
    }, 60000);

    // a link, then a GET form: both navigations carry the session
    await b.frame(() => {
      Array.from(document.querySelectorAll('a')).find((a) => a.textContent.trim() === 'Queue').click();
      return true;
    });
    s = await settle('the queue', (x) => x.h1 === 'Review queue');
    await b.frame(() => {
      const select = document.querySelector('select[name="status"]');
      select.value = 'needs_review';
      select.form.requestSubmit();
      return true;
    });
    s = await settle('the filtered queue', (x) => new URL(x.url).searchParams.get('status') === 'needs_review' && x.rows.length > 0);
    assert.ok(s.rows.every((r) => r === 'Needs review'), s.rows.join(','));
    await shot('2-queue');

    // an identity, then a reload of it (a header-carried session must come back by itself)
    await b.frame(() => {
      document.querySelector('#queue tbody th a').click();
      return true;
    });
    s = await settle('the identity page', (x) => x.url.includes('view=identity') && !!x.badge);
    const identityId = new URL(s.url).searchParams.get('id');
    assert.ok(identityId);
    await b.frame(() => {
      window.kycTestMarker = true;
      setTimeout(() => location.reload(), 0);
      return true;
    });
    s = await settle('the identity page after a reload', (x) => !x.marked && x.url.includes(identityId) && !!x.badge);
    assert.equal(s.notice, false);

    // decide: approve with a note; the page reloads and shows the new status
    await b.frame(() => {
      window.kycTestMarker = true;
      const form = document.getElementById('decision-form');
      form.querySelector('textarea[name="note"]').value = 'Data corrected at source; checked by hand.';
      form.requestSubmit(form.querySelector('button[value="approve"]'));
      return true;
    });
    s = await settle('the approved identity', (x) => !x.marked && x.badge === 'Approved');
    await shot('3-approved');
    const dossier = await api(`/portal/api/identities/${identityId}/dossier`);
    assert.equal(dossier.status, 200);
    assert.equal(dossier.body.current.status, 'approved');

    // downloads: a header-carried session opens them with a single-use ticket; a cookie session
    // needs none and gets none
    const ticket = await api('/portal/api/ticket', 'POST');
    if (carrier === 'header') {
      assert.equal(ticket.status, 200, JSON.stringify(ticket.body));
      const uses = await b.frame(async (arg) => {
        const url = `/portal/api/identities/${arg.id}/dossier?ticket=${arg.ticket}`;
        const first = await fetch(url, { credentials: 'omit' });
        const body = await first.json();
        const again = await fetch(url, { credentials: 'omit' });
        return { first: first.status, status: body.current && body.current.status, again: again.status };
      }, { id: identityId, ticket: ticket.body.ticket });
      assert.deepEqual(uses, { first: 200, status: 'approved', again: 401 });
    } else {
      assert.equal(ticket.status, 403);
      assert.equal(ticket.body.code, 'header_session_required');
    }
  } finally {
    await b?.close();
    await stopStack(stack);
  }
}

for (const kind of chosen) {
  const missing = missingFor(kind);
  test(`${kind}: launch → portal → set up and sign in → queue → identity → reload → decide`,
    { skip: missing ? `${missing} not found` : false, timeout: 240000 },
    () => flow(kind));
}
