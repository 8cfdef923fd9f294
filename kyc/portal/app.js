// KYC review portal: the little behaviour the server-rendered pages need. No inline script is
// allowed (CSP), so hooks are data-* attributes. Every state change goes to /portal/api/* with
// the CSRF token from the page's meta tag; text from the server is inserted with textContent.
// Requests and navigations go through window.cappSession (capp/portal/session.js, served just
// before this file), which carries the session in a header when the browser refused the cookie.
(function () {
  'use strict';
  var session = window.cappSession;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var toast = document.getElementById('toast');
  var toastTimer = 0;

  function say(text, isError) {
    if (!toast) return;
    toast.textContent = text;
    toast.className = 'toast show' + (isError ? ' error' : '');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.className = 'toast'; }, 5000);
  }

  function api(method, path, body) {
    return session.fetch(path, {
      method: method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var message = typeof data.error === 'string' ? data.error
            : 'The request failed (HTTP ' + res.status + ').';
          if (res.status === 410 || res.status === 401) {
            message = 'The session has ended: launch the app again from Blnk Cloud.';
          }
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === 'submit' || el.disabled) return;
      if (el.type === 'checkbox' && el.hasAttribute('data-many')) {
        // one of several checkboxes of a name: the checked values, as a list
        body[el.name] = body[el.name] || [];
        if (el.checked) body[el.name].push(el.value);
        return;
      }
      body[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    });
    return body;
  }

  function setBusy(form, busy) {
    Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) {
      b.disabled = busy;
    });
    form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  // An answer that carries something shown once (a new sign-in secret, an enrolment code) fills
  // the [data-field] elements of the panel instead of reloading the page. Text goes in as text;
  // the QR code is SVG markup built by the server (kyc/totp.c), parsed as SVG, never as HTML.
  function reveal(panel, data) {
    if (!panel) return;
    Array.prototype.forEach.call(panel.querySelectorAll('[data-field]'), function (el) {
      var value = data[el.getAttribute('data-field')];
      if (typeof value !== 'string') return;
      if (el.getAttribute('data-field') === 'qr_svg') {
        var doc = new DOMParser().parseFromString(value, 'image/svg+xml');
        var svg = doc.documentElement;
        el.textContent = '';
        if (svg && svg.nodeName === 'svg') el.appendChild(document.importNode(svg, true));
      } else {
        el.textContent = value;
      }
    });
    panel.hidden = false;
    var first = panel.querySelector('input');
    if (first) first.focus();
  }

  function submitForm(form, submitter) {
    var status = form.querySelector('.form-status');
    var note = form.querySelector('textarea[name="note"]');
    if (note && !note.value.trim()) {
      if (status) status.textContent = 'A note is required.';
      note.focus();
      return;
    }
    var body = formBody(form);
    var path = form.getAttribute('data-api');
    if (submitter && submitter.name) {
      if (form.hasAttribute('data-action-path')) path += submitter.value;
      else body[submitter.name] = submitter.value;
    }
    if (status) status.textContent = '';
    setBusy(form, true);
    api(form.getAttribute('data-method') || 'POST', path, body).then(function (data) {
      say(typeof data.message === 'string' ? data.message : 'Saved.');
      if (form.hasAttribute('data-reveal')) {
        reveal(document.getElementById(form.getAttribute('data-reveal')), data);
        setBusy(form, false);
        return;
      }
      var next = form.getAttribute('data-next');
      setTimeout(function () {
        if (next) session.go(next);
        else session.reload();
      }, 700);
    }).catch(function (err) {
      if (status) status.textContent = err.message;
      say(err.message, true);
      setBusy(form, false);
    });
  }

  var lastClicked = null;
  document.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('button[type="submit"]') : null;
    if (b) lastClicked = b;
  });
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.hasAttribute('data-api')) return;
    e.preventDefault();
    submitForm(form, e.submitter || (lastClicked && lastClicked.form === form ? lastClicked : null));
  });

  // Keyboard: A approve, R reject, N next identity; Ctrl+Enter in a note submits its form;
  // Escape cancels a chosen decision (nothing is sent) and leaves the note.
  var decision = document.getElementById('decision-form');
  var chosen = null;
  function choose(value) {
    Array.prototype.forEach.call(decision.querySelectorAll('button[name="action"]'), function (b) {
      b.classList.toggle('chosen', b.value === value);
      b.setAttribute('aria-pressed', b.value === value ? 'true' : 'false');
    });
    chosen = value;
  }
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key === 'Escape' && decision && (chosen || decision.contains(t))) {
      var had = chosen;
      choose(null);
      if (decision.contains(t) && t.blur) t.blur();
      if (had) { e.preventDefault(); say('Decision cancelled: nothing was sent.'); }
      return;
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && t.tagName === 'TEXTAREA' && t.form &&
        t.form.hasAttribute('data-api')) {
      e.preventDefault();
      var form = t.form;
      var btn = form === decision && chosen
        ? form.querySelector('button[value="' + chosen + '"]')
        : form.querySelector('button[type="submit"]');
      submitForm(form, btn);
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey || e.repeat) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.isContentEditable) return;
    var key = e.key.toLowerCase();
    if (key === 'n') {
      var next = document.getElementById('next-identity');
      if (next) { e.preventDefault(); session.go(next.getAttribute('href')); }
    } else if ((key === 'a' || key === 'r') && decision) {
      var action = key === 'a' ? 'approve' : 'reject';
      var button = decision.querySelector('button[value="' + action + '"]');
      if (!button) return;
      e.preventDefault();
      choose(action);
      var note = decision.querySelector('textarea[name="note"]');
      if (note.value.trim()) {
        submitForm(decision, button);
      } else {
        note.focus();
        say('Write a note, then press Ctrl+Enter to ' + action + '.');
      }
    }
  });

  // Overview: "Screen now" and live progress of the current run.
  var runNow = document.querySelector('[data-run-now]');
  var progress = document.querySelector('[data-progress]');
  var lastState = null;
  function shortTime(ts) {
    return typeof ts === 'string' && ts.length >= 16 ? ts.slice(0, 10) + ' ' + ts.slice(11, 16) + ' UTC' : '—';
  }
  function showProgress(p) {
    var run = p.run || {};
    Array.prototype.forEach.call(progress.querySelectorAll('[data-run]'), function (el) {
      var key = el.getAttribute('data-run');
      if (!(key in run)) return;
      el.textContent = key === 'started_at' ? shortTime(run[key]) : String(run[key]);
    });
    var counts = p.counts || {};
    Array.prototype.forEach.call(document.querySelectorAll('[data-count]'), function (el) {
      var key = el.getAttribute('data-count');
      if (typeof counts[key] === 'number') el.textContent = String(counts[key]);
    });
    var list = progress.querySelector('[data-notices]');
    if (list) {
      list.textContent = '';
      (p.notices || []).forEach(function (n) {
        var li = document.createElement('li');
        li.textContent = typeof n.message === 'string' ? n.message : '';
        list.appendChild(li);
      });
    }
  }
  function poll() {
    api('GET', '/portal/api/progress').then(function (p) {
      showProgress(p);
      var busy = p.state === 'running' || p.state === 'queued';
      if (lastState && lastState !== p.state && !busy && !document.querySelector('textarea:focus')) {
        session.reload();
        return;
      }
      lastState = p.state;
      setTimeout(poll, busy ? 2000 : 15000);
    }).catch(function () { setTimeout(poll, 30000); });
  }
  if (progress) poll();
  if (runNow) {
    runNow.addEventListener('click', function () {
      runNow.disabled = true;
      api('POST', '/portal/api/runs').then(function () {
        say('Screening queued.');
        lastState = 'queued';
      }).catch(function (err) {
        say(err.message, true);
      }).then(function () { runNow.disabled = false; });
    });
  }
})();
