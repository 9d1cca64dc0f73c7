/**
 * Masked by default: what a `@pii` output field shows unless its parent
 * record came from an audited reveal (lib/reveal.ts) or a need-to-know
 * exemption applies. One masker per kind of value, one rule per `@pii`
 * output coordinate (`MASKING`, an explicit table: test/pii/masking.test.ts
 * fails when a `@pii` output field of any subgraph has no rule), and the
 * schema transform `applyMasking` that lib/subgraph.ts runs on every
 * subgraph, inside the authorization rules.
 *
 * Values reach resolvers decrypted; a value erased by crypto-shredding
 * arrives as null and every masker keeps null as null.
 */
import { type GraphQLField, type GraphQLSchema, defaultFieldResolver, isIntrospectionType, isObjectType } from 'graphql';
import { type PiiClass, type SubgraphName, readPiiClass } from '../../schema';

// ---------------------------------------------------------------- maskers

/** The fixed mask: no length, no shape, nothing of the value. */
export const MASK = '•••';

/** Each kind of personal value and how it is masked. */
export type MaskerName = 'personName' | 'phone' | 'email' | 'addressLine' | 'postalCode' | 'freeText' | 'geoPoint' | 'mediaRef' | 'fixed';

/** `"Jane Doe"` → `"J*** D***"`: the first letter of each part. */
export function maskPersonName(value: string): string {
  const parts = value.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return MASK;
  return parts.map((p) => `${Array.from(p)[0]}***`).join(' ');
}

/** `"+44 20 7946 0958"` → `"•••• ••• 958"`: the last 3 digits of a number of 7 digits or more, nothing of a shorter one. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length >= 7 ? `•••• ••• ${digits.slice(-3)}` : '•••• •••';
}

/** `"jane@example.com"` → `"j***@example.com"`: the first character of the local part and the domain. */
export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 1 || at === value.length - 1) return MASK;
  return `${Array.from(value)[0]}***${value.slice(at)}`;
}

/**
 * The coarse part of a postal code: the outward code when a space or hyphen
 * splits one of at most 4 characters off (`"SW1A 1AA"` → `"SW1A •••"`,
 * `"1012 AB"` → `"1012 •••"`), otherwise the first 2 characters
 * (`"10115"` → `"10•••"`, `"94105-1234"` → `"94•••"`). Codes of 3
 * characters or fewer are masked whole.
 */
export function maskPostalCode(value: string): string {
  const code = value.trim();
  const split = /^([A-Za-z0-9]{1,4})[\s-]+\S/.exec(code);
  if (split) return `${split[1].toUpperCase()} ${MASK}`;
  const compact = code.replace(/[\s-]/g, '');
  return compact.length > 3 ? `${compact.slice(0, 2).toUpperCase()}${MASK}` : MASK;
}

/** Decimal degrees kept in a masked position: 1 decimal, about 11 km. */
export const COARSE_DEGREES_DECIMALS = 1;
/** The uncertainty a masked position states, in metres. */
export const COARSE_ACCURACY_METERS = 10_000;

/** A position rounded to city level (0.1°), its accuracy widened to 10 km. */
export function maskGeoPoint(value: { latitude: number; longitude: number; accuracyMeters?: number | null }): { latitude: number; longitude: number; accuracyMeters: number } {
  const round = (n: number) => Math.round(n * 10 ** COARSE_DEGREES_DECIMALS) / 10 ** COARSE_DEGREES_DECIMALS;
  return { latitude: round(value.latitude), longitude: round(value.longitude), accuracyMeters: Math.max(COARSE_ACCURACY_METERS, value.accuracyMeters ?? 0) };
}

const isGeoPoint = (v: unknown): v is { latitude: number; longitude: number; accuracyMeters?: number | null } =>
  typeof v === 'object' && v !== null && typeof (v as { latitude?: unknown }).latitude === 'number' && typeof (v as { longitude?: unknown }).longitude === 'number';

const stringMasker = (mask: (s: string) => string) => (value: unknown) => (typeof value === 'string' ? mask(value) : MASK);

/**
 * The maskers by name. Null and undefined stay null (no value, or a value
 * erased by crypto-shredding); a value of an unexpected type gets the fixed
 * mask (or null where the field's type is not a string).
 */
export const MASKERS: Readonly<Record<MaskerName, (value: unknown) => unknown>> = {
  personName: stringMasker(maskPersonName),
  phone: stringMasker(maskPhone),
  email: stringMasker(maskEmail),
  /** Street lines: nothing of them. City, region and country are not personal data and stay readable: city level. */
  addressLine: () => MASK,
  postalCode: stringMasker(maskPostalCode),
  /** Delivery notes, reasons: free text may hold anything (door codes), so nothing of it. */
  freeText: () => MASK,
  /** Precise positions: rounded to city level. */
  geoPoint: (value) => (isGeoPoint(value) ? maskGeoPoint(value) : null),
  /** References to signature images and photos (one or a list): null, they are worthless masked. */
  mediaRef: () => null,
  fixed: () => MASK,
};

/** Applies masker `name` to `value`, keeping null as null. */
export function maskValue(name: MaskerName, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return MASKERS[name](value);
}

// ---------------------------------------------------------------- the table

/**
 * The shape of the principal the exemptions read (lib/context.ts's
 * `Principal`, structurally: lib/pii imports nothing from the rest of lib).
 */
export interface MaskingPrincipal {
  readonly kind: string;
  readonly id?: string;
  readonly tenantId?: string;
  readonly roles?: readonly string[];
  readonly subjectType?: string;
}

/**
 * Need-to-know exemptions: cases where the reader's need is the record's
 * very purpose, so masking would only get in the way and a reveal would
 * audit nothing useful. Kept few on purpose; each names who and why.
 */
export const EXEMPTIONS = {
  ownUserRecord: {
    why: 'a person reading their own account (`me`, or their own User through any path): it is their own data',
    applies: (parent: Record<string, unknown>, p: MaskingPrincipal) =>
      p.kind === 'user' && (p.subjectType ?? 'user') === 'user' && typeof p.id === 'string' && parent.id === p.id && parent.tenantId === p.tenantId,
  },
  elevationParty: {
    why: "an elevation's reason and denial reason, read by its requester (who wrote the one and is told the other) or by a SECURITY_ADMIN of its tenant (who decides on it)",
    applies: (parent: Record<string, unknown>, p: MaskingPrincipal) =>
      p.kind === 'user' && typeof p.tenantId === 'string' && parent.tenantId === p.tenantId && (parent.requesterId === p.id || (p.roles ?? []).includes('SECURITY_ADMIN')),
  },
} as const;

export type ExemptionName = keyof typeof EXEMPTIONS;

/**
 * The audited reveal operations, and which roles hold the reveal capability
 * of each class through them (lib/reveal.ts checks it, docs/pii-inventory.md
 * lists it). SENSITIVE also needs an active just-in-time elevation to one of
 * its roles (lib/reveal.ts).
 */
export const REVEALS = {
  shipment: {
    operation: 'Mutation.revealShipment',
    subgraph: 'shipment',
    roles: {
      PII: ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER'],
      SENSITIVE: ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT'],
    },
  },
  user: {
    operation: 'Mutation.revealUser',
    subgraph: 'identity',
    roles: {
      PII: ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER'],
      SENSITIVE: [],
    },
  },
} as const satisfies Record<string, { operation: string; subgraph: SubgraphName; roles: Record<PiiClass, readonly string[]> }>;

export type RevealName = keyof typeof REVEALS;

/** How one `@pii` output coordinate is shown by default. */
export type MaskingRule =
  | { readonly masker: MaskerName; readonly reveal?: RevealName; readonly exemption?: ExemptionName }
  /** Never masked; `why` says why not (a test keeps this list from growing unnoticed). */
  | { readonly masker: 'none'; readonly why: string };

/**
 * Every `@pii` output coordinate (`Type.field`) of every subgraph and how it
 * is masked. A `@pii` output field missing here refuses the subgraph's boot
 * (`applyMasking`) and fails test/pii/masking.test.ts.
 */
export const MASKING: Readonly<Record<string, MaskingRule>> = {
  // shipment
  'Shipment.deliveryNotes': { masker: 'freeText', reveal: 'shipment' },
  'Address.line1': { masker: 'addressLine', reveal: 'shipment' },
  'Address.line2': { masker: 'addressLine', reveal: 'shipment' },
  'Address.postalCode': { masker: 'postalCode', reveal: 'shipment' },
  'Contact.name': { masker: 'personName', reveal: 'shipment' },
  'Contact.phone': { masker: 'phone', reveal: 'shipment' },
  'Contact.email': { masker: 'email', reveal: 'shipment' },
  'ProofOfDelivery.signerName': { masker: 'personName', reveal: 'shipment' },
  'ProofOfDelivery.signatureRef': { masker: 'mediaRef', reveal: 'shipment' },
  'ProofOfDelivery.photoRefs': { masker: 'mediaRef', reveal: 'shipment' },
  'ProofOfDelivery.geo': { masker: 'geoPoint', reveal: 'shipment' },
  // Events of a revealed shipment (`revealShipment { shipment { events … } }`): the resolvers pass the mark on.
  'TrackingEvent.coordinates': { masker: 'geoPoint', reveal: 'shipment' },
  'EventLocation.postalCode': { masker: 'postalCode', reveal: 'shipment' },
  // identity
  'User.email': { masker: 'email', reveal: 'user', exemption: 'ownUserRecord' },
  'User.name': { masker: 'personName', reveal: 'user', exemption: 'ownUserRecord' },
  'Elevation.reason': { masker: 'freeText', exemption: 'elevationParty' },
  'Elevation.denialReason': { masker: 'freeText', exemption: 'elevationParty' },
  // privacy
  'PrivacySettings.notificationChannels': {
    masker: 'none',
    why: 'consent choices: their purpose is to be honoured by the staff who read them, and `subjectAccess` / `recipientPrivacy` already keep them to the subject and privacy staff; a masked consent would be a false one (and the field is a non-null enum list)',
  },
  'PrivacySettings.dataSharing': {
    masker: 'none',
    why: 'consent choices, as notificationChannels (non-null booleans: no masked form that is not a false answer)',
  },
};

// ---------------------------------------------------------------- reveal marks

/**
 * Marks a record produced by an audited reveal: the classes it reveals, as a
 * bit set (1 = PII, 2 = SENSITIVE). A symbol cannot come from JSON or a
 * database document, so only code that calls `markRevealed` sets it.
 */
export const REVEALED: unique symbol = Symbol('tracksafe.pii.revealed');

const CLASS_BITS: Record<PiiClass, number> = { PII: 1, SENSITIVE: 2 };

/**
 * A shallow copy of `record` marked as revealing `classes`. Copy, never
 * mark in place: loaders cache records per request, and a mark on a cached
 * record would unmask it on every other path of the request. Nested records
 * are not marked: mark each one the reveal hands out.
 */
export function markRevealed<T extends object>(record: T, classes: readonly PiiClass[]): T {
  const copy = { ...record };
  Object.defineProperty(copy, REVEALED, { value: classes.reduce((bits, c) => bits | CLASS_BITS[c], 0), enumerable: false });
  return copy;
}

/** The classes `record` was marked as revealing (none for an unmarked record): to pass a reveal on to records it leads to. */
export function revealedClassesOf(record: unknown): PiiClass[] {
  return (Object.keys(CLASS_BITS) as PiiClass[]).filter((c) => isRevealed(record, c));
}

/** True when `record` was marked by `markRevealed` with `cls`. */
export function isRevealed(record: unknown, cls: PiiClass): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const bits = (record as { [REVEALED]?: number })[REVEALED];
  return typeof bits === 'number' && (bits & CLASS_BITS[cls]) !== 0;
}

// ---------------------------------------------------------------- the transform

/** A `@pii` output field of a schema without a rule in `MASKING`: the boot is refused. */
export class UnmaskedPiiFieldError extends Error {
  constructor(readonly coordinates: readonly string[]) {
    super(`@pii output field(s) without a masking rule in lib/pii/masking.ts: ${coordinates.join(', ')}`);
    this.name = 'UnmaskedPiiFieldError';
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/**
 * Wraps the resolver of every `@pii` output field of `schema` (in place) so
 * that it returns the masked value unless the parent record was marked by
 * an audited reveal for the field's class, or the rule's exemption applies
 * to the request's principal (`context.principal`). Other fields are not
 * touched. Call it before the authorization rules are applied, so they run
 * first (and the rules' "allow" fast path keeps this wrapper).
 *
 * @throws UnmaskedPiiFieldError when a `@pii` output field has no rule in `MASKING`
 */
export function applyMasking(schema: GraphQLSchema, table: Readonly<Record<string, MaskingRule>> = MASKING): GraphQLSchema {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      const cls = readPiiClass(field.astNode);
      if (!cls) continue;
      const coordinate = `${type.name}.${field.name}`;
      const rule = table[coordinate];
      if (!rule) {
        missing.push(coordinate);
        continue;
      }
      if (rule.masker === 'none') continue;
      field.resolve = maskingResolver(field, cls, rule.masker, rule.exemption ? EXEMPTIONS[rule.exemption].applies : undefined);
    }
  }
  if (missing.length) throw new UnmaskedPiiFieldError(missing);
  return schema;
}

type Resolver = NonNullable<GraphQLField<unknown, unknown>['resolve']>;

function maskingResolver(
  field: GraphQLField<unknown, unknown>,
  cls: PiiClass,
  masker: MaskerName,
  exempt: ((parent: Record<string, unknown>, p: MaskingPrincipal) => boolean) | undefined,
): Resolver {
  const name = field.name;
  const own = field.resolve;
  const mask = MASKERS[masker];
  const shown = (source: unknown, context: unknown, value: unknown): unknown => {
    if (value === null || value === undefined) return null;
    if (isRevealed(source, cls)) return value;
    if (exempt) {
      const principal = (context as { principal?: MaskingPrincipal } | null)?.principal;
      if (principal && exempt(source as Record<string, unknown>, principal)) return value;
    }
    return mask(value);
  };
  if (!own || own === defaultFieldResolver) {
    // The common case (a plain property): no call into the default resolver.
    return (source, _args, context) => shown(source, context, (source as Record<string, unknown> | null)?.[name]);
  }
  return (source, args, context, info) => {
    const value = own(source, args, context, info);
    return isThenable(value) ? Promise.resolve(value).then((v) => shown(source, context, v)) : shown(source, context, value);
  };
}
