/**
 * The pure rules of data-subject requests: deadlines in calendar months,
 * which status may follow which, and the legal holds an erasure carries.
 * No database, no clock: service.ts feeds them `now`.
 */
import type { Region } from '../../lib/context';
import type { DsrKind, DsrStatus } from './model';

/** Months after receipt a request is due (GDPR art. 12(3)). */
export const DUE_MONTHS = 1;
/** Months after receipt an extended request is due: one month plus at most two more. */
export const EXTENDED_DUE_MONTHS = 3;

/**
 * `date` plus `months` calendar months in UTC, time of day kept. When the
 * target month is shorter, the period ends on its last day (31 Jan + 1 month
 * = 28 or 29 Feb), as EU Regulation 1182/71 art. 3(2)(c) counts months.
 */
export function addCalendarMonths(date: Date, months: number): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(date.getUTCDate(), lastDay);
  return new Date(Date.UTC(y, m, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()));
}

/**
 * Which statuses may follow which. COMPLETED and REJECTED are final.
 * REJECTED is allowed straight from RECEIVED: an unverifiable identity is
 * found before any work starts. EXTENDED only moves the deadline, so work
 * continues from it (IN_PROGRESS) or ends (COMPLETED, REJECTED).
 */
const NEXT: Record<DsrStatus, readonly DsrStatus[]> = {
  RECEIVED: ['IN_PROGRESS', 'EXTENDED', 'REJECTED'],
  IN_PROGRESS: ['EXTENDED', 'COMPLETED', 'REJECTED'],
  EXTENDED: ['IN_PROGRESS', 'COMPLETED', 'REJECTED'],
  COMPLETED: [],
  REJECTED: [],
};

export const FINAL_STATUSES: readonly DsrStatus[] = ['COMPLETED', 'REJECTED'];

/** True when a request in `from` may move to `to`; `alreadyExtended` forbids a second extension. */
export function canTransition(from: DsrStatus, to: DsrStatus, alreadyExtended: boolean): boolean {
  if (to === 'EXTENDED' && alreadyExtended) return false;
  return NEXT[from].includes(to);
}

/**
 * How long customs records must be kept per region, in the `legalHolds`
 * notation `customs:<region>:<period>`. EU: 3 years (DOMAIN.md); US: 5 years
 * (19 CFR 163.4); APAC: 5 years (Australia, Singapore). Longer national
 * rules belong to the retention policies.
 */
const CUSTOMS_RETENTION: Record<Region, string> = { EU: '3y', US: '5y', APAC: '5y' };

/**
 * Legal holds a new request carries. Only an erasure needs any: customs
 * records outlive it, with their personal fields shredded. When the
 * tenant's region is unknown every region's hold is listed, so an erasure
 * never removes customs records anywhere they must be kept.
 */
export function legalHoldsFor(kind: DsrKind, region?: Region): string[] {
  if (kind !== 'ERASURE') return [];
  const regions = region ? [region] : (Object.keys(CUSTOMS_RETENTION) as Region[]).sort();
  return regions.map((r) => `customs:${r}:${CUSTOMS_RETENTION[r]}`);
}
