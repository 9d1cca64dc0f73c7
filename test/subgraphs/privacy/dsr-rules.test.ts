import { addCalendarMonths, canTransition, legalHoldsFor } from '../../../subgraphs/privacy/dsr-rules';

const iso = (s: string) => new Date(s);

describe('addCalendarMonths', () => {
  test.each([
    ['2025-01-15T10:00:00.000Z', 1, '2025-02-15T10:00:00.000Z'],
    ['2025-01-31T23:59:59.999Z', 1, '2025-02-28T23:59:59.999Z'],
    ['2024-01-31T00:00:00.000Z', 1, '2024-02-29T00:00:00.000Z'],
    ['2024-12-31T12:00:00.000Z', 1, '2025-01-31T12:00:00.000Z'],
    ['2025-03-31T12:00:00.000Z', 1, '2025-04-30T12:00:00.000Z'],
    ['2024-11-30T08:00:00.000Z', 3, '2025-02-28T08:00:00.000Z'],
    ['2025-10-15T00:00:00.000Z', 3, '2026-01-15T00:00:00.000Z'],
  ])('%s + %i month(s) is %s', (from, months, to) => {
    expect(addCalendarMonths(iso(from), months).toISOString()).toBe(to);
  });
});

describe('canTransition', () => {
  test.each([
    ['RECEIVED', 'IN_PROGRESS', true],
    ['RECEIVED', 'EXTENDED', true],
    ['RECEIVED', 'REJECTED', true],
    ['RECEIVED', 'COMPLETED', false],
    ['IN_PROGRESS', 'COMPLETED', true],
    ['IN_PROGRESS', 'REJECTED', true],
    ['IN_PROGRESS', 'EXTENDED', true],
    ['IN_PROGRESS', 'RECEIVED', false],
    ['EXTENDED', 'IN_PROGRESS', true],
    ['EXTENDED', 'COMPLETED', true],
    ['EXTENDED', 'EXTENDED', false],
    ['COMPLETED', 'IN_PROGRESS', false],
    ['REJECTED', 'IN_PROGRESS', false],
  ] as const)('%s → %s: %s', (from, to, allowed) => {
    expect(canTransition(from, to, false)).toBe(allowed);
  });

  test('a deadline extends once', () => {
    expect(canTransition('IN_PROGRESS', 'EXTENDED', true)).toBe(false);
    expect(canTransition('IN_PROGRESS', 'COMPLETED', true)).toBe(true);
  });
});

describe('legalHoldsFor', () => {
  test('only an erasure carries holds: customs records outlive it', () => {
    expect(legalHoldsFor('ACCESS', 'EU')).toEqual([]);
    expect(legalHoldsFor('PORTABILITY')).toEqual([]);
    expect(legalHoldsFor('ERASURE', 'EU')).toEqual(['customs:EU:3y']);
    expect(legalHoldsFor('ERASURE', 'US')).toEqual(['customs:US:5y']);
    expect(legalHoldsFor('ERASURE')).toEqual(['customs:APAC:5y', 'customs:EU:3y', 'customs:US:5y']);
  });
});
