/**
 * Validation of elevation input: what may be requested (a person role or a
 * scope a person role implies, exactly one), for how long (1–240 minutes),
 * with which reason and ticket. Messages never echo the value: the reason
 * is SENSITIVE.
 */
import { PERSON_ROLES, scopesForRoles } from '../../../lib/auth/scopes';
import { InvalidInputError } from '../../../lib/errors';
import { RoleNotElevatableError, ScopeNotElevatableError } from './errors';

/** Longest elevation: hours, not days. */
export const MAX_DURATION_MINUTES = 240;
/** Longest reason (and denial reason), in characters. */
export const MAX_REASON_LENGTH = 500;
/** Scopes a person may be elevated to: those some person role implies. */
export const ELEVATABLE_SCOPES: ReadonlySet<string> = new Set(scopesForRoles(PERSON_ROLES));

/** `requestElevation(input:)` as GraphQL delivers it. */
export interface RequestElevationInput {
  role?: string | null;
  scope?: string | null;
  reason: string;
  ticket: string;
  durationMinutes: number;
}

/** A request that passed validation: exactly one of `role` and `scope` is non-null. */
export interface ValidRequest {
  role: string | null;
  scope: string | null;
  reason: string;
  ticket: string;
  durationMinutes: number;
}

const TICKET = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/;
// Control characters other than tab and newline.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** @throws BadUserInputError (INVALID_INPUT, ROLE_NOT_ELEVATABLE, SCOPE_NOT_ELEVATABLE) */
export function validateRequest(input: RequestElevationInput): ValidRequest {
  const role = input.role ?? null;
  const scope = input.scope ?? null;
  if ((role === null) === (scope === null)) throw new InvalidInputError('role', 'or scope: give exactly one of them');
  if (role !== null && !(PERSON_ROLES as readonly string[]).includes(role)) throw new RoleNotElevatableError(role);
  if (scope !== null && !ELEVATABLE_SCOPES.has(scope)) throw new ScopeNotElevatableError();
  const ticket = input.ticket.trim();
  if (!TICKET.test(ticket)) throw new InvalidInputError('ticket', 'must be a ticket reference such as CHG-1234 (at most 64 characters)');
  const { durationMinutes } = input;
  if (!Number.isInteger(durationMinutes) || durationMinutes < 1 || durationMinutes > MAX_DURATION_MINUTES) {
    throw new InvalidInputError('durationMinutes', `must be between 1 and ${MAX_DURATION_MINUTES} minutes`);
  }
  return { role, scope, reason: reasonText('reason', input.reason), ticket, durationMinutes };
}

/** A reason (request or denial): trimmed, NFC, 1–500 characters, no control characters but tab and newline. */
export function reasonText(field: string, raw: string): string {
  const value = raw.normalize('NFC').trim();
  if (!value) throw new InvalidInputError(field, 'must not be empty');
  if (value.length > MAX_REASON_LENGTH) throw new InvalidInputError(field, `must be at most ${MAX_REASON_LENGTH} characters`);
  if (CONTROL_CHARS.test(value)) throw new InvalidInputError(field, 'must not contain control characters');
  return value;
}
