/* The staff console's only script: keeps a list or a transcript current without reloading.
   The element with data-poll asks the server every few seconds what changed since its
   cursor (bot.handoff.changes_since); when something it shows changed, it fetches the
   server-rendered (escaped) fragment and swaps it in. No framework, no inline script. */
(function () {
  "use strict";
  var live = document.querySelector("[data-poll]");
  if (!live || !window.fetch) { return; }
  var cursor = live.getAttribute("data-cursor") || "0";
  var watch = live.getAttribute("data-watch");
  var every = (parseInt(live.getAttribute("data-interval"), 10) || 4) * 1000;
  function get(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { window.location.reload(); }  /* session ended: the login page */
      if (!r.ok) { throw new Error(String(r.status)); }
      return r;
    });
  }
  function tick() {
    get(live.getAttribute("data-poll") + "?cursor=" + encodeURIComponent(cursor))
      .then(function (r) { return r.json(); })
      .then(function (data) {
        cursor = String(data.cursor);
        var changed = (data.changed || []).map(String);
        if (changed.length && (!watch || changed.indexOf(watch) >= 0)) {
          return get(live.getAttribute("data-fragment"))
            .then(function (r) { return r.text(); })
            .then(function (html) { live.innerHTML = html; });
        }
      })
      .catch(function () { /* offline or logged out: try again at the next tick */ })
      .then(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
