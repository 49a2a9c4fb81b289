import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exports } from '../../core/exports/export.service.js';
import { REPORT_EXPORTS, type ReportExportKind } from '../../core/exports/report.export.js';
import { createI18n } from '../../core/i18n/i18n.js';
import { memberModels } from '../../core/members/member.model.js';
import { testCore, type TestCore } from '../helpers/core.js';
import { pointsEvent } from './insight.fixture.js';

/**
 * A small shop in Moscow time, today 2026-03-20:
 *  A joined 02.03 (telegram), B 05.03 (till, invited by A), C 10.02 (till).
 *  A bought for 1 000 ₽ on 06.03 (+30); C for 500 ₽ on 10.03 paying 50 points (+10); B got a welcome +1 000 on 05.03.
 */
let t: TestCore;
let exp: Exports;
const NOW = new Date('2026-03-20T12:00:00Z');
const MARCH = { from: '2026-03-01', to: '2026-03-31' };
const id = { A: String(new Types.ObjectId()), B: String(new Types.ObjectId()), C: String(new Types.ObjectId()) };

beforeAll(async () => {
  t = await testCore({ start: NOW });
  const { Members } = memberModels(t.conn);
  const people = [
    ['A', '2026-03-02T10:00:00Z', 'telegram', null],
    ['B', '2026-03-05T10:00:00Z', 'till', 'A'],
    ['C', '2026-02-10T10:00:00Z', 'till', null],
  ] as const;
  for (const [i, [who, at, via, referrer]] of people.entries()) {
    await Members.collection.insertOne({
      _id: new Types.ObjectId(id[who]),
      phone: `+7999555000${i}`,
      name: who,
      status: 'active',
      joinedVia: via,
      referrerId: referrer ? id[referrer] : null,
      optIn: {},
      registeredAt: new Date(at),
      createdAt: new Date(at),
      cardNumber: null,
    });
  }
  const c = t.core.insight.consumer;
  await c.handle(pointsEvent({ id: 'entry:a1', memberId: id.A, at: '2026-03-06T10:00:00Z', seq: 1, operation: 'purchase', lines: [{ kind: 'accrual', points: 30, amount: 30 }], spendDeltaKopecks: 100_000, counters: { purchases: 1, spentKopecks: 100_000, lastPurchaseAt: '2026-03-06T10:00:00Z', earned: 30 } }));
  await c.handle(pointsEvent({ id: 'entry:b1', memberId: id.B, at: '2026-03-05T10:00:00Z', seq: 1, operation: 'welcome', lines: [{ kind: 'credit', points: 1000, amount: 1000 }], counters: { earned: 1000 } }));
  await c.handle(
    pointsEvent({
      id: 'entry:c1',
      memberId: id.C,
      at: '2026-03-10T10:00:00Z',
      seq: 1,
      operation: 'purchase',
      lines: [{ kind: 'redemption', points: 50, amount: -50 }, { kind: 'accrual', points: 10, amount: 10 }],
      spendDeltaKopecks: 50_000,
      counters: { purchases: 1, spentKopecks: 50_000, lastPurchaseAt: '2026-03-10T10:00:00Z', earned: 10, redeemed: 50 },
    }),
  );
  await t.core.insight.segments.rebuild();
  exp = t.core.insight.exports(await createI18n());
});
afterAll(async () => t.close());

/** One CSV line of ours: ';' between fields, a field with ';', ',' or quotes in quotes (doubled inside). */
function fields(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/(?:^|;)("(?:[^"]|"")*"|[^;]*)/g)) {
    const f = m[1] ?? '';
    out.push(f.startsWith('"') ? f.slice(1, -1).replaceAll('""', '"') : f);
  }
  return out;
}

async function csv(kind: ReportExportKind, lang: 'ru' | 'en' = 'ru', p: { from?: string; to?: string } = MARCH) {
  const r = await exp.report({ kind, format: 'csv', lang, ...p });
  const text = (await buffer(r.stream)).toString('utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  return { fileName: r.fileName, rows: text.slice(1).trimEnd().split('\r\n').map(fields) };
}

async function xlsx(kind: ReportExportKind, lang: 'ru' | 'en') {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load((await buffer((await exp.report({ kind, format: 'xlsx', lang, ...MARCH })).stream)) as unknown as ArrayBuffer);
  const ws = wb.worksheets[0]!;
  const rows: unknown[][] = [];
  ws.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  return { name: ws.name, rows };
}

/** A figure/value export as a map label → value. */
const figures = (rows: string[][]) => Object.fromEntries(rows.slice(1).map(([k, v]) => [k, v]));

describe('report tables as CSV and XLSX', () => {
  it('summary: the period and the figures of the report, roubles instead of kopecks', async () => {
    const { fileName, rows } = await csv('summary');
    expect(fileName).toBe('report-summary-2026-03-01-2026-03-31.csv');
    expect(rows[0]).toEqual(['Показатель', 'Значение']);
    const report = await t.core.insight.reports.summary(MARCH);
    expect(report.purchases).toMatchObject({ count: 2, revenue: 150_000 });
    expect(figures(rows)).toEqual({
      'Начало периода': '2026-03-01',
      'Конец периода': '2026-03-31',
      Участников: '3',
      'Новых за период': '2',
      'Начислено баллов': String(report.points.issued),
      'Списано баллов': String(report.points.redeemed),
      'Сгорело баллов': '0',
      'Баллов на счетах на конец периода': String(report.points.outstanding),
      Покупок: '2',
      'Выручка за вычетом возвратов, ₽': '1500',
      Возвратов: '0',
      'Средний чек, ₽': '750',
    });
  });

  it('points, activity, referrals, members and churn as figure lists, shares in percent', async () => {
    const points = await t.core.insight.reports.points(MARCH);
    const p = figures((await csv('points', 'en')).rows);
    expect(p['Points issued']).toBe(String(points.issued));
    expect(p['Points outstanding, ₽']).toBe(String(points.outstandingKopecks / 100));
    expect(p['Redemption rate, %']).toBe(String(Math.round(points.redemptionRate * 10_000) / 100));

    const a = figures((await csv('activity', 'en')).rows);
    // A and C bought within 30 days of the 20th: 2 of 3 members.
    expect(a['Bought in the last 30 days']).toBe('2');
    expect(a['Bought in the last 30 days, %']).toBe('66.67');
    expect(a['Average receipt, ₽']).toBe('750');

    expect(figures((await csv('referrals', 'en')).rows)).toMatchObject({ 'Joined by invitation': '1', 'Invited and made a purchase': '0' });
    expect(figures((await csv('members', 'en')).rows)).toMatchObject({ Members: '3', 'New members in the period': '2', 'Joined via telegram': '1', 'Joined via till': '2' });
    expect(figures((await csv('churn', 'en')).rows)).toEqual({ 'Members with a purchase': '2', 'No purchase in 90 days': '0', 'Churn, %': '0' });
  });

  it('new members: every day of the period, quiet days as 0', async () => {
    const { rows } = await csv('new-members', 'en', { from: '2026-03-01', to: '2026-03-07' });
    expect(rows).toEqual([['Day', 'New members'], ['2026-03-01', '0'], ['2026-03-02', '1'], ['2026-03-03', '0'], ['2026-03-04', '0'], ['2026-03-05', '1'], ['2026-03-06', '0'], ['2026-03-07', '0']]);
  });

  it('retention: a row per join month and month; LTV per level and per join month', async () => {
    const { rows } = await csv('retention', 'en', { from: '2026-02-01', to: '2026-03-31' });
    expect(rows).toEqual([
      ['Join month', 'Joined that month', 'Month', 'Months since joining', 'Bought', 'Bought, %'],
      ['2026-02', '1', '2026-02', '0', '0', '0'],
      ['2026-02', '1', '2026-03', '1', '1', '100'],
      ['2026-03', '2', '2026-03', '0', '1', '50'],
    ]);
    expect((await csv('ltv-levels', 'en')).rows).toEqual([
      ['Level', 'Members', 'Spent, ₽', 'Average per member, ₽'],
      ['base', '3', '1500', '500'],
    ]);
    const cohorts = await csv('ltv-cohorts', 'ru');
    expect(cohorts.fileName).toBe('report-ltv-cohorts-2026-03-20.csv');
    expect(cohorts.rows).toEqual([
      ['Месяц вступления', 'Участников', 'Потрачено, ₽', 'В среднем на участника, ₽'],
      ['2026-02', '1', '500', '500'],
      ['2026-03', '2', '1000', '500'],
    ]);
  });

  it('every table opens as XLSX in both languages, with localized sheet names, headers and typed numbers', async () => {
    for (const kind of REPORT_EXPORTS) {
      for (const lang of ['ru', 'en'] as const) {
        const { name, rows } = await xlsx(kind, lang);
        // A missing text would come back as its key.
        expect(name).not.toMatch(/export|report\./);
        expect(name.length).toBeLessThanOrEqual(31);
        for (const cell of rows.flat()) expect(String(cell)).not.toMatch(/export\.report|insight:/);
        expect(rows.length).toBeGreaterThan(1);
      }
    }
    const { name, rows } = await xlsx('summary', 'ru');
    expect(name).toBe('Сводка');
    expect(rows.find((r) => r[0] === 'Выручка за вычетом возвратов, ₽')?.[1]).toBe(1500);
  });

  it('refuses a bad period before writing anything', async () => {
    await expect(exp.report({ kind: 'points', format: 'csv', lang: 'ru', from: '2026-03-10', to: '2026-03-01' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(exp.report({ kind: 'summary', format: 'xlsx', lang: 'ru', from: '2026-02-30' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
