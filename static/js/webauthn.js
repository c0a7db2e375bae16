// WebAuthn ceremonies of the hosted pages: registering security keys and passkeys, using them as a
// second factor, and signing in with a passkey (a button, and the browser's autofill where it
// offers passkeys: conditional mediation). Every page that uses this also works without
// JavaScript through its forms (password + authenticator-app code or recovery code).
//
// Markup: an element with data-webauthn="register" | "authenticate" | "passkey" and
// data-options / data-finish (URLs), data-csrf (the page's CSRF token), optionally data-kind
// ("security_key" | "passkey"), data-name-input (id of a name field), data-return-to,
// data-error (id of an element for messages). data-webauthn-autofill on the passkey element
// starts the autofill ceremony when the page loads.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !window.fetch) {
    return;
  }

  function enc(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function dec(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.error_description || j.message || "The request failed."); }
        return j;
      });
    });
  }

  function attestation(cred) {
    return {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: enc(cred.response.attestationObject),
        clientDataJSON: enc(cred.response.clientDataJSON)
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function assertion(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: enc(r.authenticatorData),
        clientDataJSON: enc(r.clientDataJSON),
        signature: enc(r.signature),
        userHandle: r.userHandle ? enc(r.userHandle) : null
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function say(el, message) {
    var target = el.dataset.error && document.getElementById(el.dataset.error);
    if (target) {
      target.textContent = message;
      target.hidden = false;
    }
  }

  function done(result) {
    if (result.redirect) { window.location.assign(result.redirect); }
  }

  function register(el) {
    var csrf = el.dataset.csrf;
    var nameInput = el.dataset.nameInput && document.getElementById(el.dataset.nameInput);
    return post(el.dataset.options, csrf, { kind: el.dataset.kind || "security_key" })
      .then(function (start) {
        var o = start.options.publicKey;
        o.challenge = dec(o.challenge);
        o.user.id = dec(o.user.id);
        (o.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
        return navigator.credentials.create({ publicKey: o }).then(function (cred) {
          return post(el.dataset.finish, csrf, {
            handle: start.handle,
            name: nameInput ? nameInput.value : "",
            credential: attestation(cred)
          });
        });
      });
  }

  var autofill = null;

  function authenticate(el, conditional) {
    var csrf = el.dataset.csrf;
    return post(el.dataset.options, csrf, {}).then(function (start) {
      var o = start.options.publicKey;
      o.challenge = dec(o.challenge);
      (o.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
      var request = { publicKey: o };
      if (conditional) {
        autofill = new AbortController();
        request.mediation = "conditional";
        request.signal = autofill.signal;
      } else if (autofill) {
        autofill.abort();
        autofill = null;
      }
      return navigator.credentials.get(request).then(function (cred) {
        return post(el.dataset.finish, csrf, {
          handle: start.handle,
          credential: assertion(cred),
          return_to: el.dataset.returnTo || ""
        });
      });
    });
  }

  function run(el, promise) {
    promise.then(done).catch(function (e) {
      if (e && e.name === "AbortError") { return; }
      say(el, (e && e.message) || "The security key could not be used.");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-webauthn]").forEach(function (el) {
      el.hidden = false;
      el.addEventListener("click", function (ev) {
        ev.preventDefault();
        var kind = el.dataset.webauthn;
        run(el, kind === "register" ? register(el) : authenticate(el, false));
      });
      if (el.dataset.webauthnAutofill !== undefined &&
          PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
          if (ok) { run(el, authenticate(el, true)); }
        });
      }
    });
  });
})();
