import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../helpers/core.js';
import { client, startPanelApp, type PanelApp } from './panel.fixture.js';

/** The members page: the newest a page at a time, and a saved segment's members as a filter. */
let t: PanelApp;
beforeAll(async () => {
  t = await startPanelApp();
});
afterAll(async () => {
  await t.close();
});

describe('members page', () => {
  it('lists a saved segment’s members, a page at a time, with a select labelled for it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 27; i++) ids.push(String((await newMember(t.core)).member._id));
    const seg = await t.core.insight.segments.create({ name: 'Все с картой', rules: { op: 'and', rules: [{ field: 'channel', op: 'eq', value: 'till' }] } });
    await t.core.insight.segments.rebuild();
    const c = client(t.app);
    await c.login((await t.user('marketer')).email);

    const page = await c.get(`/admin/members?segment=${seg.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<label for="segment">');
    expect(page.body).toContain('Все с картой');
    const first = [...page.body.matchAll(/href="\/admin\/members\/([0-9a-f]{24})"/g)].map((m) => m[1]);
    expect(first).toHaveLength(25);
    const next = /href="\/admin\/members\?segment=[0-9a-f]+&amp;after=([^"]+)"/.exec(page.body)?.[1];
    expect(next).toBeTruthy();
    const rest = await c.get(`/admin/members?segment=${seg.id}&after=${next ?? ''}`);
    const second = [...rest.body.matchAll(/href="\/admin\/members\/([0-9a-f]{24})"/g)].map((m) => m[1]);
    expect(new Set([...first, ...second])).toEqual(new Set(ids));

    // An unknown segment shows everyone, newest first.
    const all = await c.get('/admin/members?segment=nope');
    expect(all.statusCode).toBe(200);
    expect(all.body).toContain(`/admin/members/${ids[26] ?? ''}`);
  });
});
