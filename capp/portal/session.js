// capp's portal session script (spec D10′). capp serves it at /portal/static/app.js in front of
// the app's own script, so it runs on every portal page, the relaunch notices included, and the
// app's script finds window.cappSession ready.
//
// The partitioned cookie is the first choice and needs nothing from this script. When the
// browser did not send the cookie back, the server's handoff page (main[data-capp-session])
// hands over a session token once: the script keeps it in sessionStorage (one tab, partitioned by
// the embedding site, gone with the tab) and from then on
//   - cappSession.fetch() sends it as `Authorization: Bearer` on every portal API call;
//   - a navigation inside the portal (a link, a GET form, cappSession.go/reload, or a reload or
//     history step that lands on the "no session" notice) first asks for a single-use page ticket
//     (POST /portal/api/ticket) and carries it as ?ticket=, which is taken out of the address bar
//     as soon as the page runs;
//   - a download link gets a ticket the same way.
// Without a stored token every function here is the browser's plain behaviour.
(function () {
  'use strict';
  var KEY = 'capp.session';

  // Some browsers throw on the mere access to sessionStorage when they block storage.
  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null;
    }
  }
  function load() {
    try {
      var s = storage();
      return (s && s.getItem(KEY)) || '';
    } catch (e) {
      return '';
    }
  }
  function keep(t) {
    try {
      var s = storage();
      s.setItem(KEY, t);
      return s.getItem(KEY) === t;
    } catch (e) {
      return false;
    }
  }
  function forget() {
    token = '';
    try {
      var s = storage();
      if (s) s.removeItem(KEY);
    } catch (e) { /* nothing stored */ }
  }
  var token = load();

  function headers(extra) {
    var h = {};
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  function sessionFetch(path, init) {
    var options = {};
    Object.keys(init || {}).forEach(function (k) { options[k] = init[k]; });
    options.headers = headers(options.headers);
    options.credentials = 'same-origin';
    return fetch(path, options);
  }

  // The session is gone (expired, app uninstalled, revoked): say so where the page was.
  function ended(status) {
    var title = 'Open this app from Blnk Cloud';
    var text = 'The portal session has ended. Launch the app again from the Blnk Cloud dashboard.';
    if (status === 410) {
      title = 'Session expired';
      text = 'This portal session has expired. Launch the app again from Blnk Cloud.';
    } else if (status === 403) {
      title = 'App not installed';
      text = 'This app is no longer installed on this Blnk Cloud instance.';
    } else if (status !== 401) {
      title = 'Temporarily unavailable';
      text = 'The portal could not be opened. Try again in a moment.';
    }
    notice(title, text);
  }

  function notice(title, text) {
    var main = document.createElement('main');
    main.className = 'notice';
    var h1 = document.createElement('h1');
    h1.textContent = title;
    var p = document.createElement('p');
    p.textContent = text;
    main.appendChild(h1);
    main.appendChild(p);
    document.body.textContent = '';
    document.body.appendChild(main);
  }

  // Resolves with url carrying a fresh page ticket; on a refusal shows why and never resolves.
  function ticketed(url) {
    return sessionFetch('/portal/api/ticket', { method: 'POST' }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok || typeof data.ticket !== 'string') {
          if (res.status === 401 || res.status === 403 || res.status === 410) forget();
          ended(res.status);
          return new Promise(function () {});
        }
        var u = new URL(url, window.location.href);
        u.searchParams.set('ticket', data.ticket);
        return u.href;
      });
    }, function () {
      ended(0);
      return new Promise(function () {});
    });
  }

  function go(url, replace) {
    var move = function (to) {
      if (replace) window.location.replace(to);
      else window.location.assign(to);
    };
    if (!token) move(url);
    else ticketed(url).then(move);
  }

  function download(url, name) {
    ticketed(url).then(function (to) {
      var a = document.createElement('a');
      a.href = to;
      a.download = name || '';
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  function inPortal(u) {
    return u.origin === window.location.origin && /^\/portal(\/|$)/.test(u.pathname);
  }

  // Registered on window, so that they see the event after the app's own document listeners and
  // leave alone whatever the app already handled (e.g. its forms that post to the API).
  window.addEventListener('click', function (e) {
    if (!token || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey ||
        e.shiftKey || e.altKey) return;
    var a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
    if (!a || (a.target && a.target !== '_self')) return;
    var u = new URL(a.href, window.location.href);
    var here = new URL(window.location.href);
    if (!inPortal(u) || (u.hash && u.pathname === here.pathname && u.search === here.search)) return;
    e.preventDefault();
    if (a.hasAttribute('download')) download(u.href, a.getAttribute('download'));
    else go(u.href, false);
  });

  window.addEventListener('submit', function (e) {
    var form = e.target;
    if (!token || e.defaultPrevented || (form.getAttribute('method') || 'get').toLowerCase() !== 'get') return;
    var u = new URL(form.getAttribute('action') || window.location.href, window.location.href);
    if (!inPortal(u)) return;
    e.preventDefault();
    var data = e.submitter ? new FormData(form, e.submitter) : new FormData(form);
    var query = new URLSearchParams();
    data.forEach(function (value, name) {
      if (typeof value === 'string') query.append(name, value);
    });
    u.search = query.toString();
    go(u.href, false);
  });

  function start() {
    var here = new URL(window.location.href);
    var hadTicket = here.searchParams.has('ticket');
    if (hadTicket) {
      here.searchParams.delete('ticket');
      window.history.replaceState(window.history.state, '', here.pathname + here.search + here.hash);
    }
    var handover = document.querySelector('main[data-capp-session]');
    if (handover) {
      var t = handover.getAttribute('data-capp-session');
      handover.removeAttribute('data-capp-session');
      if (t && keep(t)) {
        token = t;
        go('/portal', true);
      } else {
        forget();
        notice('Cookies and storage are blocked',
          'This browser keeps neither cookies nor storage for embedded pages, so the portal ' +
          'cannot open here. Allow cookies for this site, then launch the app again from Blnk Cloud.');
      }
      return;
    }
    if (!token) return;
    // A page that came without a ticket came with a cookie: the cookie works again, and a token
    // from an earlier launch in this tab would only shadow it.
    if (!hadTicket && document.querySelector('meta[name="csrf-token"]')) {
      forget();
      return;
    }
    // A reload or a step through the history lands here without a ticket: fetch the page again
    // with one. A ticket that was refused is not retried (the notice stays).
    var missing = document.querySelector('main.notice[data-status="401"]');
    if (missing && !hadTicket) {
      missing.hidden = true;
      go(window.location.href, true);
    }
  }

  window.cappSession = {
    // true while the session travels in a header rather than in the cookie
    headerCarried: function () { return !!token; },
    fetch: sessionFetch,
    go: function (url) { go(url, false); },
    reload: function () {
      if (token) go(window.location.href, true);
      else window.location.reload();
    }
  };
  start();
})();
