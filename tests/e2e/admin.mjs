// The management UI in headless Chromium (Debian's package, driven by playwright-core): axe-core
// on the dashboard, the users list, a user's page and the audit log (no serious or critical
// violation), with a screenshot of each; then, with JavaScript off, a form submitted (disable the
// user). Run by the Rust test `admin_ui::browser` against a live server:
//
//     node tests/e2e/admin.mjs BASE_URL TENANT ADMIN PASSWORD USER_ID SCREENSHOT_DIR
//
// Exits non-zero with a message on the first thing that does not happen.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, tenant, admin, password, userId, shots] = process.argv.slice(2);
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

try {
  // 1. Accessibility of the main screens (CSP bypassed only so that axe can be injected).
  const context = await browser.newContext({ bypassCSP: true, colorScheme: "light" });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await signIn(page);
  const screens = [
    ["dashboard", `/t/${tenant}/admin/`],
    ["users", `/t/${tenant}/admin/users`],
    ["user", `/t/${tenant}/admin/users/${userId}`],
    ["audit", `/t/${tenant}/admin/audit`],
  ];
  let bad = 0;
  for (const [name, path] of screens) {
    const res = await page.goto(`${base}${path}`);
    if (res.status() !== 200) fail(`${path} answered ${res.status()}`);
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(async () => await window.axe.run(document));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of serious) {
      bad += 1;
      console.error(`${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
    }
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    console.log(`axe ${name}: ${result.violations.length} violations, ${serious.length} serious or critical, ${result.passes.length} rules passed`);
  }
  if (bad > 0) fail(`${bad} serious or critical accessibility violations`);
  console.log("OK: axe");

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
} finally {
  await browser.close();
}
