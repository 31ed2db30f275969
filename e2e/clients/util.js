// Small helpers shared by the client suites: waiting on events with a
// deadline, comparing binary however a client decodes it, and payloads.
'use strict';

const assert = require('node:assert/strict');
const http = require('node:http');

/**
 * Resolves with the arguments of the next `event` from `emitter` (an array),
 * rejects after `ms` (or at once on one of `failOn`, with its argument).
 */
function once(emitter, event, { ms = 5_000, failOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const off = [];
    const cleanup = () => { clearTimeout(timer); for (const f of off) f(); };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const onEvent = (...args) => { cleanup(); resolve(args); };
    emitter.on(event, onEvent);
    off.push(() => emitter.off(event, onEvent));
    for (const bad of failOn) {
      const onBad = (...args) => {
        cleanup();
        const detail = args.map((a) => (a instanceof Error ? a.message : JSON.stringify(a))).join(', ');
        reject(new Error(`"${bad}" (${detail}) while waiting for "${event}"`));
      };
      emitter.on(bad, onBad);
      off.push(() => emitter.off(bad, onBad));
    }
  });
}

/** Collects the arguments of `count` `event`s, in order. */
function collect(emitter, event, count, { ms = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`only ${got.length} of ${count} "${event}" within ${ms} ms`));
    }, ms);
    function onEvent(...args) {
      got.push(args);
      if (got.length === count) {
        clearTimeout(timer);
        emitter.off(event, onEvent);
        resolve(got);
      }
    }
    emitter.on(event, onEvent);
  });
}

/** Rejects if `promise` has not settled after `ms`. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isBinary(value) {
  return Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** Bytes of any binary value a client may hand back (Buffer, ArrayBuffer, view). */
function bytes(value) {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`not binary: ${typeof value} ${JSON.stringify(value)?.slice(0, 80)}`);
}

/**
 * Replaces every binary value, however deep, by `{ $bin: hex }`, so that
 * deepStrictEqual compares bytes and still fails when binary came back as
 * something else (a string, a placeholder object, base64).
 */
function normalize(value) {
  if (isBinary(value)) return { $bin: bytes(value).toString('hex') };
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v);
    return out;
  }
  return value;
}

function assertSameArgs(actual, expected, message) {
  assert.deepStrictEqual(normalize(actual), normalize(expected), message);
}

/** A GET answered as { status, body } (body parsed as JSON when it is). */
function get(url, { ms = 3_000 } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: response.statusCode, body, text });
      });
      response.on('error', reject);
    });
    request.setTimeout(ms, () => request.destroy(new Error(`GET ${url}: no answer within ${ms} ms`)));
    request.on('error', reject);
  });
}

/**
 * Waits until the server says that session `sid` is unknown: a polling GET
 * with it gets 400 {"code":1,"message":"Session ID unknown"}. Retries while
 * the server may still be finishing the close (a GET may then wait for a ping).
 */
async function waitSessionGone(base, path, eio, sid, { ms = 5_000 } = {}) {
  const deadline = Date.now() + ms;
  const url = `${base}${path}?EIO=${eio}&transport=polling&sid=${encodeURIComponent(sid)}`;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await get(url, { ms: 2_000 });
      if (last.status === 400 && last.body && last.body.code === 1) return last;
    } catch (error) {
      last = { error: error.message };
    }
    await delay(50);
  }
  throw new Error(`session ${sid} still known to the server after ${ms} ms; last answer: ${JSON.stringify(last)}`);
}

/** Text that trips UTF-16 vs UTF-8 vs code point counting, and framing. */
const NON_BMP = '😀 🎉 𝄞 𠜎 漢字 ünïcødé — 4:4 12:4x b4AQI= \u2028\u2029 "quoted" \\ end 👍🏽';

/** `n` bytes, every value from 0 to 255 and none repeating in a short period. */
function pattern(n, seed = 7) {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xff;
  }
  return out;
}

/** An ASCII string of `n` characters, varied so that a dropped chunk shows. */
function bigText(n) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${i}${alphabet[i % alphabet.length]}`;
  return s.slice(0, n);
}

module.exports = {
  NON_BMP,
  assertSameArgs,
  bigText,
  bytes,
  collect,
  delay,
  get,
  isBinary,
  normalize,
  once,
  pattern,
  waitSessionGone,
  within,
};
