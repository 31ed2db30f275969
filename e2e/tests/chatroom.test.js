// The chatroom example with people at the keyboard: two pages on different
// transports type into the page, read each other, and when one leaves the
// other is told. The last test leaves a screenshot in target/e2e/.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { launchBrowser, openPage, screenshotPath, startExample } = require('../lib/harness');

const TIMEOUT = 30_000;

describe('chatroom example', () => {
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

  /** Opens the chat page on `transport` as `name` and waits for the welcome. */
  async function join(name, transport) {
    const page = await openPage(browser);
    await page.goto(`${server.url}/?transport=${transport}`);
    await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.textContent('#transport'), transport);
    await page.locator('#log .system', { hasText: 'Welcome!' }).waitFor({ timeout: TIMEOUT });
    await page.fill('#name', name);
    return page;
  }

  /** Types `text` and clicks Send, like a person. */
  async function say(page, text) {
    await page.click('#message');
    await page.keyboard.type(text);
    await page.click('#send');
    assert.equal(await page.inputValue('#message'), '', 'the input clears after sending');
  }

  async function sees(page, name, text) {
    await page.locator('#log .chat', { hasText: text }).filter({ has: page.locator('.name', { hasText: name }) })
      .waitFor({ timeout: TIMEOUT });
  }

  function withLogs(error, ...pages) {
    error.message += pages.map((page, i) => `\n--- browser ${i + 1} ---\n${page.consoleLog()}`).join('')
      + `\n--- server ---\n${server.log()}`;
    return error;
  }

  test('two pages on different transports chat; closing one tells the other', { timeout: 90_000 }, async () => {
    const alice = await join('alice', 'websocket');
    const bob = await join('bob', 'jsonp-polling');
    try {
      await say(alice, 'Hi Bob, websocket here');
      await sees(alice, 'alice', 'Hi Bob, websocket here'); // the sender gets it too
      await sees(bob, 'alice', 'Hi Bob, websocket here');

      await say(bob, 'Hello Alice — jsonp-polling, ünïcødé 😀');
      await sees(bob, 'bob', 'Hello Alice — jsonp-polling, ünïcødé 😀');
      await sees(alice, 'bob', 'Hello Alice — jsonp-polling, ünïcødé 😀');

      // Alice closes her tab: her websocket closes and Bob is told.
      await alice.closeAll();
      await bob.locator('#log .system', { hasText: 'A user has left.' }).waitFor({ timeout: TIMEOUT });
      assert.equal(await bob.textContent('#state'), 'Connected');
    } catch (error) {
      throw withLogs(error, alice, bob);
    } finally {
      await alice.closeAll().catch(() => {});
      await bob.closeAll();
    }
  });

  test('a person chats on the page (screenshot in target/e2e/chatroom.png)', { timeout: 90_000 }, async () => {
    const ada = await join('Ada', 'xhr-polling');
    const grace = await join('Grace', 'websocket');
    try {
      await say(ada, 'Hello everyone! Anyone tried the new server?');
      await sees(grace, 'Ada', 'Hello everyone!');
      await say(grace, 'Yes, on websocket. Ada, you are on xhr-polling, right?');
      await sees(ada, 'Grace', 'Yes, on websocket.');
      await say(ada, 'Works here too — long polling, same messages, same order.');
      await sees(grace, 'Ada', 'long polling');
      await say(grace, 'Time for lunch, see you later!');
      await sees(ada, 'Grace', 'Time for lunch');
      await grace.closeAll();
      await ada.locator('#log .system', { hasText: 'A user has left.' }).waitFor({ timeout: TIMEOUT });

      // Ada's own messages are hers, Grace's are not.
      assert.equal(await ada.locator('#log .chat.mine').count(), 2);
      assert.equal(await ada.locator('#log .chat:not(.mine)').count(), 2);

      await ada.fill('#message', 'Bye!');
      await ada.screenshot({ path: screenshotPath('chatroom.png'), fullPage: true });
    } catch (error) {
      throw withLogs(error, ada, grace);
    } finally {
      await grace.closeAll().catch(() => {});
      await ada.closeAll();
    }
  });
});
