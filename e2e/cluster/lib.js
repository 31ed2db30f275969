// What the cluster suite shares: a real redis-server on a free port, the
// tornadio example binaries as processes, node socket.io servers with
// @socket.io/redis-adapter, socket.io-client connections, HAProxy.
// Nothing is mocked; a missing redis-server or haproxy fails the suite.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { io: connect } = require('socket.io-client');

const REPO = path.resolve(__dirname, '..', '..');
const PATIENCE = 10_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
async function until(check, what, ms = PATIENCE) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Where a program is, or a loud failure saying how to install it. */
function need(program, apt) {
  const found = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`${program} is missing: apt-get install -y ${apt}`);
  }
  return found.stdout.trim();
}

/**
 * Runs `command args`, keeping its stderr; resolves once `ready(line)`
 * matches a line of its stdout (or at once without `ready`).
 */
async function run(name, command, args, { ready, env } = {}) {
  const child = spawn(command, args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const log = [];
  const keep = (stream) => readline.createInterface({ input: stream }).on('line', (line) => {
    log.push(line);
    if (process.env.E2E_SERVER_LOG) process.stderr.write(`[${name}] ${line}\n`);
  });
  keep(child.stderr);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const proc = {
    name,
    child,
    log: () => log.join('\n'),
    lines: () => log.slice(),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  const stdout = readline.createInterface({ input: child.stdout });
  if (!ready) {
    keep(child.stdout);
    return proc;
  }
  proc.match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('not ready within 30 s')), 30_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name}: ${error.message}\n--- its stderr ---\n${log.join('\n')}`));
    }
    stdout.on('line', (line) => {
      const match = ready(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
  });
  return proc;
}

/** A redis-server of its own on a free port, without persistence. */
async function startRedis() {
  const binary = need('redis-server', 'redis-server');
  const port = await freePort();
  const launch = () => run('redis', binary, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  ]);
  let proc = await launch();
  const url = `redis://127.0.0.1:${port}`;
  const client = createClient({ url });
  client.on('error', () => {});
  const answering = () => until(async () => {
    try {
      if (!client.isOpen) await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }, 'redis-server to answer');
  await answering();
  return {
    url,
    port,
    client,
    /** Kills the server, as a crash would. */
    async kill() {
      await proc.stop('SIGKILL');
    },
    /** Starts it again on the same port. */
    async restart() {
      proc = await launch();
      await answering();
    },
    /** Subscribers of a channel, as node's adapter counts servers. */
    async numsub(channel) {
      const reply = await client.sendCommand(['PUBSUB', 'NUMSUB', channel]);
      return Number(reply[1]);
    },
    async stop() {
      await client.quit().catch(() => {});
      await proc.stop();
    },
  };
}

/** A binary of target/debug, built by run.sh. */
function binary(...parts) {
  const file = path.join(REPO, 'target', 'debug', ...parts);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run e2e/cluster/run.sh, which builds it`);
  }
  return file;
}

const listening = (line) => {
  const match = /^Listening on (http:\/\/\S+?)\/?$/.exec(line.trim());
  return match && match[1];
};

/** The cluster_node example of tornadio-redis (HTTP /op/... API). */
async function startTornadio(redisUrl, extra = []) {
  const proc = await run('tornadio', binary('examples', 'cluster_node'), [
    '--redis', redisUrl, '--port', '0', ...extra,
  ], { ready: listening, env: { RUST_LOG: process.env.RUST_LOG || 'info' } });
  proc.url = proc.match;
  /** Runs `/op/name?params` and returns its JSON. */
  proc.op = async (name, params = {}) => {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${proc.url}/op/${name}?${query}`);
    if (!response.ok) throw new Error(`/op/${name}: ${response.status}`);
    return response.json();
  };
  return proc;
}

/** A tornadio example (chatroom, conformance) with its flags. */
async function startExample(name, args = []) {
  const proc = await run(name, binary('examples', name), [
    '--port', '0', '--flash-policy-port', '0', '--address', '127.0.0.1', ...args,
  ], { ready: listening, env: { RUST_LOG: process.env.RUST_LOG || 'info' } });
  proc.url = proc.match;
  proc.port = Number(new URL(proc.url).port);
  return proc;
}

/**
 * A node socket.io 4.8 server with @socket.io/redis-adapter 8.3 on
 * 127.0.0.1: the same behaviour as cluster_node (rooms from auth.rooms,
 * `join` with ack) on `/` and `/chat`.
 */
async function startNode(redisUrl, { requestsTimeout = 2000, publishOnSpecificResponseChannel = false } = {}) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  io.adapter(createAdapter(pub, sub, { requestsTimeout, publishOnSpecificResponseChannel }));
  const onConnection = (socket) => {
    for (const room of socket.handshake.auth.rooms || []) socket.join(room);
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(true);
    });
  };
  io.on('connection', onConnection);
  io.of('/chat').on('connection', onConnection);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  return {
    io,
    url,
    async close() {
      io.close();
      await Promise.all([pub.quit(), sub.quit()]).catch(() => {});
    },
  };
}

/**
 * A socket.io-client 4.8 connection that records every event; resolves
 * once connected.
 */
async function client(url, options = {}) {
  const socket = connect(url, { forceNew: true, reconnection: false, ...options });
  socket.seen = [];
  socket.onAny((event, ...args) => socket.seen.push([event, ...args]));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${url}`)), PATIENCE);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  /** Waits for the events recorded until (without) one named `end`. */
  socket.until = async (end) => {
    const at = await until(() => {
      const i = socket.seen.findIndex(([event]) => event === end);
      return i >= 0 ? i + 1 : 0;
    }, `${end} at ${url}`);
    return socket.seen.splice(0, at).slice(0, -1);
  };
  return socket;
}

/** Runs haproxy in the foreground on `config`; resolves once it listens on `port`. */
async function startHaproxy(config, port) {
  const haproxy = need('haproxy', 'haproxy');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tornadio-haproxy-')), 'haproxy.cfg');
  fs.writeFileSync(file, config);
  const check = spawnSync(haproxy, ['-c', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy rejects the configuration:\n${check.stderr}${check.stdout}`);
  const proc = await run('haproxy', haproxy, ['-db', '-f', file]);
  await until(() => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  }), 'haproxy to listen');
  return proc;
}

module.exports = {
  PATIENCE,
  client,
  freePort,
  sleep,
  startExample,
  startHaproxy,
  startNode,
  startRedis,
  startTornadio,
  until,
};
