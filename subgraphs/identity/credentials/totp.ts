/**
 * TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s steps) through otplib. A code
 * is accepted one step either side of now (clock drift) and only once: the
 * caller passes the last step it accepted, and stores the step returned.
 */
import { verify } from 'otplib';

/** How far from now a code may be (seconds): one step either way. */
const TOLERANCE = 30;

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'wrong_totp' | 'totp_replayed' };

/** Checks `code` against `secret` at `now`; a code of a step at or before `lastStep` is a replay. */
export async function checkTotp(secret: string, code: string, now: Date, lastStep?: number | null): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'wrong_totp' };
  let step: number | undefined;
  try {
    const result = await verify({ secret, token: code, epoch: Math.floor(now.getTime() / 1000), epochTolerance: TOLERANCE });
    step = result.valid && 'timeStep' in result ? result.timeStep : undefined;
  } catch {
    // otplib throws on a malformed secret: no code matches it.
  }
  if (step === undefined) return { ok: false, reason: 'wrong_totp' };
  if (typeof lastStep === 'number' && step <= lastStep) return { ok: false, reason: 'totp_replayed' };
  return { ok: true, step };
}
