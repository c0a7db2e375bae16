// The management UI in headless Chromium (Debian's package, driven by playwright-core): axe-core
// on every screen (dashboard, users, a user, sessions, events, audit log, applications and one
// application, identity providers and one provider, signing keys, the policy, API keys, "what can
// I do", the forms that create things), in light and in dark mode (prefers-color-scheme
// emulation), with no serious or critical violation, and a screenshot of each; the htmx typeahead
// of the users list (rows replaced without a reload); then, with JavaScript off, a form submitted
// (disable the user); and the main screens driven end to end with JavaScript on and off (create a
// user, end their session, reset their factors, register an application, change the policy),
// with screenshots. Run by the Rust test `admin_ui::browser` against a live server:
//
//     node tests/e2e/admin.mjs BASE_URL TENANT ADMIN PASSWORD USER_ID SCREENSHOT_DIR [CLIENT_ID IDP_SLUG]
//
// Exits non-zero with a message on the first thing that does not happen.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, tenant, admin, password, userId, shots, clientId, idpSlug, samlSlug] = process.argv.slice(2);
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.WATCHWORD_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});

async function signIn(page) {
  const admin_home = `${base}/t/${tenant}/admin/`;
  await page.goto(admin_home);
  // Not signed in: the sign-in page, which comes back here.
  await page.fill("#identifier", admin);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(admin_home), page.click("form button[type=submit]")]);
}


// The main screens end to end, the same with JavaScript on and off: create a user, end their
// session, reset their second factors, register an application, change the policy. `label` keeps
// the two runs apart; `minLength` is the policy's new password.min_length.
async function flows(page, label, minLength) {
  const t = `${base}/t/${tenant}/admin`;
  const who = `${label}-carol`;
  const secret = "a long enough password 1";
  await page.goto(`${t}/users/new`);
  await page.fill("#username", who);
  await page.fill("#password", secret);
  await Promise.all([page.waitForURL(/done=created/), page.click("button:has-text('Create the user')")]);
  const userPath = new URL(page.url()).pathname;
  const id = userPath.split("/").pop();
  await page.screenshot({ path: `${shots}/flow-${label}-user-created.png`, fullPage: true });

  // The new user signs in elsewhere: one session to end.
  const theirs = await browser.newContext();
  const tp = await theirs.newPage();
  await tp.goto(`${base}/t/${tenant}/account`);
  await tp.fill("#identifier", who);
  await tp.fill("#password", secret);
  await Promise.all([
    tp.waitForURL((u) => new URL(u).pathname.endsWith("/account")),
    tp.click("form button[type=submit]"),
  ]);
  await theirs.close();
  await page.goto(`${t}/sessions?user=${id}`);
  const end = page.locator("button[aria-label^='End the session']");
  if ((await end.count()) !== 1) fail(`${label}: expected one session of ${who}, saw ${await end.count()}`);
  if (label === "js") {
    await end.click();
    await page.waitForFunction(() => document.querySelectorAll("button[aria-label^='End the session']").length === 0);
  } else {
    await Promise.all([page.waitForURL(/done=/), end.click()]);
  }
  await page.goto(`${t}/sessions?user=${id}`);
  if ((await page.locator("button[aria-label^='End the session']").count()) !== 0) fail(`${label}: the session was not ended`);
  await page.screenshot({ path: `${shots}/flow-${label}-session-ended.png`, fullPage: true });

  await page.goto(`${base}${userPath}`);
  await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Reset second factors')")]);
  await page.screenshot({ path: `${shots}/flow-${label}-mfa-reset.png`, fullPage: true });

  await page.goto(`${t}/clients/new`);
  await page.fill("#client-name", `${label} app`);
  await page.fill("#redirect-uris", `https://${label}.app.example.test/callback`);
  await page.click("button:has-text('Register')");
  // The answer page shows the secret this once.
  await page.locator("#new-secret").waitFor();
  await page.screenshot({ path: `${shots}/flow-${label}-app-registered.png`, fullPage: true });

  await page.goto(`${t}/policy`);
  await page.fill("[name='password.min_length']", String(minLength));
  await Promise.all([page.waitForURL(/done=/), page.click("button:has-text('Save the policy')")]);
  if ((await page.inputValue("[name='password.min_length']")) !== String(minLength)) fail(`${label}: the policy did not keep ${minLength}`);
  await page.screenshot({ path: `${shots}/flow-${label}-policy-saved.png`, fullPage: true });
  console.log(`OK: flows ${label === "js" ? "with" : "without"} JavaScript`);
}

try {
  // 1. Accessibility of every screen, light and dark (CSP bypassed only so that axe can be injected).
  const t = `/t/${tenant}/admin`;
  const screens = [
    ["dashboard", `${t}/`],
    ["users", `${t}/users`],
    ["user-new", `${t}/users/new`],
    ["user", `${t}/users/${userId}`],
    ["sessions", `${t}/sessions?q=${encodeURIComponent(admin.slice(0, 2))}&user=${userId}`],
    ["events", `${t}/events`],
    ["audit", `${t}/audit`],
    ["clients", `${t}/clients`],
    ["client-new", `${t}/clients/new`],
    ["idps", `${t}/idps`],
    ["idp-new", `${t}/idps/new`],
    ["idp-new-entra", `${t}/idps/new?kind=entra`],
    ["idp-new-saml", `${t}/idps/new?kind=saml`],
    ["keys", `${t}/keys`],
    ["policy", `${t}/policy`],
    ["api-keys", `${t}/api-keys`],
    ["me", `${t}/me`],
  ];
  if (clientId) screens.push(["client", `${t}/clients/${clientId}`], ["client-edit", `${t}/clients/${clientId}/edit`]);
  if (idpSlug) screens.push(["idp", `${t}/idps/${idpSlug}`], ["idp-edit", `${t}/idps/${idpSlug}/edit`]);
  if (samlSlug) screens.push(["idp-saml", `${t}/idps/${samlSlug}`], ["idp-saml-edit", `${t}/idps/${samlSlug}/edit`]);
  let bad = 0;
  for (const scheme of ["light", "dark"]) {
    const context = await browser.newContext({ bypassCSP: true, colorScheme: scheme });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    await signIn(page);
    for (const [name, path] of screens) {
      const res = await page.goto(`${base}${path}`);
      if (res.status() !== 200) fail(`${path} answered ${res.status()}`);
      await page.addScriptTag({ path: axePath });
      const result = await page.evaluate(async () => await window.axe.run(document));
      const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      for (const v of serious) {
        bad += 1;
        console.error(`${name} (${scheme}): ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
      }
      const shot = scheme === "light" ? name : `${name}-dark`;
      await page.screenshot({ path: `${shots}/${shot}.png`, fullPage: true });
      console.log(`axe ${name} (${scheme}): ${result.violations.length} violations, ${serious.length} serious or critical, ${result.passes.length} rules passed`);
    }
    await context.close();
  }
  if (bad > 0) fail(`${bad} serious or critical accessibility violations`);
  console.log(`OK: axe (${screens.length} screens, light and dark)`);

  // 1b. With JavaScript (and the real CSP): htmx loads and the typeahead replaces the rows in place.
  const live = await browser.newContext();
  const p1 = await live.newPage();
  p1.setDefaultTimeout(15000);
  const blocked = [];
  p1.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  await signIn(p1);
  await p1.goto(`${base}${t}/users`);
  if (!(await p1.evaluate(() => typeof window.htmx === "object"))) fail("htmx did not load");
  const before = p1.url();
  await p1.fill("#q", admin);
  await p1.press("#q", "End");
  await p1.waitForFunction((who) => {
    const rows = [...document.querySelectorAll("#users-rows tr")];
    return rows.length > 0 && rows.every((r) => r.textContent.includes(who));
  }, admin);
  if (p1.url() !== before) fail("the typeahead reloaded the page");
  if (blocked.length > 0) fail(`CSP violations: ${blocked.join("; ")}`);
  await flows(p1, "js", 13);
  await live.close();
  console.log("OK: htmx typeahead");

  // 2. Without JavaScript: a plain form with its CSRF token, answered by a redirect.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const p2 = await plain.newPage();
  p2.setDefaultTimeout(15000);
  await signIn(p2);
  await p2.goto(`${base}/t/${tenant}/admin/users/${userId}`);
  await Promise.all([
    p2.waitForURL(/done=disabled/),
    p2.click("button:has-text('Disable the account')"),
  ]);
  if (!(await p2.content()).includes("The account is disabled")) fail("no notice after disabling");
  await p2.screenshot({ path: `${shots}/user-disabled-no-js.png`, fullPage: true });
  console.log("OK: form without JavaScript");
  await flows(p2, "nojs", 14);
} finally {
  await browser.close();
}
