import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone } from '../../core/members/phone.js';

describe('normalizePhone', () => {
  it.each([
    ['8 999 123-45-67', '+79991234567'],
    ['+7 (999) 123 45 67', '+79991234567'],
    ['79991234567', '+79991234567'],
    ['9991234567', '+79991234567'],
    ['+79991234567', '+79991234567'],
    ['8(999)123-45-67', '+79991234567'],
    ['  +7 999 123 45 67 \n', '+79991234567'],
    ['+7\u00A0999\u00A0123-45-67', '+79991234567'],
    ['8 (495) 123-45-67', '+74951234567'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+1 202 555 0143', '+12025550143'],
  ])('%j → %s', (input, e164) => {
    expect(normalizePhone(input)).toBe(e164);
  });

  it('reads numbers without + as national numbers of the default country', () => {
    expect(normalizePhone('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(normalizePhone('020 7946 0958')).toBeNull();
    expect(normalizePhone('8 777 123 45 67', 'KZ')).toBe('+77771234567');
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['abc', 'letters'],
    ['+7 999 123 45 6', 'one digit short'],
    ['8 999 123 45 678', 'one digit long'],
    ['+8 999 123 45 67', 'no country +8'],
    ['+7 999 123 45 67 доб. 5', 'extension'],
    ['позвоните +79991234567', 'number inside text'],
    ['12345', 'too short'],
    [`+7${'9'.repeat(70)}`, 'too long'],
  ])('%j → null (%s)', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });
});

describe('maskPhone', () => {
  it('keeps the country code and the last 4 digits', () => {
    expect(maskPhone('+79991234567')).toBe('+7 *** ***-45-67');
    expect(maskPhone('+442079460958')).toBe('+44 *** ***-09-58');
    expect(maskPhone('+12025550143')).toBe('+1 *** ***-01-43');
  });

  it('never shows the middle digits', () => {
    const masked = maskPhone('+79991234567');
    expect(masked).not.toContain('999');
    expect(masked).not.toContain('123');
  });

  it('masks everything when the input is not a phone', () => {
    expect(maskPhone('garbage')).toBe('+* *** ***-**-**');
    expect(maskPhone('+7123')).toBe('+* *** ***-**-**');
  });
});
