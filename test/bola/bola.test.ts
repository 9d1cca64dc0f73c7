/**
 * Object-level tenancy (OWASP API1, BOLA) as a property: whoever asks, for
 * whatever id, through whichever door, no response carries data of a tenant
 * the caller may not see.
 *
 * One stack (devdb, four subgraphs, gateway) seeded with the demo plan.
 * fast-check generates batches: one random principal (tenant A or B, any
 * person role, PARTNER with or without `partnerOf` naming the other tenant,
 * DEVICE, odd role mixes, random scopes, foreign or junk subject ids, with
 * or without MFA and shift; or anonymous) and many (operation, target,
 * variant) cases, where the target is a real id of either tenant (shipment,
 * device, user, tenant, DSR, subject, API client, event, reading,
 * elevation) or junk, and the variant drives forged cursors, filters and
 * representation fields. Cases go out three ways:
 * - through the gateway with a platform access token: one request per
 *   catalogue entry, one aliased field per case;
 * - straight to the subgraph resolving a root field, past the gateway's
 *   guard, with a valid internal token for the principal;
 * - to each subgraph's `_entities` with a valid internal token, for every
 *   entity type it resolves, representations possibly forged.
 * oracle.ts judges each case. The seed is logged; replay with
 * `BOLA_SEED=<seed> npx jest test/bola/bola.test.ts`, or only the failing
 * batch with `BOLA_SEED=<seed> BOLA_PATH=<path>` (both printed on failure);
 * `BOLA_RUNS` scales the run.
 */
import fc from 'fast-check';
import { isNonNullType } from 'graphql';
import { createInternalTokenSigner, type InternalTokenSigner } from '../../lib/auth/internal-token';
import { PERSON_ROLES, ROLES, scopesForRoles } from '../../lib/auth/scopes';
import type { Principal, TenantPrincipal } from '../../lib/context';
import { demoId } from '../../lib/demo';
import { SCOPES, SUBGRAPH_NAMES, type SubgraphName } from '../../schema';
import { demoTrackingToken } from '../../subgraphs/shipment/tokens';
import { plan, postGraphQL, startStack, tenantA, tenantB, userOf, type GraphQLResponse, type Stack } from '../kit/stack';
import { Documents, publicRootFields, slotVariables } from './documents';
import { Choices, ENTITY_OPERATIONS, ROOT_OPERATIONS, type Pool, type RootOperation, type Target, type TargetKind } from './operations';
import { checkCase, checkErrors, echoesOf, loadOwnership, visibleTenants, type Finding, type Ownership, type ServedRecord } from './oracle';

/** Report lines for whoever runs this by hand (stdout, not a log). */
const print = (...parts: unknown[]): void => void process.stdout.write(parts.join(' ') + '\n');

/** Property runs: one principal each, about 135 cases per run (≈ 11,500 cases, ~20 s of CPU). */
const RUNS = Number(process.env.BOLA_RUNS ?? 85);
const SEED = process.env.BOLA_SEED !== undefined ? Number(process.env.BOLA_SEED) : Math.floor(Math.random() * 2 ** 31);
const MIN_CASES = process.env.BOLA_PATH !== undefined ? 0 : Number(process.env.BOLA_MIN_CASES ?? 10_000);
/** Replays one failing run: the `path` fast-check reports next to the seed. */
const PATH = process.env.BOLA_PATH;
/** Requests in flight at once (the whole stack shares this process). */
const CONCURRENCY = 4;

let stack: Stack;
let own: Ownership;
let pool: Pool;
let targetsByKind: ReadonlyMap<TargetKind, Target[]>;
let docs: Documents;
let signer: InternalTokenSigner;
let setupNote = '';
/** Catalogue entries whose root field the supergraph serves (an entry may precede or outlive its field; catalogue.test.ts checks the other direction). */
let rootOps: readonly RootOperation[] = [];
/** Root fields whose type is non-null: an error in one nulls the whole response. */
let nonNullRoot: ReadonlySet<string> = new Set();

beforeAll(async () => {
  stack = await startStack();
  setupNote = await seedElevations(stack);
  const db = stack.platform.stores.forRegion().db!;
  docs = new Documents();
  const served = new Set(publicRootFields(docs.supergraph));
  rootOps = ROOT_OPERATIONS.filter((o) => served.has(o.field));
  const queryFields = docs.supergraph.getQueryType()!.getFields();
  nonNullRoot = new Set(rootOps.filter((o) => isNonNullType(queryFields[o.field].type)).map((o) => o.field));
  signer = createInternalTokenSigner(stack.platform.auth.internalKeys);
  const records = await servedRecords();
  setupNote += `; ${records.length} records read back for fingerprints`;
  own = await loadOwnership(db, records);
  pool = await buildPool(db);
  const byKind = new Map<TargetKind, Target[]>();
  for (const t of pool.targets) byKind.set(t.kind, [...(byKind.get(t.kind) ?? []), t]);
  targetsByKind = byKind;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

// ---------------------------------------------------------------- targets

type Db = NonNullable<ReturnType<Stack['platform']['stores']['forRegion']>['db']>;

const JUNK_IDS = ['000000000000000000000000', 'ffffffffffffffffffffffff', 'deadbeefdeadbeefdeadbeef', 'not-an-id', 'x', '../../etc/passwd', 'a'.repeat(129)];
const JUNK_TENANTS = ['tenant-that-does-not-exist', '111111111111111111111111'];

const ms = (d: unknown): number | undefined => (d instanceof Date ? d.getTime() : undefined);

/** Real ids of both tenants, read from the database the stack serves, and junk. */
async function buildPool(db: Db): Promise<Pool> {
  const all = async (name: string, limit = 0) => db.collection(name).find({}).limit(limit).toArray();
  const targets: Target[] = [];
  for (const s of await all('shipments')) {
    const id = String(s._id);
    targets.push({ kind: 'shipment', id, owner: s.tenantId, trackingNumber: s.trackingNumber, trackingToken: demoTrackingToken(id), recipientSubjectId: s.recipientSubjectId ?? undefined, carrier: s.carrier, region: s.region, sortKey: ms(s.createdAt) });
  }
  for (const d of await all('devices')) targets.push({ kind: 'device', id: String(d._id), owner: d.tenantId, sortKey: ms(d.createdAt) });
  for (const u of await all('users')) targets.push({ kind: 'user', id: String(u._id), owner: u.tenantId });
  for (const t of await all('tenants')) targets.push({ kind: 'tenant', id: String(t._id), owner: String(t._id), sortKey: ms(t.createdAt) });
  for (const r of await all('data_subject_requests')) targets.push({ kind: 'dsr', id: String(r._id), owner: r.tenantId, sortKey: ms(r.dueAt) });
  for (const p of await all('privacy_settings')) targets.push({ kind: 'subject', id: p.subjectId, owner: p.tenantId });
  for (const c of await all('api_clients')) targets.push({ kind: 'apiClient', id: String(c._id), owner: c.tenantId, sortKey: ms(c.createdAt) });
  for (const e of await all('tracking_events', 12)) targets.push({ kind: 'event', id: String(e._id), owner: e.tenantId, sortKey: ms(e.occurredAt) });
  for (const r of await all('readings', 12)) targets.push({ kind: 'reading', id: String(r._id), owner: r.tenantId, sortKey: ms(r.recordedAt) });
  for (const e of await all('elevations')) targets.push({ kind: 'elevation', id: String(e._id), owner: e.tenantId, sortKey: ms(e.requestedAt) });
  for (const id of JUNK_IDS) targets.push({ kind: 'junk', id });
  const subjects = new Set<string>([...targets.filter((t) => t.recipientSubjectId).map((t) => t.recipientSubjectId!), ...targets.filter((t) => t.kind === 'user' || t.kind === 'subject').map((t) => t.id), 'subject-that-does-not-exist']);
  return { targets, tenantIds: [tenantA.id, tenantB.id, ...JUNK_TENANTS], subjectIds: [...subjects] };
}

/**
 * Just-in-time elevations in both tenants (none are seeded), so
 * `elevations` has something to leak: best effort, the feature is young;
 * returns what happened for the log.
 */
async function seedElevations(s: Stack): Promise<string> {
  const request = `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id } }`;
  const approve = `mutation($id: ID!) { approveElevation(id: $id) { id } }`;
  let created = 0;
  let approved = 0;
  const problems = new Set<string>();
  for (const [i, t] of [tenantA, tenantB].entries()) {
    const inputs: Array<[string, Record<string, unknown>]> = [
      ['DISPATCHER', { role: 'AUDITOR', reason: `BOLA probe ${i}: ${t.name} dispatcher needs the audit view`, ticket: `CHG-BOLA-${i}01`, durationMinutes: 60 }],
      ['SUPPORT_AGENT', { scope: 'users:read', reason: `BOLA probe ${i}: ${t.name} support needs the user list`, ticket: `INC-BOLA-${i}02`, durationMinutes: 30 }],
    ];
    for (const [k, [role, input]] of inputs.entries()) {
      try {
        const res = await s.gql<{ requestElevation: { id: string } }>(request, { input }, { principal: userOf(t.id, role) });
        const id = res.data?.requestElevation?.id;
        if (!id) {
          problems.add(String(res.errors?.[0]?.extensions?.code ?? res.status));
          continue;
        }
        created++;
        if (k > 0) continue;
        const ok = await s.gql<{ approveElevation: { id: string } }>(approve, { id }, { principal: userOf(t.id, 'SECURITY_ADMIN') });
        if (ok.data?.approveElevation?.id) approved++;
        else problems.add(String(ok.errors?.[0]?.extensions?.code ?? ok.status));
      } catch (err) {
        problems.add(String(err));
      }
    }
  }
  return `elevations created ${created}, approved ${approved}${problems.size ? ` (refused: ${[...problems].join(', ')})` : ''}`;
}

/**
 * Every list read back whole, straight from its subgraph, by a system
 * principal (unrestricted by design): what clients would see of each
 * record, for the oracle's fingerprints.
 */
async function servedRecords(): Promise<ServedRecord[]> {
  const system: Principal = { kind: 'system', id: 'bola-oracle' };
  const records: ServedRecord[] = [];
  for (const op of rootOps.filter((o) => o.count && o.sweep?.length)) {
    const sg = docs.directSubgraph(op);
    const res = await postGraphQL<{ d0?: { edges?: Array<{ node: { tenantId?: unknown } }> } }>(
      stack.platform.subgraphUrls[sg],
      docs.subgraph(sg, { typenames: [], direct: [op] }),
      slotVariables(op, 'd0', { ...op.sweep![0], first: 100 }, false),
      { authorization: `Bearer ${await signer.tokenFor(system, sg)}` },
    );
    for (const { node } of res.data?.d0?.edges ?? []) if (typeof node.tenantId === 'string') records.push({ tenantId: node.tenantId, record: node });
  }
  return records;
}

// ---------------------------------------------------------------- principals

const anonymous: Principal = { kind: 'anonymous' };
const tenants = [tenantA, tenantB];
const DAY_SHIFT = { start: '00:00', end: '24:00', timeZone: 'UTC' };
const NO_SHIFT = { start: '00:00', end: '00:00', timeZone: 'UTC' };

interface PrincipalSpec {
  tenant: number;
  roles: string[];
  scopes: 'implied' | 'all' | string[];
  partnerOf: 'none' | 'other' | 'otherAndJunk' | 'empty' | 'own';
  identity: 'own' | 'foreignUser' | 'junk';
  mfa: boolean;
  shift: 'day' | 'none' | 'closed';
}

function principalOf(spec: PrincipalSpec): TenantPrincipal {
  const t = tenants[spec.tenant];
  const other = tenants[1 - spec.tenant];
  const roles = spec.roles;
  const isClient = roles.includes('PARTNER');
  const isDevice = !isClient && roles.includes('DEVICE');
  let id: string;
  if (spec.identity === 'junk') id = 'principal-that-does-not-exist';
  else if (spec.identity === 'foreignUser') id = plan.users.find((u) => u.tenantId === other.id)!.id;
  // A client or device of the tenant as stored (the gateway checks that it is active), else an id that names none.
  else if (isClient) id = targetsByKind.get('apiClient')?.find((c) => c.owner === t.id)?.id ?? demoId('client', 900 + spec.tenant);
  else if (isDevice) id = targetsByKind.get('device')?.find((d) => d.owner === t.id)?.id ?? demoId('device', 900 + spec.tenant);
  else id = (plan.users.find((u) => u.tenantId === t.id && u.roles.includes(roles[0])) ?? plan.users.find((u) => u.tenantId === t.id)!).id;
  const partnerOf = { none: undefined, other: [other.id], otherAndJunk: [other.id, JUNK_TENANTS[0]], empty: [], own: [t.id] }[spec.partnerOf];
  const scopes = spec.scopes === 'implied' ? scopesForRoles(roles) : spec.scopes === 'all' ? [...SCOPES] : spec.scopes;
  return {
    kind: 'user',
    id,
    tenantId: t.id,
    region: t.homeRegion,
    roles,
    scopes,
    subjectType: isClient ? 'client' : isDevice ? 'device' : 'user',
    ...(partnerOf ? { partnerOf } : {}),
    ...(spec.mfa ? { amr: ['pwd', 'otp'], authTime: Math.floor(Date.now() / 1000) } : { amr: ['pwd'] }),
    ...(roles.includes('DRIVER') && spec.shift !== 'none' ? { shift: spec.shift === 'day' ? DAY_SHIFT : NO_SHIFT } : {}),
  };
}

const roleSets: string[][] = [...PERSON_ROLES.map((r) => [r]), ['PARTNER'], ['DEVICE']];
/** Roles that read tenant-wide lists: a leak in a list's tenant filter shows to them first. */
const wideReaders: string[][] = [['SECURITY_ADMIN'], ['TENANT_ADMIN'], ['AUDITOR'], ['PRIVACY_OFFICER']];

const principalArb: fc.Arbitrary<Principal> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(anonymous) },
  {
    weight: 14,
    arbitrary: fc
      .record({
        tenant: fc.integer({ min: 0, max: 1 }),
        roles: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...roleSets) },
          { weight: 4, arbitrary: fc.constantFrom(...wideReaders) },
          { weight: 4, arbitrary: fc.constant<string[]>(['PARTNER']) },
          { weight: 2, arbitrary: fc.subarray<string>([...ROLES], { minLength: 2, maxLength: 3 }) },
        ),
        scopes: fc.oneof(
          { weight: 6, arbitrary: fc.constant<'implied'>('implied') },
          { weight: 1, arbitrary: fc.constant<'all'>('all') },
          { weight: 2, arbitrary: fc.subarray<string>([...SCOPES]) },
        ),
        partnerOf: fc.constantFrom<PrincipalSpec['partnerOf']>('none', 'other', 'other', 'otherAndJunk', 'empty', 'own'),
        identity: fc.constantFrom<PrincipalSpec['identity']>('own', 'own', 'own', 'own', 'foreignUser', 'junk'),
        mfa: fc.boolean(),
        shift: fc.constantFrom<PrincipalSpec['shift']>('day', 'day', 'none', 'closed'),
      })
      .map(principalOf),
  },
);

// ---------------------------------------------------------------- batches

interface CaseSpec {
  op: number;
  target: number;
  variant: number;
}

interface Batch {
  principal: Principal;
  /** Through the gateway: a few catalogue entries, many cases each. */
  gateway: Array<{ op: number; cases: CaseSpec[] }>;
  /** `_entities` straight to the subgraphs. */
  entities: CaseSpec[];
  /** Root fields straight to their subgraph (besides the sweep of every list, which every batch sends). */
  direct: CaseSpec[];
}

/**
 * Slots per gateway request: fixed, so each catalogue entry is planned once
 * and then served from the gateway's plan cache. Fewer for non-null root
 * fields: one failing slot nulls the whole response and costs a resend.
 */
const SLOTS = { nullable: 20, nonNull: 8 } as const;

function batchArb(): fc.Arbitrary<Batch> {
  // Resolved per operation by `targetOf`: mostly a record of the kinds it takes, else anything.
  const target = fc.nat();
  const variant = fc.nat();
  const gatewayGroup = (op: number) => {
    const n = rootOps[op].targetless ? 1 : nonNullRoot.has(rootOps[op].field) ? SLOTS.nonNull : SLOTS.nullable;
    return fc.array(fc.record({ op: fc.constant(op), target, variant }), { minLength: n, maxLength: n }).map((cases) => ({ op, cases }));
  };
  const directOps = rootOps.flatMap((o, i) => (o.direct ? [i] : []));
  return fc.record({
    principal: principalArb,
    gateway: fc.uniqueArray(fc.nat({ max: rootOps.length - 1 }), { minLength: 2, maxLength: 3 }).chain((ops) => fc.tuple(...ops.map(gatewayGroup))),
    entities: fc.array(fc.record({ op: fc.nat({ max: ENTITY_OPERATIONS.length - 1 }), target, variant }), { minLength: 72, maxLength: 96 }),
    direct: fc
      .array(fc.record({ op: fc.constantFrom(...directOps), target, variant }), { minLength: 6, maxLength: 12 })
      // Argument-less fields are in the sweep already: asked twice they are the same case.
      .map((cases) => cases.filter((c) => !rootOps[c.op].targetless)),
  });
}

// ---------------------------------------------------------------- running and judging

interface Stats {
  cases: number;
  byChannel: Record<string, number>;
  /** Cases whose result held records of the principal's own (visible) tenants: the property is not vacuous. */
  substantive: number;
  /** Cases aimed at a real record of a tenant the principal may not see. */
  foreignTargets: number;
  requests: number;
  errorCodes: Record<string, number>;
  /** Slots of a non-null root field not sent again once the field was refused outright (not counted in `cases`). */
  inferredRefusals: number;
  /** Per channel and operation: [cases, substantive cases] (BOLA_VERBOSE=1 prints them). */
  byOperation: Record<string, [number, number]>;
}

const stats: Stats = { cases: 0, byChannel: {}, substantive: 0, foreignTargets: 0, requests: 0, errorCodes: {}, byOperation: {}, inferredRefusals: 0 };
const leaks: string[] = [];

/** The target a case aims at: four times in five a record of a kind the operation takes, else any target (junk included). */
function targetOf(kinds: readonly TargetKind[] | undefined, n: number): Target {
  const preferred = n % 5 !== 0 ? (kinds ?? []).flatMap((k) => targetsByKind.get(k) ?? []) : [];
  return preferred.length ? preferred[Math.floor(n / 5) % preferred.length] : pool.targets[n % pool.targets.length];
}

/**
 * True when the result holds data of a tenant the principal sees beyond
 * what the case sent: a fingerprint of such a tenant, or stored privacy
 * choices (`updatedAt` set) of such a tenant's subject.
 */
function holdsVisibleRecord(value: unknown, visible: ReadonlySet<string>, echoes: ReadonlySet<string>): boolean {
  const visit = (node: unknown): boolean => {
    if (typeof node === 'string') {
      const owner = own.owners.get(node);
      return owner !== undefined && visible.has(owner) && !echoes.has(node);
    }
    if (Array.isArray(node)) return node.some(visit);
    if (node === null || typeof node !== 'object') return false;
    const o = node as Record<string, unknown>;
    if (o.__typename === 'PrivacySettings' && o.updatedAt != null && typeof o.subjectId === 'string' && visible.has(own.owners.get(o.subjectId) ?? '')) return true;
    return Object.values(o).some(visit);
  };
  return visit(value);
}

/** The target of a sweep case: none. */
const NO_TARGET: Target = { kind: 'junk', id: '(none: a plain first page)' };

const describePrincipal = (p: Principal) => JSON.stringify(p.kind === 'user' ? { ...p, authTime: p.authTime ? '<now>' : undefined } : p);
const describeTarget = (t: Target) => `${t.kind} ${t.id}${t.owner ? ` of tenant ${t.owner}` : ''}`;

/** One (principal, target, operation) case. */
interface Case {
  channel: string;
  operation: string;
  target: Target;
  /** What the case sends: its variables, or its representation. */
  input: Record<string, unknown>;
  publicView?: boolean;
  count?: RootOperation['count'];
  /** Direct and gateway cases: the root operation. Entity cases: the representation's type. */
  op?: RootOperation;
  typename?: string;
}

/** A request for some cases: the document, its variables, and where each case's result and alias are. */
interface Built {
  query: string;
  variables: Record<string, unknown>;
  alias(c: Case): string;
  result(data: Record<string, unknown>, c: Case): unknown;
}

function judge(principal: Principal, url: string, built: Built, res: GraphQLResponse<Record<string, unknown>>, cases: readonly Case[], delivered: boolean): void {
  const visible = visibleTenants(principal);
  const allEchoes = new Set<string>();
  const report = (findings: Finding[], c?: Case, value?: unknown) => {
    if (!findings.length) return;
    leaks.push(
      [
        `LEAK via ${c ? `${c.channel} ${c.operation}` : `${url} (errors)`}`,
        `  principal: ${describePrincipal(principal)}`,
        ...(c ? [`  target:    ${describeTarget(c.target)}`, `  input:     ${JSON.stringify(c.input)}`] : []),
        ...findings.slice(0, 5).map((f) => `  found:     ${f.path} = ${JSON.stringify(f.value)} — ${f.reason}`),
        ...(c ? [`  result:    ${JSON.stringify(value)?.slice(0, 1500)}`] : []),
        `  request:   POST ${url}`,
        `  query:     ${built.query.replace(/\s+/g, ' ').slice(0, 3000)}`,
        `  variables: ${JSON.stringify(built.variables).slice(0, 3000)}`,
      ].join('\n'),
    );
  };
  for (const c of cases) {
    const value = delivered && res.data ? built.result(res.data, c) : undefined;
    const echoes = echoesOf(c.input);
    for (const e of echoes) allEchoes.add(e);
    const findings = checkCase(own, {
      at: built.alias(c),
      value,
      visible,
      echoes,
      publicView: c.publicView,
      count: c.count && { collection: c.count.collection, exact: c.count.exact?.(c.input) ?? false },
    });
    report(findings, c, value);
    stats.cases++;
    stats.byChannel[c.channel] = (stats.byChannel[c.channel] ?? 0) + 1;
    const key = `${c.channel.startsWith('gateway') ? 'gateway' : c.channel} ${c.operation}`;
    const op = (stats.byOperation[key] ??= [0, 0]);
    op[0]++;
    if (holdsVisibleRecord(value, visible, echoes)) {
      stats.substantive++;
      op[1]++;
    }
    if (c.target.owner !== undefined && !visible.has(c.target.owner)) stats.foreignTargets++;
  }
  report(checkErrors(own, res.errors, visible, allEchoes));
}

/**
 * Sends `cases` in one request and judges them. A non-null root field that
 * fails (a bad cursor in one slot of `shipments`, say) nulls the whole
 * response: the failing slots are judged as answered with nothing, and the
 * others go out again without them. A non-null root field refused outright
 * (FORBIDDEN or UNAUTHENTICATED on the field itself) is refused in every
 * slot — its rule reads the principal, never the arguments (catalogue.test.ts
 * holds every non-null root field to that) — so its other slots are not
 * sent again, and not counted as checked.
 */
async function send(principal: Principal, url: string, headers: () => Promise<Record<string, string>>, cases: readonly Case[], build: (cases: readonly Case[]) => Built): Promise<void> {
  let pending = cases;
  while (pending.length) {
    const built = build(pending);
    const res = await postGraphQL<Record<string, unknown>>(url, built.query, built.variables, await headers());
    stats.requests++;
    for (const e of res.errors ?? []) {
      const code = String(e.extensions?.code ?? 'NONE');
      stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1;
    }
    const errors = res.data ? [] : (res.errors ?? []);
    const failed = new Set(errors.map((e) => e.path?.[0]).filter((k): k is string => typeof k === 'string'));
    const bad = pending.filter((c) => failed.has(built.alias(c)));
    if (!bad.length || bad.length === pending.length) {
      judge(principal, url, built, res, pending, true);
      return;
    }
    judge(principal, url, built, res, bad, false);
    const refused = new Set(
      errors
        .filter((e) => e.path?.length === 1 && ['FORBIDDEN', 'UNAUTHENTICATED'].includes(String(e.extensions?.code)))
        .map((e) => bad.find((c) => built.alias(c) === e.path![0])?.op?.field)
        .filter((f): f is string => f !== undefined && nonNullRoot.has(f)),
    );
    const rest = pending.filter((c) => !failed.has(built.alias(c)));
    pending = rest.filter((c) => c.typename !== undefined || !c.op || !refused.has(c.op.field));
    stats.inferredRefusals += rest.length - pending.length;
  }
}

function gatewayBuild(op: RootOperation): (cases: readonly Case[]) => Built {
  return (cases) => {
    const slot = new Map(cases.map((c, i) => [c, `c${i}`]));
    return {
      query: docs.gateway(op, cases.length),
      variables: Object.assign({}, ...cases.map((c) => slotVariables(op, slot.get(c)!, c.input, true))),
      alias: (c) => slot.get(c)!,
      result: (data, c) => data[slot.get(c)!],
    };
  };
}

function subgraphBuild(sg: SubgraphName): (cases: readonly Case[]) => Built {
  return (cases) => {
    const entity = cases.filter((c) => c.typename !== undefined);
    const direct = cases.filter((c) => c.typename === undefined);
    const typenames = [...new Set(entity.map((c) => c.typename!))].sort();
    const index = new Map<Case, number>();
    const reps: Record<string, unknown[]> = Object.fromEntries(typenames.map((t) => [`r_${t}`, []]));
    for (const c of entity) index.set(c, reps[`r_${c.typename}`].push(c.input) - 1);
    direct.forEach((c, i) => index.set(c, i));
    const alias = (c: Case) => (c.typename !== undefined ? `e_${c.typename}` : `d${index.get(c)}`);
    return {
      query: docs.subgraph(sg, { typenames, direct: direct.map((c) => c.op!) }),
      variables: Object.assign(reps, ...direct.map((c, i) => slotVariables(c.op!, `d${i}`, c.input, false))),
      alias,
      result: (data, c) => (c.typename !== undefined ? (data[alias(c)] as unknown[] | null | undefined)?.[index.get(c)!] : data[alias(c)]),
    };
  };
}

async function inParallel(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

async function runBatch(b: Batch): Promise<void> {
  const { principal } = b;
  const bearer: Record<string, string> = principal.kind === 'user' ? { authorization: `Bearer ${await stack.tokenFor(principal)}` } : {};
  const jobs: Array<() => Promise<void>> = [];

  for (const group of b.gateway) {
    const op = rootOps[group.op];
    const cases = group.cases.map((c): Case => {
      const target = targetOf(op.targets, c.target);
      return { channel: 'gateway', operation: op.name, target, input: op.values(target, new Choices(c.variant), pool), publicView: op.publicView, count: op.count, op };
    });
    jobs.push(() => send(principal, stack.platform.gatewayUrl, async () => bearer, cases, gatewayBuild(op)));
  }

  for (const sg of SUBGRAPH_NAMES) {
    // Entities and nullable root fields share a request; non-null root fields go in another (a refusal there nulls everything).
    const shared: Case[] = [];
    const nonNull: Case[] = [];
    for (const e of b.entities) {
      const op = ENTITY_OPERATIONS[e.op];
      if (op.subgraph !== sg) continue;
      const target = targetOf(op.targets, e.target);
      shared.push({ channel: `${sg} _entities`, operation: op.name, target, input: { __typename: op.typename, ...op.representation(target, new Choices(e.variant), pool) }, typename: op.typename });
    }
    for (const d of b.direct) {
      const op = rootOps[d.op];
      if (docs.directSubgraph(op) !== sg) continue;
      const target = targetOf(op.targets, d.target);
      const values = op.values(target, new Choices(d.variant), pool);
      const input = Object.fromEntries(Object.keys(op.args).map((k) => [k, values[k] ?? null]));
      (nonNullRoot.has(op.field) ? nonNull : shared).push({ channel: `${sg} direct`, operation: op.name, target, input, publicView: op.publicView, count: op.count, op });
    }
    for (const op of rootOps) {
      if (docs.directSubgraph(op) !== sg) continue;
      for (const input of op.sweep ?? []) {
        (nonNullRoot.has(op.field) ? nonNull : shared).push({ channel: `${sg} sweep`, operation: op.name, target: NO_TARGET, input, count: op.count, op });
      }
    }
    const url = stack.platform.subgraphUrls[sg];
    const headers = async () => ({ authorization: `Bearer ${await signer.tokenFor(principal, sg)}` });
    for (const cases of [shared, nonNull]) if (cases.length) jobs.push(() => send(principal, url, headers, cases, subgraphBuild(sg)));
  }

  await inParallel(jobs, CONCURRENCY);
  if (leaks.length) throw new Error(`${leaks.length} cross-tenant leak(s); first:\n${leaks[0]}`);
}

test(`no response carries data of a tenant the caller may not see (≥ ${MIN_CASES} generated cases)`, async () => {
  const started = Date.now();
  print(`BOLA property: seed ${SEED}, ${RUNS} runs (replay: BOLA_SEED=${SEED} npx jest test/bola/bola.test.ts); ${setupNote}; ${rootOps.length}/${ROOT_OPERATIONS.length} root entries served`);
  const property = fc.asyncProperty(batchArb(), runBatch);
  // Runs carry ~135 cases each; should a seed fall short of the minimum, more rounds follow (seed + round, as deterministic).
  for (let round = 0; round === 0 || (stats.cases < MIN_CASES && round < 4); round++) {
    const numRuns = PATH !== undefined ? 1 : round === 0 ? RUNS : Math.ceil((MIN_CASES - stats.cases) / 100) + 5;
    await fc.assert(property, { numRuns, seed: SEED + round, endOnFailure: true, ...(PATH !== undefined && round === 0 ? { path: PATH } : {}) });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  print(
    `BOLA property: ${stats.cases} cases (${Object.entries(stats.byChannel)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}) in ${stats.requests} requests (${stats.inferredRefusals} more slots of refused fields not sent), ${seconds} s; ${stats.foreignTargets} aimed at another tenant's records, ${stats.substantive} returned the caller's own records; error codes ${JSON.stringify(stats.errorCodes)}`,
  );
  if (process.env.BOLA_VERBOSE) {
    print(
      Object.entries(stats.byOperation)
        .sort()
        .map(([k, [n, sub]]) => `${k}: ${n} cases, ${sub} with the caller's own records`)
        .join('\n'),
    );
  }
  expect(leaks).toEqual([]);
  expect(stats.cases).toBeGreaterThanOrEqual(MIN_CASES);
  if (PATH === undefined) {
    // Not vacuous: a good share of cases attacked another tenant, and plenty came back with real data of the caller's own.
    expect(stats.foreignTargets).toBeGreaterThanOrEqual(stats.cases / 5);
    expect(stats.substantive).toBeGreaterThanOrEqual(stats.cases / 20);
  }
}, 120_000);
