import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** `npm run chat` end to end: the real entry point on embedded servers, driven through stdin. */
describe('terminal chat', () => {
  it('completes a join typed on stdin, and a till purchase over HTTP shows up in the chat', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-chat-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', 'all', '--chat'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: '0', LANG: 'ru_RU.UTF-8', USER: 'tester' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const waitFor = async (re: RegExp, from = 0, ms = 30_000): Promise<number> => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const m = re.exec(out.slice(from));
        if (m) return from + m.index + m[0].length;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${String(re)} in:\n${out.slice(from)}\n--- stderr:\n${err}`);
    };
    const say = (line: string): void => {
      child.stdin.write(`${line}\n`);
    };
    try {
      let at = await waitFor(/Напишите \/start/);
      say('/start');
      at = await waitFor(/номер телефона/, at);
      say('/contact +79991112233');
      at = await waitFor(/Как к вам обращаться/, at);
      say('Мария <b>&</b>');
      at = await waitFor(/\[1\] ✅ Даю согласие/, at);
      say('1');
      at = await waitFor(/Ваша карта: (\d+)/, at);
      const card = /Ваша карта: (\d+)/.exec(out)![1]!;
      expect(out).toContain('Мария <b>&</b>'); // typed text shown back as typed, not as markup
      expect(out).toMatch(/Баланс: 1\s000 баллов/);

      // The till: a store key from the admin API, then a purchase for this card.
      const url = /HTTP: listening on (http:\/\/\S+)/.exec(err)![1]!;
      const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const store = await fetch(`${url}/api/v1/admin/stores`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Кофейня' }),
      });
      expect(store.status).toBe(201);
      const { key } = (await store.json()) as { key: string };
      const purchase = await fetch(`${url}/api/v1/purchases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ receiptId: 'chat-1', cardNumber: card, total: 190000 }),
      });
      expect(purchase.status).toBe(201);
      // 1,900 ₽ × 3% = 57 points: "+57 баллов за покупку, баланс 1 057"
      await waitFor(/\+57 баллов за покупку[^\n]*1\s057/, at);
      child.stdin.end();
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
