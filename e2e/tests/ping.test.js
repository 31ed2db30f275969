// The ping example: a person picks a transport, connects, pings, and reads
// the round-trip time and the running average.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { launchBrowser, openPage, screenshotPath, startExample } = require('../lib/harness');

const TIMEOUT = 30_000;

describe('ping example', () => {
  let server;
  let browser;

  before(async () => {
    server = await startExample('ping');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const transport of ['websocket', 'xhr-polling']) {
    test(`${transport}: round-trip times and their average`, { timeout: 60_000 }, async () => {
      const page = await openPage(browser);
      try {
        await page.goto(server.url + '/');
        await page.selectOption('#transport-choice', transport);
        await page.click('#connect');
        await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
        assert.equal(await page.textContent('#transport'), transport);

        for (let n = 1; n <= 3; n++) {
          await page.click('#ping');
          await page.locator('#count', { hasText: new RegExp(`^${n}$`) }).waitFor({ timeout: TIMEOUT });
        }
        const rows = await page.locator('#rows tr').allTextContents();
        assert.equal(rows.length, 3);
        const average = Number(await page.textContent('#average'));
        assert.ok(Number.isFinite(average) && average >= 0, `average ${average}`);
        // The server stamped every reply: the column is a time, not empty.
        for (const cell of await page.locator('#rows tr td:nth-child(3)').allTextContents()) {
          assert.match(cell, /^\d\d:\d\d:\d\d\.\d{3}$/);
        }
        if (transport === 'websocket') await page.screenshot({ path: screenshotPath('ping.png'), fullPage: true });
        await page.click('#connect'); // now "Disconnect"
        await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });
      } catch (error) {
        error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
        throw error;
      } finally {
        await page.closeAll();
      }
    });
  }
});
