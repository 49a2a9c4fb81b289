import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { pointsEvent } from './insight.fixture.js';

let api: TestApi;
const auth = () => ({ authorization: `Bearer ${api.adminToken}` });

async function waitFor<T>(f: () => Promise<T>, done: (v: T) => boolean, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api.close());

describe('admin API: import, segments, reports, exports', () => {
  it('imports a CSV body: 202 {id}, then status and counts; the errors download as CSV', async () => {
    const csv = 'Phone,Name,Points\r\n+79990002201,Ann,100\r\n12345,Bad,1\r\n';
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/admin/imports?dryRun=false', headers: { ...auth(), 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    const view = await waitFor(
      async () => (await api.app.inject({ method: 'GET', url: `/api/v1/admin/imports/${id}`, headers: auth() })).json(),
      (v) => v.status === 'done',
    );
    expect(view).toMatchObject({ status: 'done', rows: 2, created: 1, failed: 1, errors: [{ row: 3, column: 'phone', reason: 'phone_invalid' }] });
    const errors = await api.app.inject({ method: 'GET', url: `/api/v1/admin/imports/${id}/errors.csv`, headers: auth() });
    expect(errors.headers['content-type']).toContain('text/csv');
    expect(errors.body).toBe('\uFEFFrow;column;reason\r\n3;phone;phone_invalid\r\n');
  });

  it('answers bad input with stable codes', async () => {
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/admin/imports', headers: { ...auth(), 'content-type': 'application/json' }, payload: '{}' })).json().error.code).toBe('unsupported_media_type');
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/admin/imports/0123456789abcdef01234567', headers: auth() })).statusCode).toBe(404);
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/admin/reports/summary?from=2026-13-01', headers: auth() })).json().error.code).toBe('validation_failed');
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/admin/imports', headers: { 'content-type': 'text/csv' }, payload: 'a' })).statusCode).toBe(401);
  });

  it('segments CRUD with a live count, members page, rebuild', async () => {
    const member = (await api.core.members.findByPhone('+79990002201'))!;
    await api.core.insight.consumer.handle(
      pointsEvent({ id: 'entry:p1', at: new Date().toISOString(), memberId: String(member._id), seq: 99, operation: 'purchase', lines: [{ kind: 'accrual', points: 5, amount: 5 }], spendDeltaKopecks: 10_000, counters: { purchases: 1, spentKopecks: 10_000, lastPurchaseAt: new Date().toISOString() } }),
    );
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/admin/segments/rebuild', headers: auth() })).statusCode).toBe(202);
    const rules = { op: 'and', rules: [{ field: 'purchases', op: 'gte', value: 1 }] };
    await waitFor(
      async () => (await api.app.inject({ method: 'POST', url: '/api/v1/admin/segments/count', headers: auth(), payload: { rules } })).json().count,
      (n) => n === 1,
    );
    const created = await api.app.inject({ method: 'POST', url: '/api/v1/admin/segments', headers: auth(), payload: { name: 'Покупатели', rules } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/admin/segments/${id}`, headers: auth() })).json()).toMatchObject({ name: 'Покупатели', count: 1 });
    const page = (await api.app.inject({ method: 'GET', url: `/api/v1/admin/segments/${id}/members?limit=10`, headers: auth() })).json();
    expect(page).toMatchObject({ items: [{ name: 'Ann', maskedPhone: '+7 *** ***-22-01', purchases: 1 }], next: null });
    const bad = await api.app.inject({ method: 'PUT', url: `/api/v1/admin/segments/${id}`, headers: auth(), payload: { name: 'x', rules: { op: 'and', rules: [{ field: 'nope', op: 'eq', value: 1 }] } } });
    expect(bad.statusCode).toBe(400);
    expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/admin/segments/${id}`, headers: auth() })).statusCode).toBe(204);
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/admin/segments/${id}`, headers: auth() })).json().error.code).toBe('segment_not_found');
  });

  it('reports and exports', async () => {
    const summary = (await api.app.inject({ method: 'GET', url: '/api/v1/admin/reports/summary', headers: auth() })).json();
    expect(summary).toMatchObject({ members: { total: 1, new: 0 }, purchases: { count: 1, revenue: 10_000 } });
    expect(Date.parse(summary.countedAt)).not.toBeNaN();
    // Each answer passes its documented response schema (a field the schema lacks would be dropped, a wrong type a 500).
    const shapes: Record<string, string[]> = {
      members: ['countedAt', 'total', 'newByDay', 'reachable'],
      activity: ['countedAt', 'active30', 'purchasesPerBuyerMonth'],
      points: ['outstandingKopecks', 'redemptionRate'],
      retention: ['countedAt', 'cohorts', 'churn'],
      ltv: ['byLevel', 'byCohort'],
      referrals: ['countedAt', 'opened', 'joined', 'firstPurchase'],
      contests: ['contests'],
    };
    for (const [name, keys] of Object.entries(shapes)) {
      const res = await api.app.inject({ method: 'GET', url: `/api/v1/admin/reports/${name}`, headers: auth() });
      expect(res.statusCode).toBe(200);
      expect(Object.keys(res.json())).toEqual(expect.arrayContaining(keys));
    }
    const csv = await api.app.inject({ method: 'GET', url: '/api/v1/admin/members/export?format=csv', headers: auth() });
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="members-/);
    expect(csv.body.split('\r\n')[1]).toContain('Ann');
    const xlsx = await api.app.inject({ method: 'GET', url: '/api/v1/admin/ledger/export?format=xlsx', headers: auth() });
    expect(xlsx.headers['content-type']).toContain('spreadsheetml');
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
  });

  it('each report table as CSV or XLSX: GET /reports/{kind}/export, bad kind, format or period refused with validation_failed', async () => {
    const get = (url: string) => api.app.inject({ method: 'GET', url: `/api/v1/admin${url}`, headers: auth() });
    const points = await get('/reports/points/export?format=csv&from=2026-01-01&to=2026-01-31&lang=en');
    expect(points.statusCode).toBe(200);
    expect(points.headers['content-type']).toContain('text/csv');
    expect(points.headers['content-disposition']).toBe('attachment; filename="report-points-2026-01-01-2026-01-31.csv"');
    expect(points.body.split('\r\n').slice(0, 4)).toEqual(['\uFEFFFigure;Value', 'Period start;2026-01-01', 'Period end;2026-01-31', 'Points issued;0']);
    const xlsx = await get('/reports/new-members/export?format=xlsx');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toContain('spreadsheetml');
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
    for (const url of ['/reports/nope/export', '/reports/points/export?format=pdf', '/reports/points/export?from=2026-13-01', '/reports/points/export?from=2026-03-02&to=2026-03-01', '/reports/points/export?extra=1']) {
      const res = await get(url);
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, 400, 'validation_failed']);
    }
    // The partners' export keeps its own route.
    expect((await get('/reports/partners/export?format=csv')).statusCode).toBe(200);
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/admin/reports/points/export' })).statusCode).toBe(401);
  });
});
