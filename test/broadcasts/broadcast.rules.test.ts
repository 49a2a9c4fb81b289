import { describe, expect, it } from 'vitest';
import { capAllows, inHoldout, quietUntil, vkRandomId } from '../../core/broadcasts/broadcast.rules.js';

const MSK = 'Europe/Moscow';
const quiet = { start: '21:00', end: '09:00' };

describe('quiet hours (shop time zone)', () => {
  it('holds messages from 21:00 to 09:00 local time, across midnight', () => {
    // 22:30 Moscow = 19:30 UTC: wait until 09:00 Moscow the next day.
    expect(quietUntil(new Date('2026-03-01T19:30:00Z'), quiet, MSK)?.toISOString()).toBe('2026-03-02T06:00:00.000Z');
    // 03:15:30 Moscow: until 09:00 the same day.
    expect(quietUntil(new Date('2026-03-02T00:15:30Z'), quiet, MSK)?.toISOString()).toBe('2026-03-02T06:00:00.000Z');
    // 21:00 exactly is quiet; 09:00 exactly is not; midday is not.
    expect(quietUntil(new Date('2026-03-01T18:00:00Z'), quiet, MSK)).not.toBeNull();
    expect(quietUntil(new Date('2026-03-02T06:00:00Z'), quiet, MSK)).toBeNull();
    expect(quietUntil(new Date('2026-03-02T09:00:00Z'), quiet, MSK)).toBeNull();
  });

  it('a window within one day, an empty window, and none', () => {
    const lunch = { start: '13:00', end: '14:00' };
    expect(quietUntil(new Date('2026-03-02T10:30:00Z'), lunch, MSK)?.toISOString()).toBe('2026-03-02T11:00:00.000Z');
    expect(quietUntil(new Date('2026-03-02T11:30:00Z'), lunch, MSK)).toBeNull();
    expect(quietUntil(new Date('2026-03-01T19:30:00Z'), { start: '10:00', end: '10:00' }, MSK)).toBeNull();
    expect(quietUntil(new Date('2026-03-01T19:30:00Z'), null, MSK)).toBeNull();
  });

  it('follows the configured zone', () => {
    // 22:30 in Vladivostok (UTC+10) is 12:30 UTC: quiet there.
    expect(quietUntil(new Date('2026-03-01T12:30:00Z'), quiet, 'Asia/Vladivostok')?.toISOString()).toBe('2026-03-01T23:00:00.000Z');
    expect(quietUntil(new Date('2026-03-01T12:30:00Z'), quiet, MSK)).toBeNull();
  });
});

describe('frequency cap', () => {
  const cap = { max: 3, days: 7 };
  const now = new Date('2026-03-10T12:00:00Z');
  const day = (d: number): Date => new Date(now.getTime() - d * 86_400_000);

  it('allows up to max within the window, and drops entries older than it', () => {
    expect(capAllows([], 'b1', now, cap).allowed).toBe(true);
    const two = [{ b: 'a', at: day(1) }, { b: 'b', at: day(6) }];
    expect(capAllows(two, 'c', now, cap).allowed).toBe(true);
    const three = [...two, { b: 'c', at: day(2) }];
    expect(capAllows(three, 'd', now, cap)).toEqual({ allowed: false, keep: three });
    const old = [{ b: 'x', at: day(8) }, { b: 'y', at: day(7) }, ...two];
    const r = capAllows(old, 'd', now, cap);
    expect(r.allowed).toBe(true);
    expect(r.keep.map((e) => e.b)).toEqual(['a', 'b']);
  });

  it('a broadcast already counted for the member is allowed again (a retried page)', () => {
    const three = [{ b: 'a', at: day(1) }, { b: 'b', at: day(2) }, { b: 'c', at: day(3) }];
    expect(capAllows(three, 'b', now, cap).allowed).toBe(true);
  });
});

describe('holdout and VK random_id', () => {
  it('holds out about the given share, the same members every time', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => i.toString(16).padStart(24, '0'));
    const out = ids.filter((m) => inHoldout('b1', m, 10));
    expect(out.length / ids.length).toBeGreaterThan(0.09);
    expect(out.length / ids.length).toBeLessThan(0.11);
    expect(ids.filter((m) => inHoldout('b1', m, 10))).toEqual(out);
    expect(ids.some((m) => inHoldout('b1', m, 0))).toBe(false);
  });

  it('one random_id per broadcast, 31 bits and never 0', () => {
    const a = vkRandomId('aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(a).toBe(vkRandomId('aaaaaaaaaaaaaaaaaaaaaaaa'));
    expect(a).not.toBe(vkRandomId('bbbbbbbbbbbbbbbbbbbbbbbb'));
    expect(a).toBeGreaterThan(0);
    expect(a).toBeLessThan(2 ** 31);
  });
});
