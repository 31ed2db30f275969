// Starts the server under test for the client suites in this folder.
//
// By default that is the Rust example `target/debug/examples/conformance`
// (built by `cargo build --examples`), started as `conformance --port 0`.
// With `CONFORMANCE_CMD` set, that command runs instead, through /bin/sh,
// with `--port 0` appended unless it already names a port, e.g.
//
//   CONFORMANCE_CMD="node /work/ref/conformance.js" node --test --test-concurrency=1 clients/
//
// Either way the server must print `Listening on http://ADDR:PORT/` once
// bound; the clients then talk to 127.0.0.1:PORT. Nothing is skipped: a
// missing binary, an early exit or no Listening line fails the test file.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { after, before } = require('node:test');

const REPO = path.resolve(__dirname, '..', '..');
const BINARY = path.join(REPO, 'target', 'debug', 'examples', 'conformance');
const STARTUP_TIMEOUT_MS = 30_000;

/** Every server this process started, so that none outlives it. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

function command() {
  const custom = process.env.CONFORMANCE_CMD;
  if (custom && custom.trim()) {
    const cmd = /(^|\s)--port(\s|=|$)/.test(custom) ? custom : `${custom} --port 0`;
    return { label: cmd, file: '/bin/sh', args: ['-c', `exec ${cmd}`] };
  }
  if (!fs.existsSync(BINARY)) {
    throw new Error(
      `${BINARY} is missing: run \`cargo build --examples\` first, ` +
      'or set CONFORMANCE_CMD to the server to test');
  }
  return { label: `${BINARY} --port 0`, file: BINARY, args: ['--port', '0'] };
}

/**
 * Starts the server and resolves once it printed its Listening line, with
 * `url` (http://127.0.0.1:PORT, no trailing slash), `port`, `log()` (what it
 * printed) and `stop()`.
 */
async function startServer() {
  const { label, file, args } = command();
  const child = spawn(file, args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() reaches a shell's children too
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' },
  });
  running.add(child);
  const output = [];
  const record = (stream) => (line) => {
    output.push(line);
    if (process.env.E2E_SERVER_LOG) process.stderr.write(`[conformance ${stream}] ${line}\n`);
  };
  readline.createInterface({ input: child.stderr }).on('line', record('stderr'));
  const stdout = readline.createInterface({ input: child.stdout });
  stdout.on('line', record('stdout'));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));

  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no "Listening on" line within ${STARTUP_TIMEOUT_MS / 1000} s`)),
      STARTUP_TIMEOUT_MS);
    function fail(error) {
      clearTimeout(timer);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      reject(new Error(`server \`${label}\`: ${error.message}\n--- its output ---\n${output.join('\n')}`));
    }
    stdout.on('line', (line) => {
      const match = /Listening on https?:\/\/(?:\[[^\]]*\]|[^/\s]*):(\d+)\/?/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => output.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      }, 5_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * For a test file (or a describe block): starts the server before its tests
 * and stops it after them. Returns a function giving the running server. If
 * the server could not start, that function throws why, so every test fails
 * with the reason (a failing `before` hook would only cancel them).
 */
function useServer() {
  let server = null;
  let error = null;
  before(async () => {
    try {
      server = await startServer();
    } catch (e) {
      error = e;
    }
  });
  after(async () => {
    if (server) await server.stop();
  });
  return () => {
    if (error) throw error;
    if (!server) throw new Error('the server under test was not started');
    return server;
  };
}

module.exports = { startServer, useServer };
