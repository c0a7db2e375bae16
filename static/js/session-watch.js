// Notices within seconds that this browser's session ended elsewhere (signed out, evicted by a
// sign-in on another device, timed out) and shows the page that says why. Polls the tenant's
// session-status endpoint; pages work the same without JavaScript (the next click finds out).
(function () {
  var me = document.currentScript;
  if (!me || !window.fetch) { return; }
  var statusUrl = me.getAttribute("data-status");
  var endedUrl = me.getAttribute("data-ended");
  var every = parseInt(me.getAttribute("data-every") || "5000", 10);
  var done = false;
  function check() {
    if (done || document.hidden) { return; }
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.active === false) { done = true; window.location.assign(endedUrl); }
      })
      .catch(function () { /* offline: try again later */ });
  }
  setInterval(check, every);
  document.addEventListener("visibilitychange", check);
})();
