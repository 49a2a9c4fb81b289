import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startPanelApp, type PanelApp } from './panel.fixture.js';

let t: PanelApp;
beforeAll(async () => {
  t = await startPanelApp();
});
afterAll(async () => {
  await t.close();
});

describe('reports page: each table downloads as CSV and XLSX', () => {
  it('links every table for the period shown, and the link answers the export (audited)', async () => {
    const marketer = await t.user('marketer');
    const c = client(t.app);
    await c.login(marketer.email);
    const page = await c.get('/admin/reports?from=2026-01-01&to=2026-01-31');
    expect(page.statusCode).toBe(200);
    const links = [...page.body.matchAll(/href="\/admin\/reports\/([a-z-]+)\.(csv|xlsx)\?from=2026-01-01&amp;to=2026-01-31"[^>]*aria-label="([^"]+)"/g)].map((m) => `${m[1]}.${m[2]}`);
    for (const kind of ['summary', 'members', 'new-members', 'activity', 'points', 'referrals', 'retention', 'churn', 'ltv-levels', 'ltv-cohorts']) {
      expect(links).toEqual(expect.arrayContaining([`${kind}.csv`, `${kind}.xlsx`]));
    }
    expect(page.body).toContain('aria-label="Скачать «Баллы за период» в CSV"');

    const csv = await c.get('/admin/reports/points.csv?from=2026-01-01&to=2026-01-31');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="report-points-2026-01-01-2026-01-31.csv"');
    expect(csv.body.split('\r\n')[0]).toBe('\uFEFFПоказатель;Значение');
    const xlsx = await c.get('/admin/reports/retention.xlsx?from=2026-01-01&to=2026-01-31');
    expect(xlsx.headers['content-type']).toContain('spreadsheetml');
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
    const audit = await t.core.audit.page({ action: 'export' });
    expect(audit.items.map((e) => e.target)).toEqual(expect.arrayContaining(['reports/points.csv', 'reports/retention.xlsx']));

    expect((await c.get('/admin/reports/nope.csv')).statusCode).toBe(404);
    expect((await c.get('/admin/reports/points.pdf')).statusCode).toBe(404);
    expect((await c.get('/admin/reports/points.csv?from=2026-03-02&to=2026-03-01')).statusCode).toBe(400);
  });

  it('is refused to a role without reports (support) and to nobody signed in', async () => {
    const support = await t.user('support');
    const c = client(t.app);
    await c.login(support.email);
    expect((await c.get('/admin/reports/summary.csv')).statusCode).toBe(403);
    const anon = await client(t.app).get('/admin/reports/summary.csv');
    expect(anon.statusCode).toBe(303);
    expect(anon.headers.location).toMatch(/^\/admin\/login/);
  });
});
