/**
 * The audited reveal of masked personal data (lib/pii/masking.ts), shared
 * by the subgraphs that offer one (`revealShipment`, `revealUser`): who may
 * reveal which class, the reason, the audit record, and the marks that
 * unmask the records handed out.
 *
 * - **Capability per class, by role** (`REVEALS` in lib/pii/masking.ts):
 *   PII needs one of the reveal's PII roles. SENSITIVE needs one of its
 *   SENSITIVE roles held **through an active just-in-time elevation** (an
 *   approved, unexpired elevation to that role: the principal's
 *   `elevations`, put there by the gateway); holding the role otherwise is
 *   not enough (ELEVATION_REQUIRED), not holding it at all is FORBIDDEN.
 * - **Reason**: 1 to 500 characters after trimming, no control characters
 *   (`@length` refuses longer raw values before the resolver runs).
 * - **Audit** (`pii.revealed`, through `ctx.audit.record`, before any value
 *   is handed out): actor, tenant, target (`Shipment:<id>`), and details
 *   `{ fields, classes, reason, elevationId }`. The audit store is where the
 *   reason belongs; logs never see it (`reason` is a redacted log key). If
 *   the record cannot be written the reveal fails: there is no unaudited
 *   reveal.
 */
import { GraphQLError } from 'graphql';
import type { AuditEvent } from './audit';
import { actorOf, callerOf } from './caller';
import type { Principal, RequestContext } from './context';
import { AppError, ErrorCode, InvalidInputError } from './errors';
import { MASKING, REVEALS, type RevealName, markRevealed, piiMap } from './pii';
import type { PiiClass } from '../schema';

/** Type of the audit record every reveal writes. */
export const REVEAL_AUDIT_TYPE = 'pii.revealed';
/** How long a client may show or keep revealed values (the `expiresAt` of a reveal), in seconds. */
export const REVEAL_TTL_SECONDS = 300;
/** Longest reason, in characters (the SDL's `@length(max:)` says the same). */
export const MAX_REVEAL_REASON_LENGTH = 500;

/** The caller holds no reveal capability for the class asked for (or is no person of a tenant). */
export class RevealNotPermittedError extends AppError {
  static readonly reason = 'REVEAL_NOT_PERMITTED';
  constructor() {
    super(ErrorCode.FORBIDDEN, 'Forbidden', { reason: RevealNotPermittedError.reason });
  }
}

/** A SENSITIVE reveal by a caller whose capable role is not held through an active just-in-time elevation. */
export class ElevationRequiredError extends GraphQLError {
  static readonly code = 'ELEVATION_REQUIRED';
  constructor() {
    super('An active just-in-time elevation is required to reveal sensitive data', {
      extensions: { code: ElevationRequiredError.code, reason: ElevationRequiredError.code },
    });
  }
}

/** What a permitted reveal may show and which elevation it relies on. */
export interface RevealGrant {
  reveal: RevealName;
  classes: PiiClass[];
  /** The active elevation that grants the capability (always for SENSITIVE; for PII when one grants a PII role), else null. */
  elevationId: string | null;
  actor: string;
  tenantId: string;
}

/**
 * Checks the caller's capability for reveal `reveal` of PII, and of
 * SENSITIVE too when `sensitive`.
 * @throws UnauthenticatedError for an anonymous caller
 * @throws RevealNotPermittedError without a capable role (system callers, API clients and devices included)
 * @throws ElevationRequiredError for SENSITIVE without an active elevation to a capable role
 */
export function authorizeReveal(principal: Principal, reveal: RevealName, sensitive: boolean): RevealGrant {
  const caller = callerOf(principal);
  if (principal.kind !== 'user' || caller.kind !== 'user' || (principal.subjectType ?? 'user') !== 'user') throw new RevealNotPermittedError();
  const roles = REVEALS[reveal].roles;
  const holds = (allowed: readonly string[]) => principal.roles.some((r) => allowed.includes(r));
  if (!holds(roles.PII)) throw new RevealNotPermittedError();
  const elevatedTo = (allowed: readonly string[]) => (principal.elevations ?? []).find((e) => typeof e.role === 'string' && allowed.includes(e.role) && principal.roles.includes(e.role));
  if (sensitive) {
    if (!holds(roles.SENSITIVE)) throw new RevealNotPermittedError();
    const elevation = elevatedTo(roles.SENSITIVE);
    if (!elevation) throw new ElevationRequiredError();
    return { reveal, classes: ['PII', 'SENSITIVE'], elevationId: elevation.id, actor: actorOf(caller), tenantId: caller.tenantId };
  }
  return { reveal, classes: ['PII'], elevationId: elevatedTo(roles.PII)?.id ?? null, actor: actorOf(caller), tenantId: caller.tenantId };
}

// Control characters other than tab and newline.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/**
 * The reason of a reveal: NFC, trimmed, 1 to 500 characters, no control
 * characters but tab and newline. Messages never echo it.
 * @throws InvalidInputError (BAD_USER_INPUT, reason INVALID_INPUT, field `reason`)
 */
export function revealReason(raw: unknown): string {
  const value = typeof raw === 'string' ? raw.normalize('NFC').trim() : '';
  if (!value) throw new InvalidInputError('reason', 'must not be empty');
  if (value.length > MAX_REVEAL_REASON_LENGTH) throw new InvalidInputError('reason', `must be at most ${MAX_REVEAL_REASON_LENGTH} characters`);
  if (CONTROL_CHARS.test(value)) throw new InvalidInputError('reason', 'must not contain control characters');
  return value;
}

const fieldsCache = new Map<string, readonly string[]>();

/** The `@pii` output coordinates reveal `reveal` unmasks for `classes`, sorted (from `MASKING` and the PII map). */
export function revealedFields(reveal: RevealName, classes: readonly PiiClass[]): readonly string[] {
  const key = `${reveal}:${[...classes].sort().join(',')}`;
  let fields = fieldsCache.get(key);
  if (!fields) {
    const subgraph = REVEALS[reveal].subgraph;
    fields = Object.freeze(
      piiMap()
        .filter((e) => e.kind === 'output' && e.subgraph === subgraph && classes.includes(e.class))
        .map((e) => e.coordinate)
        .filter((c) => {
          const rule = MASKING[c];
          return rule !== undefined && rule.masker !== 'none' && rule.reveal === reveal;
        })
        .sort(),
    );
    fieldsCache.set(key, fields);
  }
  return fields;
}

/** What a reveal operation returns besides the revealed record. */
export interface RevealReceipt {
  fields: readonly string[];
  sensitive: boolean;
  revealedAt: Date;
  expiresAt: Date;
}

/**
 * Records the reveal (`pii.revealed`) and returns its receipt. Throws when
 * the audit sink fails: the caller must not hand out any value then.
 */
export async function recordReveal(ctx: Pick<RequestContext<unknown>, 'audit' | 'requestId'>, grant: RevealGrant, target: string, reason: string, now: Date): Promise<RevealReceipt> {
  const fields = revealedFields(grant.reveal, grant.classes);
  const event: AuditEvent = {
    type: REVEAL_AUDIT_TYPE,
    actor: grant.actor,
    tenantId: grant.tenantId,
    target,
    requestId: ctx.requestId,
    details: { operation: REVEALS[grant.reveal].operation, fields: [...fields], classes: [...grant.classes], reason, elevationId: grant.elevationId },
  };
  await ctx.audit.record(event);
  return { fields, sensitive: grant.classes.includes('SENSITIVE'), revealedAt: now, expiresAt: new Date(now.getTime() + REVEAL_TTL_SECONDS * 1000) };
}

/** `record` (and nothing nested) marked as revealed for the grant's classes; null stays null. */
export function revealedRecord<T extends object>(record: T | null | undefined, grant: Pick<RevealGrant, 'classes'>): T | null {
  return record ? markRevealed(record, grant.classes) : null;
}
