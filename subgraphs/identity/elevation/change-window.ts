/**
 * The change window: when approving an elevation is business as usual.
 * Approvals outside it still succeed, but are flagged and audited as
 * `elevation.approved_outside_window` (the alert hook). Written like
 * `Mon-Fri 08:00-18:00 Europe/Amsterdam` (env `CHANGE_WINDOW`); no window
 * configured means always inside.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export interface ChangeWindow {
  /** The text it was parsed from, for audit details. */
  readonly spec: string;
  /** Days (0 = Sunday) on which the window is open, in its time zone. */
  readonly days: ReadonlySet<number>;
  /** Opening and closing time as minutes since local midnight; `start < end`, `end` up to 24:00. */
  readonly start: number;
  readonly end: number;
  readonly timeZone: string;
}

/** `CHANGE_WINDOW` is not a window; the message says why (it is configuration, not user input). */
export class ChangeWindowSyntaxError extends Error {
  constructor(spec: string, problem: string) {
    super(`CHANGE_WINDOW "${spec}" is invalid: ${problem} (expected e.g. "Mon-Fri 08:00-18:00 Europe/Amsterdam")`);
    this.name = 'ChangeWindowSyntaxError';
  }
}

const SPEC = /^(\S+)\s+(\d{2}:\d{2})-(\d{2}:\d{2})\s+(\S+)$/;

/**
 * Parses a change window. Days are `Mon`…`Sun`, as ranges (`Mon-Fri`,
 * `Fri-Mon` wraps over the weekend) and lists (`Mon-Wed,Fri`); the times
 * are local to the IANA time zone (`Europe/Amsterdam`, `UTC`), closing time
 * excluded, and must not run over midnight.
 * @returns undefined for an empty or absent spec: no window, always inside
 * @throws ChangeWindowSyntaxError for anything else that is not a window (refuse to boot)
 */
export function parseChangeWindow(spec: string | undefined): ChangeWindow | undefined {
  const text = spec?.trim().replace(/\s+/g, ' ');
  if (!text) return undefined;
  const m = SPEC.exec(text);
  if (!m) throw new ChangeWindowSyntaxError(text, 'expected "<days> <HH:MM>-<HH:MM> <time zone>"');
  const [, daysText, startText, endText, timeZone] = m;
  const days = new Set<number>();
  for (const part of daysText.split(',')) {
    const [from, to = from, ...rest] = part.split('-').map(dayIndex);
    if (from === undefined || to === undefined || rest.length > 0) throw new ChangeWindowSyntaxError(text, `"${part}" is not a day or day range (Mon … Sun)`);
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  const start = minutesOf(startText);
  const end = minutesOf(endText);
  if (start === undefined || end === undefined || start >= 24 * 60) throw new ChangeWindowSyntaxError(text, 'times must be 00:00 … 24:00');
  if (start >= end) throw new ChangeWindowSyntaxError(text, 'the window must open before it closes on the same day');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ChangeWindowSyntaxError(text, `unknown time zone "${timeZone}"`);
  }
  return { spec: text, days, start, end, timeZone };
}

/** True when `at` falls inside `window` (always, when there is no window). */
export function insideChangeWindow(window: ChangeWindow | undefined, at: Date): boolean {
  if (!window) return true;
  const { weekday, minutes } = localTime(at, window.timeZone);
  return window.days.has(weekday) && minutes >= window.start && minutes < window.end;
}

function dayIndex(text: string): number | undefined {
  const i = DAYS.findIndex((d) => d.toLowerCase() === text.toLowerCase());
  return i < 0 ? undefined : i;
}

function minutesOf(text: string): number | undefined {
  const [h, m] = text.split(':').map(Number);
  if (m > 59 || h > 24 || (h === 24 && m > 0)) return undefined;
  return h * 60 + m;
}

// One formatter per time zone: building one costs far more than using it.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local weekday (0 = Sunday) and minutes since local midnight of `at` in `timeZone`. */
function localTime(at: Date, timeZone: string): { weekday: number; minutes: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(at)) {
    if (part.type === 'weekday') weekday = dayIndex(part.value) ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}
