import { describe, expect, it } from 'vitest';
import { exitWithin, listeningUrl, pidsMentioning, runMain } from '../helpers/process.js';

/** These start the real entry point with embedded FerretDB and redis-server, as `npm start` does. */
describe('process lifecycle', () => {
  it('starts on embedded servers, is ready, and Ctrl-C exits 0 within 10 s leaving no child behind', async () => {
    const run = await runMain({}, { until: 'ready', timeoutMs: 40_000 });
    const dataDir = /kept in (\S+)\/admin-token/.exec(run.stdout)?.[1];
    expect(dataDir).toBeTruthy();
    expect(run.stdout).toMatch(/MongoDB: embedded ferretdb/);
    expect(run.stdout).toMatch(/Telegram: off, no TELEGRAM_BOT_TOKEN/);
    const url = listeningUrl(run.stdout);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await pidsMentioning(dataDir!)).length).toBeGreaterThanOrEqual(2);

    run.child.kill('SIGINT');
    // A bounded wait: the exit must come within the 10 s the README promises.
    expect(await exitWithin(run, 10_000)).toBe(0);
    await expect.poll(() => pidsMentioning(dataDir!), { timeout: 5000 }).toEqual([]);
  }, 60_000);

  it('a crash (SIGKILL) of the process still stops the embedded servers', async () => {
    const run = await runMain({}, { until: 'ready', timeoutMs: 40_000 });
    const dataDir = /kept in (\S+)\/admin-token/.exec(run.stdout)?.[1] ?? 'missing-data-dir';
    run.child.kill('SIGKILL');
    await run.exited;
    await expect.poll(() => pidsMentioning(dataDir), { timeout: 5000 }).toEqual([]);
  }, 60_000);

  it('an unreachable MONGODB_URL fails clearly with a non-zero exit within 15 s', async () => {
    // runMain's bound: it fails the test when the process has not exited within 15 s.
    const run = await runMain({ MONGODB_URL: 'mongodb://127.0.0.1:1/x', MONGODB_CONNECT_TIMEOUT_MS: '3000' }, { until: 'exit', timeoutMs: 15_000 });
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.stderr).toMatch(/Cannot reach MongoDB at mongodb:\/\/127\.0\.0\.1:1\/x/);
  }, 20_000);
});
