// End-to-end in headless Chromium (Debian's package, driven by playwright-core over the Chrome
// DevTools Protocol, with a virtual WebAuthn authenticator that keeps resident keys and verifies
// the user): sign in with a password, create a passkey on the account page, sign out, sign in
// with the passkey alone. Run by the Rust test `mfa::browser` against a live server:
//
//     node tests/e2e/passkey.mjs BASE_URL USERNAME PASSWORD
//
// Exits non-zero with a message on the first thing that does not happen.
import { chromium } from "playwright-core";

const [base, user, password] = process.argv.slice(2);
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.WATCHWORD_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  // 1. Password sign-in.
  await page.goto(`${base}/t/default/login`);
  await page.fill("#identifier", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/t/default/`), page.click("form button[type=submit]")]);

  // 2. Create a passkey on the account page (the JavaScript ceremony).
  await page.goto(`${base}/t/default/account/security`);
  await page.fill("#key-name", "Chromium passkey");
  await Promise.all([
    page.waitForURL(/account\/security\?done=key/),
    page.click("button[data-kind=passkey]"),
  ]);
  if (!(await page.content()).includes("Chromium passkey")) fail("the passkey is not listed");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    fail(`expected one resident credential, got ${JSON.stringify(credentials)}`);
  }

  // 3. Sign out.
  await page.goto(`${base}/t/default/logout`);
  await Promise.all([page.waitForURL(/signed-out/), page.click("form button[type=submit]")]);

  // 4. Sign in with the passkey alone: the browser offers it in the username field's autofill
  // (conditional mediation), which the virtual authenticator accepts at once; where it does not,
  // the "Sign in with a passkey" button.
  await page.goto(`${base}/t/default/login`);
  let via = "autofill";
  try {
    await page.waitForURL(`${base}/t/default/`, { timeout: 4000 });
  } catch {
    via = "button";
    const button = page.locator("button[data-webauthn=passkey]");
    await Promise.all([page.waitForURL(`${base}/t/default/`), button.click()]);
  }
  const home = await page.content();
  if (!home.includes(`as <strong>${user}</strong>`)) fail("not signed in after the passkey");
  const status = await page.evaluate(async (b) => (await fetch(`${b}/t/default/session/status`)).json(), base);
  if (status.active !== true) fail(`session not active: ${JSON.stringify(status)}`);
  console.log(`OK: passkey created on the account page and used to sign in (${via})`);
} catch (e) {
  let text = "";
  try { text = (await browser.contexts()[0].pages()[0].innerText("body")).slice(0, 600); } catch { /* none */ }
  fail(`${e && e.message || e}\n--- page ---\n${text}`);
} finally {
  await browser.close();
}
