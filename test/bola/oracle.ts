/**
 * The BOLA oracle: decides whether a response hands a principal anything of
 * a tenant it may not see.
 *
 * Ground truth comes from the database the stack serves (every collection
 * but the audit trail), plus every list read back through the API by a
 * system caller (plaintext, should personal data be encrypted at rest):
 * each record's id and its identifying and personal fields (foreign keys,
 * names, emails, phones, address lines, tracking numbers, tickets …) are
 * *fingerprints* of the record's tenant; a value found in more than one
 * tenant identifies nobody and is dropped.
 *
 * A case fails when its result
 * 1. holds an object whose `tenantId` (or, for a Tenant, `id`) is a tenant
 *    the principal may not see, or whose `id` / `shipmentId` / `deviceId` /
 *    `subjectId` / `requesterId` … is a fingerprint of such a tenant;
 * 2. holds any string anywhere (cursors decoded) that is such a fingerprint;
 * 3. exception to 1 and 2: the value is an *echo*, a string the case itself
 *    sent (an argument, a representation field). An object identified only
 *    by echoes of a foreign record must be *hollow*: every other field
 *    empty (null, [], 0, false, echoes) — except nested objects that are
 *    themselves the principal's own. So `privacySettings(subjectId:
 *    <their subject>)` may answer the defaults under the given id, a stub
 *    `{ id }` may come back with `devices: []`, but real settings, a device,
 *    a reading count or a Tenant name under a foreign id are leaks;
 * 4. (connections with `totalCount`) counts more records than the
 *    principal's tenants hold, or — when the operation is unfiltered — a
 *    number no subset of its tenants holds exactly;
 * 5. (public tracking) holds any fingerprint at all, of any tenant.
 * Error messages and extensions are scanned for foreign fingerprints too.
 * Who may see what: a person, device or client sees its own tenant; a
 * principal holding PARTNER also the tenants in `partnerOf`; an anonymous
 * caller no tenant.
 */
import type { Connection } from 'mongoose';
import type { Principal } from '../../lib/context';

type Db = NonNullable<Connection['db']>;

export interface Ownership {
  /** Tenant ids of the database. */
  tenants: ReadonlySet<string>;
  /** Fingerprint → owning tenant (values seen in exactly one tenant). */
  owners: ReadonlyMap<string, string>;
  /** Fingerprints containing whitespace (names, address lines): searched as substrings of error texts. */
  phrases: ReadonlyArray<readonly [string, string]>;
  /** collection → tenant → number of records. */
  counts: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** Fields whose string values identify a record or a person. */
const FINGERPRINT_KEYS = new Set([
  '_id',
  'id',
  'tenantId',
  'shipmentId',
  'deviceId',
  'subjectId',
  'recipientSubjectId',
  'requesterId',
  'approvedBy',
  'deniedBy',
  'userId',
  'clientId',
  'name',
  'email',
  'phone',
  'line1',
  'line2',
  'postalCode',
  'deliveryNotes',
  'signerName',
  'signatureRef',
  'photoRefs',
  'trackingNumber',
  'clientEventId',
  'clientReadingId',
  'barcode',
  'reason',
  'denialReason',
  'ticket',
]);
const MIN_FINGERPRINT_LENGTH = 6;
const SKIPPED_COLLECTIONS = new Set(['audit_events']);

/** Keys of a response object that identify it (see rule 1). */
const IDENTIFYING_KEYS = ['tenantId', 'id', 'shipmentId', 'deviceId', 'subjectId', 'recipientSubjectId', 'requesterId', 'approvedBy', 'deniedBy'] as const;

function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { toHexString?: unknown }).toHexString === 'function') return String(value);
  return undefined;
}

/** Reads every collection of `db` (and `served` records) into an ownership index. */
/**
 * A record read back through the API by an unrestricted (system) caller,
 * with its tenant: its values as clients see them, so personal data that
 * the database holds encrypted still has a plaintext fingerprint.
 */
export interface ServedRecord {
  tenantId: string;
  record: unknown;
}

export async function loadOwnership(db: Db, served: readonly ServedRecord[] = []): Promise<Ownership> {
  const seen = new Map<string, Set<string>>();
  const counts = new Map<string, Map<string, number>>();
  const tenants = new Set<string>();
  const note = (value: string, tenant: string) => {
    if (value.length < MIN_FINGERPRINT_LENGTH) return;
    const owners = seen.get(value) ?? new Set<string>();
    owners.add(tenant);
    seen.set(value, owners);
  };
  const collect = (node: unknown, tenant: string, key?: string): void => {
    if (Array.isArray(node)) {
      for (const x of node) collect(x, tenant, key);
      return;
    }
    const id = idString(node);
    if (id !== undefined) {
      if (key !== undefined && FINGERPRINT_KEYS.has(key)) note(id, tenant);
      return;
    }
    if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
      for (const [k, v] of Object.entries(node)) collect(v, tenant, k);
    }
  };
  const collections = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.') && !SKIPPED_COLLECTIONS.has(n));
  for (const name of collections) {
    const perTenant = new Map<string, number>();
    for (const doc of await db.collection(name).find({}).toArray()) {
      const tenant = name === 'tenants' ? idString(doc._id) : idString(doc.tenantId);
      if (!tenant) continue;
      if (name === 'tenants') tenants.add(tenant);
      perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
      collect(doc, tenant);
    }
    counts.set(name, perTenant);
  }
  for (const { tenantId, record } of served) collect(record, tenantId);
  const owners = new Map<string, string>();
  for (const [value, set] of seen) if (set.size === 1) owners.set(value, [...set][0]);
  for (const t of tenants) owners.set(t, t);
  const phrases = [...owners].filter(([v]) => /\s/.test(v));
  return { tenants, owners, phrases, counts };
}

/** The tenants a principal may see (see the header). */
export function visibleTenants(p: Principal): ReadonlySet<string> {
  if (p.kind === 'system') throw new Error('system principals are unrestricted by design and not part of the property');
  if (p.kind === 'anonymous') return new Set();
  return new Set([p.tenantId, ...(p.roles.includes('PARTNER') ? (p.partnerOf ?? []) : [])]);
}

export interface Finding {
  /** Where in the result (alias or `_entities[i]` first). */
  path: string;
  value: unknown;
  reason: string;
}

export interface CaseToCheck {
  /** Path prefix for findings, e.g. `c3` or `_entities[7]`. */
  at: string;
  value: unknown;
  visible: ReadonlySet<string>;
  /** Strings the case sent. */
  echoes: ReadonlySet<string>;
  publicView?: boolean;
  count?: { collection: string; exact: boolean };
}

/** Every string inside `value` (cursor contents included): what a case sent, to recognise echoes. */
export function echoesOf(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    into.add(value);
    const inner = decodeCursor(value);
    if (inner) into.add(inner);
  } else if (Array.isArray(value)) for (const x of value) echoesOf(x, into);
  else if (value !== null && typeof value === 'object') for (const x of Object.values(value)) echoesOf(x, into);
  return into;
}

const cursorIds = new Map<string, string | undefined>();

/** The id inside an opaque cursor (`base64url(JSON [k, id])`), if `s` is one. Memoised: the oracle asks about every string it meets. */
function decodeCursor(s: string): string | undefined {
  if (s.length < 12 || s.length > 512) return undefined;
  if (cursorIds.has(s)) return cursorIds.get(s);
  let id: string | undefined;
  if (/^[A-Za-z0-9_-]+$/.test(s) && !/^[0-9a-f]{24}$/.test(s)) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
      id = Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === 'string' ? parsed[1] : undefined;
    } catch {
      id = undefined;
    }
  }
  if (cursorIds.size > 100_000) cursorIds.clear();
  cursorIds.set(s, id);
  return id;
}

/** Sums of every subset of `xs`. */
function subsetSums(xs: readonly number[]): Set<number> {
  let sums = new Set([0]);
  for (const x of xs) sums = new Set([...sums, ...[...sums].map((s) => s + x)]);
  return sums;
}

/** The findings for one case (empty: no leak). */
export function checkCase(own: Ownership, k: CaseToCheck): Finding[] {
  const findings: Finding[] = [];
  const visible = (tenant: string) => k.visible.has(tenant);
  const ownerOf = (s: string): string | undefined => {
    const direct = own.owners.get(s);
    if (direct !== undefined) return direct;
    const inner = decodeCursor(s);
    return inner !== undefined ? own.owners.get(inner) : undefined;
  };
  const echoed = (s: string) => {
    if (k.echoes.has(s)) return true;
    const inner = decodeCursor(s);
    return inner !== undefined && k.echoes.has(inner);
  };

  const checkString = (s: string, path: string, hollow: string | undefined) => {
    if (hollow && s !== '' && !echoed(s)) findings.push({ path, value: s, reason: `a value under ${hollow}, which must come back empty` });
    const owner = ownerOf(s);
    if (owner === undefined || echoed(s)) return;
    if (k.publicView) findings.push({ path, value: s, reason: `identifies a record (tenant ${owner}) in the anonymous public view` });
    else if (!visible(owner)) findings.push({ path, value: s, reason: `belongs to tenant ${owner}` });
  };

  const walk = (node: unknown, path: string, hollow: string | undefined): void => {
    if (node === null || node === undefined) return;
    if (typeof node === 'string') return checkString(node, path, hollow);
    if (typeof node === 'number') {
      if (hollow && node !== 0) findings.push({ path, value: node, reason: `a value under ${hollow}, which must come back empty` });
      return;
    }
    if (typeof node === 'boolean') {
      if (hollow && node) findings.push({ path, value: node, reason: `a value under ${hollow}, which must come back empty` });
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((x, i) => walk(x, `${path}[${i}]`, hollow));
      return;
    }
    if (typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const typename = typeof o.__typename === 'string' ? o.__typename : 'object';
    const judged = new Set<string>();
    let foreignEcho: string | undefined;
    let ownRecord = false;
    for (const key of IDENTIFYING_KEYS) {
      const v = o[key];
      if (typeof v !== 'string' || v === '') continue;
      const tenantKey = key === 'tenantId' || (key === 'id' && typename === 'Tenant');
      const owner = tenantKey ? v : ownerOf(v);
      if (owner === undefined) continue;
      judged.add(key);
      if (k.publicView && !echoed(v)) {
        findings.push({ path: `${path}.${key}`, value: v, reason: `identifies a record (tenant ${owner}) in the anonymous public view` });
      } else if (visible(owner)) {
        ownRecord = true;
      } else if (echoed(v)) {
        foreignEcho ??= `${typename}.${key} = ${v} (sent by the request; ${own.tenants.has(owner) ? `tenant ${owner}` : 'no such tenant'})`;
      } else {
        findings.push({ path: `${path}.${key}`, value: v, reason: own.tenants.has(owner) ? `${typename}.${key} belongs to tenant ${owner}` : `${typename}.${key} names a tenant that does not exist` });
      }
    }
    // A foreign identity wins over an own one on the same object (a stub with a forged own tenantId is still the foreign record).
    const childHollow = foreignEcho ? `${foreignEcho}` : ownRecord ? undefined : hollow;
    for (const [key, v] of Object.entries(o)) {
      if (key === '__typename' || judged.has(key)) continue;
      walk(v, `${path}.${key}`, childHollow);
    }
  };
  walk(k.value, k.at, undefined);

  if (k.count && k.value !== null && typeof k.value === 'object' && typeof (k.value as { totalCount?: unknown }).totalCount === 'number') {
    const total = (k.value as { totalCount: number }).totalCount;
    const perTenant = [...k.visible].filter((t) => own.tenants.has(t)).map((t) => own.counts.get(k.count!.collection)?.get(t) ?? 0);
    const bound = perTenant.reduce((a, b) => a + b, 0);
    if (total > bound) findings.push({ path: `${k.at}.totalCount`, value: total, reason: `counts ${total} ${k.count.collection}; the principal's tenants hold ${bound}` });
    else if (k.count.exact && !subsetSums(perTenant).has(total)) {
      findings.push({ path: `${k.at}.totalCount`, value: total, reason: `counts ${total} ${k.count.collection}, which no set of the principal's tenants holds (${perTenant.join(', ')})` });
    }
  }
  return findings;
}

export interface GraphQLErrorLike {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: Record<string, unknown>;
}

/**
 * Foreign fingerprints in error messages and extensions (anything the
 * request sent excepted; stack traces, present in development only, are
 * code locations under the message).
 */
export function checkErrors(own: Ownership, errors: readonly GraphQLErrorLike[] | undefined, visible: ReadonlySet<string>, echoes: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const [i, e] of (errors ?? []).entries()) {
    const { stacktrace: _stack, ...extensions } = e.extensions ?? {};
    const text = `${e.message} ${JSON.stringify(extensions)}`;
    for (const token of new Set(text.match(/[A-Za-z0-9._%+@:#/-]{6,}/g) ?? [])) {
      const owner = own.owners.get(token) ?? own.owners.get(decodeCursor(token) ?? '');
      if (owner !== undefined && !visible.has(owner) && !echoes.has(token)) findings.push({ path: `errors[${i}]`, value: token, reason: `error text names a record of tenant ${owner}` });
    }
    for (const [phrase, owner] of own.phrases) {
      if (!visible.has(owner) && !echoes.has(phrase) && text.includes(phrase)) findings.push({ path: `errors[${i}]`, value: phrase, reason: `error text holds "${phrase}" of tenant ${owner}` });
    }
  }
  return findings;
}
