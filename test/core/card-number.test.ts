import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateCardNumber,
  hasValidCheckDigit,
  luhnCheckDigit,
  maskCardNumber,
  normalizeCardNumber,
  parseCardNumber,
} from '../../core/cards/card-number.js';
import { DomainError } from '../../core/shared/errors.js';

/** A random source that replays fixed digits, to pin generated numbers. */
function replay(digits: string): (max: number) => number {
  let i = 0;
  return (max) => {
    expect(max).toBe(10);
    return Number(digits[i++ % digits.length]);
  };
}

describe('Luhn check digit', () => {
  it.each([
    // Textbook examples: 7992739871 → 3; Visa test number 4111 1111 1111 111 → 1.
    ['7992739871', 3],
    ['411111111111111', 1],
    ['', 0],
    ['0', 0],
    ['1', 8],
  ])('luhnCheckDigit(%s) = %i', (digits, check) => {
    expect(luhnCheckDigit(digits)).toBe(check);
  });

  it('ignores letters, so a letter prefix does not change the digit', () => {
    expect(luhnCheckDigit('VK7992739871')).toBe(3);
    expect(luhnCheckDigit('V7K992739871')).toBe(3);
  });

  it('validates the last character against the rest', () => {
    expect(hasValidCheckDigit('79927398713')).toBe(true);
    expect(hasValidCheckDigit('79927398710')).toBe(false);
    expect(hasValidCheckDigit('VK79927398713')).toBe(true);
    expect(hasValidCheckDigit('7992739871X')).toBe(false);
    expect(hasValidCheckDigit('0')).toBe(false);
  });

  it('catches every single-digit error and every adjacent transposition of different digits', () => {
    const n = generateCardNumber('71', 11, replay('40817239561'));
    expect(hasValidCheckDigit(n)).toBe(true);
    for (let i = 0; i < n.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === n[i]) continue;
        expect(hasValidCheckDigit(n.slice(0, i) + String(d) + n.slice(i + 1)), `${n} with ${d} at ${i}`).toBe(false);
      }
    }
    for (let i = 0; i + 1 < n.length; i++) {
      const a = n[i]!;
      const b = n[i + 1]!;
      // 09 ↔ 90 is the one swap Luhn cannot see.
      if (a === b || a + b === '09' || a + b === '90') continue;
      expect(hasValidCheckDigit(n.slice(0, i) + b + a + n.slice(i + 2)), `${n} swapping ${i}`).toBe(false);
    }
  });
});

describe('generateCardNumber', () => {
  it('is prefix + random digits + check digit', () => {
    const n = generateCardNumber('71', 11, replay('12345678901'));
    expect(n).toBe(`7112345678901${luhnCheckDigit('7112345678901')}`);
    expect(n).toHaveLength(14);
    expect(parseCardNumber(n)).toEqual({ ok: true, number: n });
  });

  it('uses the CSPRNG by default and does not repeat or count up', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = generateCardNumber('VK');
      expect(n).toMatch(/^VK\d{12}$/);
      expect(hasValidCheckDigit(n)).toBe(true);
      seen.add(n);
    }
    expect(seen.size).toBe(2000);
    const sorted = [...seen].slice(0, 50);
    const successive = sorted.slice(1).filter((n, i) => BigInt(n.slice(2, -1)) - BigInt(sorted[i]!.slice(2, -1)) === 1n);
    expect(successive).toHaveLength(0);
  });

  it('spreads digits evenly (every digit appears in every random position)', () => {
    const counts = Array.from({ length: 11 }, () => new Set<string>());
    for (let i = 0; i < 500; i++) {
      const n = generateCardNumber('7', 11);
      for (let p = 0; p < 11; p++) counts[p]!.add(n[1 + p]!);
    }
    for (const c of counts) expect(c.size).toBe(10);
  });

  it('passes max 10 to the random source', () => {
    const calls: number[] = [];
    generateCardNumber('70', 8, (max) => {
      calls.push(max);
      return randomInt(max);
    });
    expect(calls).toEqual(Array(8).fill(10));
  });

  it.each(['', '12345', 'vk', 'V-K', 'Ж1'])('rejects prefix %j', (prefix) => {
    expect(() => generateCardNumber(prefix)).toThrow(DomainError);
  });

  it('rejects lengths outside 8..24 and broken random sources', () => {
    expect(() => generateCardNumber('7', 5)).toThrow(/length/);
    expect(() => generateCardNumber('7', 6)).not.toThrow();
    expect(() => generateCardNumber('ABCD', 19)).not.toThrow();
    expect(() => generateCardNumber('ABCD', 20)).toThrow(/length/);
    expect(() => generateCardNumber('71', 11, () => 10)).toThrow(/random source/);
    expect(() => generateCardNumber('71', 11, () => 0.5)).toThrow(/random source/);
  });
});

describe('normalizeCardNumber', () => {
  it.each([
    ['71 1234 5678 9012', '71123456789012'],
    ['71-1234-5678-9012', '71123456789012'],
    ['71.1234.5678.9012', '71123456789012'],
    ['71\u00A01234\u00A05678\u00A09012', '71123456789012'],
    ['  vk12-3456 7890  ', 'VK1234567890'],
    ['Vk123456', 'VK123456'],
  ])('%j → %j', (input, out) => {
    expect(normalizeCardNumber(input)).toBe(out);
  });

  it.each([
    ['7112345', 'too short'],
    ['1'.repeat(25), 'too long'],
    ['71_1234_5678', 'underscore'],
    ['71/1234/5678', 'slash'],
    ['ВК12345678', 'Cyrillic letters'],
    ['ß12345678', 'letter that upper-cases to two'],
    ['71１２３４５６７８', 'full-width digits'],
    ['', 'empty'],
  ])('%j → null (%s)', (input) => {
    expect(normalizeCardNumber(input)).toBeNull();
  });

  it('counts the length after separators are dropped', () => {
    expect(normalizeCardNumber('1 2 3 4 5 6 7')).toBeNull();
    expect(normalizeCardNumber('1 2 3 4 5 6 7 8')).toBe('12345678');
    expect(normalizeCardNumber(`${'1'.repeat(24)}  `)).toBe('1'.repeat(24));
  });
});

describe('parseCardNumber', () => {
  const valid = generateCardNumber('VK', 11, replay('98765432109'));

  it('accepts what people type', () => {
    const typed = `${valid.slice(0, 2).toLowerCase()} ${valid.slice(2, 6)}-${valid.slice(6, 10)} ${valid.slice(10)}`;
    expect(parseCardNumber(typed)).toEqual({ ok: true, number: valid });
  });

  it('refuses a wrong check digit, letters outside the prefix and junk', () => {
    const wrong = valid.slice(0, -1) + String((Number(valid.at(-1)) + 1) % 10);
    expect(parseCardNumber(wrong)).toEqual({ ok: false, code: 'invalid_card_number' });
    // Letters past the first 4 characters are not a card shape even when Luhn agrees.
    const letterInside = `71123A${'4'.repeat(6)}`;
    const shaped = letterInside + String(luhnCheckDigit(letterInside));
    expect(hasValidCheckDigit(shaped)).toBe(true);
    expect(parseCardNumber(shaped)).toEqual({ ok: false, code: 'invalid_card_number' });
    expect(parseCardNumber('hello world!')).toEqual({ ok: false, code: 'invalid_card_number' });
    expect(parseCardNumber('VKVKVKVK')).toEqual({ ok: false, code: 'invalid_card_number' });
  });
});

describe('maskCardNumber', () => {
  it('keeps the prefix and the last 4', () => {
    expect(maskCardNumber('71123456781234')).toBe('71••••••••1234');
    expect(maskCardNumber('VK123456781234')).toBe('VK••••••••1234');
    expect(maskCardNumber('A1B2345678901')).toBe('A1B••••••8901');
    expect(maskCardNumber('7012 3456 7812 34', 4)).toBe('7012••••••1234');
  });

  it('always hides something', () => {
    expect(maskCardNumber('ABCD1234', 4)).toBe('ABC•1234');
    expect(maskCardNumber('12345')).toBe('•2345');
    expect(maskCardNumber('1')).toBe('•');
  });
});
