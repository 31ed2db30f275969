// Shared machinery of the browser suite: the example servers, Chromium, a
// second origin, the htmlfile shim, and what a person does on the pages.
// Nothing here is mocked: the example binaries serve real sockets on
// loopback, the pages run the unmodified clients from npm (socket.io 0.6's,
// socket.io-client 0.9's and socket.io-client 4's), and the browser is
// Chromium.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const readline = require('node:readline');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CLIENT_JS = path.join(
  __dirname, '..', 'node_modules', 'socket.io', 'support', 'socket.io-client', 'socket.io.js');
/** socket.io-client 0.9.17's browser build, as the examples serve it. */
const CLIENT_V09_JS = path.join(__dirname, '..', 'node_modules', 'socket.io-client-v09', 'dist', 'socket.io.js');
const ARTIFACTS = path.join(REPO, 'target', 'e2e');

/** The transports the 0.6 client can use in a current Chromium without help. */
const BROWSER_TRANSPORTS = ['websocket', 'xhr-polling', 'jsonp-polling'];

/** The same for socket.io-client 0.9 (htmlfile needs `htmlfileShim`). */
const V09_TRANSPORTS = ['websocket', 'xhr-polling', 'jsonp-polling'];

/**
 * Starts `target/debug/examples/NAME` on a free loopback port (or on `port`,
 * to restart a server where its pages expect it), with the example's own
 * `args` if any, and resolves once it printed `Listening on
 * http://ADDR:PORT/`. Fails loudly when the binary is missing: build it with
 * `cargo build --examples` first.
 */
async function startExample(name, { port = 0, args = [] } = {}) {
  const binary = path.join(REPO, 'target', 'debug', 'examples', name);
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: run \`cargo build --examples\` first (e2e/run.sh does)`);
  }
  const child = spawn(
    binary,
    ['--port', String(port), '--flash-policy-port', '0', '--address', '127.0.0.1', ...args],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' } },
  );
  const stderr = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (process.env.E2E_SERVER_LOG) process.stderr.write(`[${name}] ${line}\n`);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no "Listening on" line within 30 s')), 30_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`example ${name}: ${error.message}\n--- its stderr ---\n${stderr.join('\n')}`));
    }
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^Listening on (http:\/\/\S+?)\/?$/.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
  });

  return {
    name,
    url, // e.g. http://127.0.0.1:40123, no trailing slash
    port: Number(new URL(url).port),
    log: () => stderr.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * Launches Debian's Chromium headless with a fresh profile (Playwright gives
 * every `launch` its own temporary user-data-dir). Each test then opens its
 * own context, so the client's `socketio=<transport>` cookie never leaks
 * from one test into the next.
 */
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/**
 * Opens a page in a fresh context and records what the page logs, so that a
 * failing test can say what the browser saw.
 */
async function openPage(browser, { initScript } = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const console = [];
  page.on('console', (message) => console.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => console.push(`pageerror: ${error.message}`));
  page.on('requestfailed', (request) => {
    console.push(`requestfailed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
  });
  page.consoleLog = () => console.join('\n');
  page.closeAll = () => context.close();
  return page;
}

/**
 * A second origin: a plain HTTP server on another loopback port serving one
 * page, and `scripts` (a map from path to a JavaScript file on disk) if any.
 * (Not Playwright's route.fulfill: Chromium treats such a page as public
 * and its Local Network Access checks then block the WebSocket to 127.0.0.1.)
 */
async function startOtherOrigin(html, { scripts = {} } = {}) {
  for (const file of Object.values(scripts)) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm ci\` in e2e/ (e2e/run.sh does)`);
  }
  const server = http.createServer((request, response) => {
    if (request.url === '/' || request.url.startsWith('/?')) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(html);
    } else if (Object.hasOwn(scripts, request.url)) {
      response.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8' });
      response.end(fs.readFileSync(scripts[request.url]));
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * Test-only shim: Chromium has no `ActiveXObject('htmlfile')`, so give the
 * client one backed by the page's own document. The client then appends its
 * iframe to this page, sets `window.s` to its transport, and the server's
 * `<script>parent.s._(...)</script>` chunks reach the real htmlfile code.
 */
function htmlfileShim() {
  window.ActiveXObject = function (name) {
    if (String(name).toLowerCase() !== 'htmlfile') throw new Error('no ActiveX control ' + name);
    return {
      open: function () {},
      write: function () {},
      close: function () {},
      parentWindow: window,
      createElement: function (tag) { return document.createElement(tag); },
      get body() { return document.body; },
    };
  };
  // IE's event API, mapped onto the standard one.
  window.attachEvent = function (type, listener) {
    window.addEventListener(String(type).replace(/^on/, ''), listener);
  };
  window.CollectGarbage = function () {};
}

/**
 * On the transports example's page: ticks only `transport`, clicks Connect,
 * and waits until the page says Connected and shows the server's greeting.
 */
async function connectTransportsPage(page, url, transport, timeout = 30_000) {
  await page.goto(url + '/');
  for (const box of await page.locator('#choices input[type=checkbox]').all()) {
    await box.setChecked((await box.getAttribute('value')) === transport);
  }
  await page.click('#connect');
  await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout });
  const shown = await page.textContent('#transport');
  if (shown !== transport) throw new Error(`page connected over ${shown}, not ${transport}`);
  await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).waitFor({ timeout });
}

/**
 * On the transports example's page: picks socket.io-client 0.9, ticks only
 * `transport`, clicks Connect, and waits until the page says Connected over
 * it and shows the server's greeting.
 */
async function connectV09TransportsPage(page, url, transport, timeout = 30_000) {
  await page.goto(url + '/');
  await page.check('#client-v09');
  for (const box of await page.locator('#v09-choices input[type=checkbox]').all()) {
    await box.setChecked((await box.getAttribute('value')) === transport);
  }
  await page.click('#connect');
  await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout });
  const shown = await page.textContent('#transport');
  if (shown !== transport) throw new Error(`page connected over ${shown}, not ${transport}`);
  await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).waitFor({ timeout });
  const used = await page.evaluate(() => window.socket.socket.transport.name);
  if (used !== transport) throw new Error(`the client is on ${used}, not ${transport}`);
}

/**
 * socket.io-client 4's ways to connect, as the transports page offers them,
 * each with the transport the connection must end up on.
 */
const CURRENT_MODES = [
  { mode: 'websocket', label: 'websocket only', final: 'websocket' },
  { mode: 'polling', label: 'polling only', final: 'polling' },
  { mode: 'upgrade', label: 'polling upgraded to websocket', final: 'websocket' },
];

/**
 * On the transports example's page: picks socket.io-client 4 and `mode`
 * (websocket, polling or upgrade), clicks Connect, and waits until the page
 * says Connected over the transport that mode ends on (after the upgrade,
 * for `upgrade`) and shows the server's greeting.
 */
async function connectCurrentTransportsPage(page, url, mode, timeout = 30_000) {
  const { final } = CURRENT_MODES.find((m) => m.mode === mode);
  await page.goto(url + '/');
  await page.check('#client-current');
  await page.check(`#mode-${mode}`);
  await page.click('#connect');
  await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout });
  await page.locator('#transport', { hasText: new RegExp(`^${final}$`) }).waitFor({ timeout });
  await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).waitFor({ timeout });
  const used = await page.evaluate(() => window.socket.io.engine.transport.name);
  if (used !== final) throw new Error(`the client is on ${used}, not ${final}`);
}

/**
 * On the transports page: types a line into the send box (as text) and waits
 * for the server's echo in the log.
 */
async function typeAndSeeEcho(page, text, timeout = 30_000) {
  await page.setChecked('#as-json', false);
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
  await page.locator('#log .entry.in:not(.json)', { hasText: text }).waitFor({ timeout });
}

/**
 * On the transports page: ticks "as JSON", types an object, and checks that
 * the echo is the same object, keys in the order they were typed.
 */
async function typeJsonAndSeeEcho(page, value, timeout = 30_000) {
  const echoes = page.locator('#log .entry.in.json .text');
  const before = await echoes.count();
  await page.setChecked('#as-json', true);
  await page.fill('#message', JSON.stringify(value));
  await page.press('#message', 'Enter');
  await echoes.nth(before).waitFor({ timeout });
  const shown = await echoes.nth(before).textContent();
  if (shown !== JSON.stringify(value)) {
    throw new Error(`echoed ${shown}, sent ${JSON.stringify(value)}`);
  }
}

/**
 * Sends `payloads` in one tick through the page's `window.socket` (either
 * client: both have `send` and `on('message')`); resolves with the next
 * as many messages that come back.
 */
async function burst(page, payloads, timeout = 30_000) {
  await page.evaluate((payloads) => {
    window.echoes = [];
    window.socket.on('message', (message) => window.echoes.push(message));
    payloads.forEach((payload) => window.socket.send(payload));
  }, payloads);
  await page.waitForFunction((n) => window.echoes.length >= n, payloads.length, { timeout });
  return page.evaluate(() => window.echoes);
}

/**
 * Splits a 0.6 payload into its messages. Written from the protocol text:
 * `~m~LEN~m~DATA`, LEN counted in UTF-16 code units (JavaScript's length).
 */
function decodeFrames(payload) {
  const frames = [];
  let rest = payload;
  while (rest.length) {
    const match = /^~m~(\d+)~m~/.exec(rest);
    if (!match) throw new Error(`not a 0.6 frame: ${JSON.stringify(rest.slice(0, 40))}`);
    const length = Number(match[1]);
    const start = match[0].length;
    if (rest.length < start + length) throw new Error(`frame cut short: ${JSON.stringify(rest.slice(0, 40))}`);
    frames.push(rest.slice(start, start + length));
    rest = rest.slice(start + length);
  }
  return frames;
}

/** The `data` field of a form-encoded POST body, as the server reads it. */
function formData(body) {
  for (const pair of String(body).split('&')) {
    const [name, value = ''] = pair.split('=');
    if (name === 'data') return decodeURIComponent(value.replace(/\+/g, ' '));
  }
  throw new Error(`no data field in ${JSON.stringify(String(body).slice(0, 40))}`);
}

/** Messages that prove the framing: text, a JSON object, and UTF-16 surprises. */
const PAYLOADS = [
  'hello, world',
  { kind: 'json', n: 42, nested: { list: [1, 'two', null], ok: true }, text: 'ünïcødé' },
  'naïve 😀 emoji ~m~5~m~ fake frame, ~j~{"not":"json"} and ~h~1 inside: 漢字 🎉',
];

/**
 * The same and more for the current client: a string with what frames an
 * Engine.IO v4 polling payload (the record separator) and a Socket.IO
 * packet, plus text beyond the BMP and JavaScript's line separators.
 */
const CURRENT_PAYLOADS = [
  ...PAYLOADS,
  '\u001e 42["message","fake"] 4:4 \u2028\u2029 𝄞 𠜎 👍🏽',
];

function screenshotPath(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

module.exports = {
  BROWSER_TRANSPORTS,
  CLIENT_JS,
  CLIENT_V09_JS,
  CURRENT_MODES,
  CURRENT_PAYLOADS,
  PAYLOADS,
  burst,
  connectCurrentTransportsPage,
  connectTransportsPage,
  connectV09TransportsPage,
  decodeFrames,
  formData,
  htmlfileShim,
  launchBrowser,
  openPage,
  screenshotPath,
  startExample,
  startOtherOrigin,
  typeAndSeeEcho,
  typeJsonAndSeeEcho,
  V09_TRANSPORTS,
};
