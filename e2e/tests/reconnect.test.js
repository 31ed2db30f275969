// A chat page outlives a server restart: the 0.6 client reconnects by itself
// to the new process on the same port, gets a new session and a new welcome,
// and chatting works again.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { launchBrowser, openPage, startExample } = require('../lib/harness');

const TIMEOUT = 30_000;

describe('server restart', () => {
  let server;
  let browser;

  before(async () => {
    server = await startExample('chatroom');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the chat page reconnects to the restarted server and chats again', { timeout: 90_000 }, async () => {
    const page = await openPage(browser);
    try {
      await page.goto(`${server.url}/?transport=websocket`);
      await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
      await page.locator('#log .system', { hasText: 'Welcome!' }).waitFor({ timeout: TIMEOUT });

      const { port } = server;
      assert.equal((await server.stop()).code, 0);
      await page.locator('#log .system', { hasText: 'Disconnected.' }).waitFor({ timeout: TIMEOUT });

      server = await startExample('chatroom', { port });
      await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
      await page.locator('#log .system', { hasText: 'Welcome!' }).nth(1).waitFor({ timeout: TIMEOUT });

      await page.fill('#message', 'back again');
      await page.click('#send');
      await page.locator('#log .chat .text', { hasText: 'back again' }).waitFor({ timeout: TIMEOUT });
    } catch (error) {
      error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await page.closeAll();
    }
  });
});
