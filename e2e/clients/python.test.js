// python-socketio's client (PyPI, pinned in clients/requirements.txt) against
// /socket.io/, over polling only, websocket only, and polling upgraded:
// clients/python_client.py does the checks and prints `ok <check>` for each.
//
// The interpreter is $PYTHON, else e2e/.venv/bin/python when that venv
// exists, else python3. Set one up with:
//   python3 -m venv e2e/.venv && e2e/.venv/bin/pip install -r e2e/clients/requirements.txt
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { describe, test } = require('node:test');
const { useServer } = require('./server');

const SCRIPT = path.join(__dirname, 'python_client.py');
const VENV_PYTHON = path.join(__dirname, '..', '.venv', 'bin', 'python');
const PYTHON = process.env.PYTHON || (fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
const CHECKS = [
  'connect-auth',
  'namespace-custom',
  'server-disconnect',
  'namespace-refused',
  'events-text-json-binary',
  'acks-both-ways',
  'rooms',
  'burst-1000-in-order',
  'message-500kb',
  'non-bmp-text',
];
const RUN_TIMEOUT_MS = 90_000;

/** Fails (with the fix) unless the interpreter has the pinned packages. */
function checkPython() {
  const probe = spawnSync(PYTHON, ['-c', [
    'import importlib.metadata as m',
    'import socketio, engineio, websocket, requests',
    "print(m.version('python-socketio'), m.version('python-engineio'), m.version('websocket-client'), m.version('requests'))",
  ].join('\n')], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import python-socketio's client: ` +
      `${probe.error ? probe.error.message : probe.stderr.trim().split('\n').pop()}\n` +
      'install it: python3 -m venv e2e/.venv && e2e/.venv/bin/pip install -r e2e/clients/requirements.txt');
  }
  return probe.stdout.trim();
}

function run(url, mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, url, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python_client.py ${mode}: still running after ${RUN_TIMEOUT_MS / 1000} s\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('python-socketio client (Socket.IO v5, EIO=4)', () => {
  const getServer = useServer();
  let versions;

  test('the pinned python-socketio client is installed', () => {
    versions = checkPython();
    const [socketio] = versions.split(' ');
    const pinned = /python-socketio\[client\]==(\S+)/.exec(
      fs.readFileSync(path.join(__dirname, 'requirements.txt'), 'utf8'))[1];
    assert.equal(socketio, pinned, `python-socketio ${socketio} installed, ${pinned} pinned`);
  });

  for (const mode of ['polling', 'websocket', 'upgrade']) {
    const label = mode === 'upgrade' ? 'polling upgraded to websocket' : `${mode} only`;
    test(`over ${label}: auth, /custom, refusal, events, acks, rooms, bye, burst, 500 KB, non-BMP`,
      { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
        if (!versions) checkPython();
        const { code, signal, stdout, stderr } = await run(getServer().url, mode);
        const passed = stdout.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
        const detail = `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
        assert.equal(signal, null, `killed by ${signal}${detail}`);
        assert.equal(code, 0, `python_client.py exited with ${code}${detail}`);
        assert.deepStrictEqual(passed, CHECKS, `checks that passed${detail}`);
        assert.match(stdout, /^all checks passed$/m);
      });
  }
});
