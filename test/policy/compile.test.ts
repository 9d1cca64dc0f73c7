/**
 * The rules compiled from the directives, on a small fixture subgraph and on
 * the four real ones: who gets in, which code a refusal carries, and the
 * boot-time coverage check.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type DocumentNode, type GraphQLSchema, Kind, graphql, parse } from 'graphql';
import type { Principal, TenantPrincipal } from '../../lib/context';
import { NotFoundError } from '../../lib/errors';
import { RuleCoverageError, applyRules, checkCoverage, compileRules } from '../../lib/policy/compile';
import { GuardDefinitionError } from '../../lib/policy/guards';
import { SUBGRAPH_NAMES, loadSubgraphTypeDefs, readSchemaFile } from '../../schema';

const NOW = new Date('2025-03-10T09:30:00.000Z');
const nowSeconds = NOW.getTime() / 1000;

/** The shared directives followed by `sdl`, as the real subgraphs are loaded. */
function fixture(sdl: string): DocumentNode {
  const definitions = [readSchemaFile('directives.graphql'), sdl].flatMap((text) => parse(text, { noLocation: true }).definitions);
  return { kind: Kind.DOCUMENT, definitions };
}

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])`;

const WIDGETS = fixture(/* GraphQL */ `
  ${LINK}
  type Widget @key(fields: "id") @auth(requires: [TENANT_ADMIN, DRIVER]) @policy(name: "sameTenant") {
    id: ID!
    tenantId: ID!
    name: String
    secret: String @auth(requires: [TENANT_ADMIN]) @scope(any: ["shipments:read"])
    box: Box
    missing: String
    crash: String
  }
  type Box {
    label: String
    restricted: String @auth(requires: [TENANT_ADMIN])
  }
  type Query {
    widget(id: ID!): Widget @auth(requires: [TENANT_ADMIN, DRIVER]) @scope(any: ["shipments:read"])
    ping: String @public
  }
  type Mutation {
    rotate: Boolean @auth(requires: [TENANT_ADMIN, SECURITY_ADMIN]) @scope(any: ["shipments:write"]) @policy(name: "recentMfa")
    scan: Boolean @auth(requires: [DRIVER, DISPATCHER]) @policy(name: "driverOnShift")
    createTenant: Boolean @auth(requires: [SECURITY_ADMIN]) @policy(name: "platformOperator")
  }
`);

const widgets: Record<string, { id: string; tenantId: string; name: string }> = {
  w1: { id: 'w1', tenantId: 'tA', name: 'one' },
  w2: { id: 'w2', tenantId: 'tB', name: 'two' },
};

function widgetSchema(options: Parameters<typeof applyRules>[2] = {}): GraphQLSchema {
  const resolvers = {
    Query: { widget: (_: unknown, { id }: { id: string }) => widgets[id] ?? null, ping: () => 'pong' },
    Mutation: { rotate: () => true, scan: () => true, createTenant: () => true },
    Widget: {
      __resolveReference: (ref: { id: string }) => widgets[ref.id] ?? null,
      secret: () => 's3cret',
      box: () => ({ label: 'L', restricted: 'R' }),
      missing: () => {
        throw new NotFoundError('Gadget');
      },
      crash: () => {
        throw new Error('database on fire');
      },
    },
  };
  return applyRules(buildSubgraphSchema({ typeDefs: WIDGETS, resolvers: resolvers as never }), WIDGETS, { now: () => NOW, ...options });
}

const user = (over: Partial<TenantPrincipal> = {}): TenantPrincipal => ({
  kind: 'user',
  id: 'u-1',
  tenantId: 'tA',
  roles: ['TENANT_ADMIN'],
  scopes: ['shipments:read', 'shipments:write'],
  ...over,
});
const anonymous: Principal = { kind: 'anonymous' };
const system: Principal = { kind: 'system', id: 'test' };

async function run(schema: GraphQLSchema, source: string, principal: Principal, variableValues?: Record<string, unknown>) {
  const result = await graphql({ schema, source, contextValue: { principal }, variableValues });
  const errors = (result.errors ?? []).map((e) => ({ path: e.path?.join('.'), code: e.extensions?.code, message: e.message }));
  return { data: result.data as Record<string, any> | null | undefined, errors, codes: errors.map((e) => e.code) };
}

describe('compiled rules', () => {
  const schema = widgetSchema();

  describe('allowed', () => {
    it('lets a caller with the role, the scope and the tenant read the object and its contained values', async () => {
      const r = await run(schema, `{ widget(id: "w1") { id name secret box { label restricted } } }`, user());
      expect(r.errors).toEqual([]);
      expect(r.data!.widget).toEqual({ id: 'w1', name: 'one', secret: 's3cret', box: { label: 'L', restricted: 'R' } });
    });

    it('lets anyone, anonymous included, call a @public field', async () => {
      expect((await run(schema, `{ ping }`, anonymous)).data).toEqual({ ping: 'pong' });
    });

    it('lets a system principal through every rule, policies included', async () => {
      const r = await run(schema, `{ widget(id: "w2") { id secret box { restricted } } } `, system);
      expect(r.errors).toEqual([]);
      const m = await run(schema, `mutation { rotate scan createTenant }`, system);
      expect(m.errors).toEqual([]);
      expect(m.data).toEqual({ rotate: true, scan: true, createTenant: true });
    });
  });

  describe('UNAUTHENTICATED', () => {
    it('refuses an anonymous caller on every guarded field', async () => {
      const r = await run(schema, `{ widget(id: "w1") { id } }`, anonymous);
      expect(r.codes).toEqual(['UNAUTHENTICATED']);
      expect(r.data).toEqual({ widget: null });
      expect((await run(schema, `mutation { rotate }`, anonymous)).codes).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('FORBIDDEN', () => {
    it('refuses a caller without any of the roles', async () => {
      const r = await run(schema, `{ widget(id: "w1") { id } }`, user({ roles: ['AUDITOR'] }));
      expect(r.errors).toEqual([{ path: 'widget', code: 'FORBIDDEN', message: 'Forbidden' }]);
    });

    it('refuses a caller without any of the scopes', async () => {
      const r = await run(schema, `{ widget(id: "w1") { id } }`, user({ scopes: ['devices:read'] }));
      expect(r.errors).toEqual([{ path: 'widget', code: 'FORBIDDEN', message: 'Forbidden' }]);
    });

    it('refuses another tenant’s object through its type guard, field by field', async () => {
      const r = await run(schema, `{ widget(id: "w2") { name } }`, user());
      expect(r.errors).toEqual([{ path: 'widget.name', code: 'FORBIDDEN', message: 'Forbidden' }]);
      expect(r.data).toEqual({ widget: { name: null } });
    });

    it('narrows with a field guard: a type-admitted DRIVER may not read the admin-only field', async () => {
      const r = await run(schema, `{ widget(id: "w1") { name secret box { label restricted } } }`, user({ roles: ['DRIVER'] }));
      expect(r.errors.map((e) => [e.path, e.code])).toEqual([
        ['widget.secret', 'FORBIDDEN'],
        ['widget.box.restricted', 'FORBIDDEN'],
      ]);
      expect(r.data!.widget).toEqual({ name: 'one', secret: null, box: { label: 'L', restricted: null } });
    });

    it('says the same thing whatever refused: no hint of the rule', async () => {
      const causes = await Promise.all([
        run(schema, `{ widget(id: "w1") { id } }`, user({ roles: ['AUDITOR'] })),
        run(schema, `{ widget(id: "w1") { id } }`, user({ scopes: [] })),
        run(schema, `{ widget(id: "w2") { name } }`, user()),
        run(schema, `mutation { createTenant }`, user({ roles: ['SECURITY_ADMIN'] })),
      ]);
      const shapes = causes.map((r) => JSON.stringify(r.errors.map(({ code, message }) => ({ code, message }))));
      expect(new Set(shapes)).toEqual(new Set([JSON.stringify([{ code: 'FORBIDDEN', message: 'Forbidden' }])]));
    });

    it('refuses platformOperator to everyone when no operator tenant is configured, and admits its people when one is', async () => {
      const admin = user({ roles: ['SECURITY_ADMIN'], tenantId: 'tOps' });
      expect((await run(schema, `mutation { createTenant }`, admin)).codes).toEqual(['FORBIDDEN']);
      expect((await run(widgetSchema({ operatorTenantId: 'tOps' }), `mutation { createTenant }`, admin)).codes).toEqual([]);
    });

    it('reads the injected clock for driverOnShift', async () => {
      const driver = user({ roles: ['DRIVER'], shift: { start: '08:00', end: '17:00', timeZone: 'Europe/Amsterdam' } });
      expect((await run(schema, `mutation { scan }`, driver)).codes).toEqual([]);
      const evening = widgetSchema({ now: () => new Date('2025-03-10T19:00:00Z') });
      expect((await run(evening, `mutation { scan }`, driver)).codes).toEqual(['FORBIDDEN']);
      // A dispatcher has no shift to keep.
      expect((await run(evening, `mutation { scan }`, user({ roles: ['DISPATCHER'] }))).codes).toEqual([]);
    });
  });

  describe('MFA_REQUIRED and STEP_UP_REQUIRED', () => {
    it('asks for MFA when the login had no second factor', async () => {
      const r = await run(schema, `mutation { rotate }`, user({ amr: ['pwd'], authTime: nowSeconds }));
      expect(r.codes).toEqual(['MFA_REQUIRED']);
    });

    it('asks for a step-up when the MFA login is older than the window', async () => {
      const r = await run(schema, `mutation { rotate }`, user({ amr: ['pwd', 'otp'], authTime: nowSeconds - 16 * 60 }));
      expect(r.codes).toEqual(['STEP_UP_REQUIRED']);
    });

    it('admits a recent MFA login, with a configurable window', async () => {
      const fresh = user({ amr: ['pwd', 'otp'], authTime: nowSeconds - 10 * 60 });
      expect((await run(schema, `mutation { rotate }`, fresh)).codes).toEqual([]);
      expect((await run(widgetSchema({ stepUpWindowSeconds: 300 }), `mutation { rotate }`, fresh)).codes).toEqual(['STEP_UP_REQUIRED']);
    });

    it('never tells a caller another check refuses that MFA would help', async () => {
      const noRole = user({ roles: ['AUDITOR'], amr: ['pwd'] });
      expect((await run(schema, `mutation { rotate }`, noRole)).codes).toEqual(['FORBIDDEN']);
      const noScope = user({ scopes: [], amr: ['pwd'] });
      expect((await run(schema, `mutation { rotate }`, noScope)).codes).toEqual(['FORBIDDEN']);
    });
  });

  describe('resolver errors (allowExternalErrors)', () => {
    it('keep their own code and message once the rules allowed the field', async () => {
      const r = await run(schema, `{ widget(id: "w1") { missing crash } }`, user());
      expect(r.errors).toEqual([
        { path: 'widget.missing', code: 'NOT_FOUND', message: 'Gadget not found' },
        { path: 'widget.crash', code: undefined, message: 'database on fire' },
      ]);
    });
  });

  describe('federation plumbing', () => {
    const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Widget { id name } } }`;

    it('serves _service to any caller that reached the subgraph', async () => {
      const r = await run(schema, `{ _service { sdl } }`, anonymous);
      expect(r.errors).toEqual([]);
      expect(r.data!._service.sdl).toContain('type Widget');
    });

    it('lets _entities through but holds each entity to its type guard', async () => {
      const reps = { r: [{ __typename: 'Widget', id: 'w1' }, { __typename: 'Widget', id: 'w2' }] };
      const r = await run(schema, ENTITIES, user(), reps);
      expect(r.data!._entities).toEqual([{ id: 'w1', name: 'one' }, null]);
      expect(r.codes).toEqual(['FORBIDDEN', 'FORBIDDEN']);
      const anon = await run(schema, ENTITIES, anonymous, reps);
      expect(anon.data!._entities).toEqual([null, null]);
      expect(new Set(anon.codes)).toEqual(new Set(['UNAUTHENTICATED']));
    });
  });

  describe('the rule map', () => {
    it('shares one rule per guard signature, named by it, cached per request unless it reads the object', () => {
      const map = compileRules(WIDGETS) as unknown as Record<string, Record<string, { name: string; cache: unknown }>>;
      expect(map.Widget.id).toBe(map.Widget.name);
      expect(map.Widget.id.name).toBe('auth(DRIVER,TENANT_ADMIN)+policy(sameTenant)');
      expect(map.Widget.id.cache).toBe('no_cache');
      expect(map.Mutation.rotate.name).toBe('auth(SECURITY_ADMIN,TENANT_ADMIN)+scope(shipments:write)+policy(recentMfa)');
      expect(map.Mutation.rotate.cache).toBe('contextual');
      expect(map.Query._service).toBe(map.Box.label);
      expect(map.Query._entities).toBe(map.Box.label);
      expect(map._Service.sdl).toBe(map.Box.label);
    });
  });
});

describe('coverage check', () => {
  const UNCOVERED = fixture(/* GraphQL */ `
    ${LINK}
    type Thing @key(fields: "id") @auth(requires: [TENANT_ADMIN]) @policy(name: "sameTenant") {
      id: ID!
      tenantId: ID!
    }
    type Gizmo @key(fields: "id") {
      id: ID!
      guarded: String @auth(requires: [TENANT_ADMIN])
    }
    type Report {
      total: Int
    }
    type Orphan {
      value: String
    }
    type Query {
      thing(id: ID!): Thing @auth(requires: [TENANT_ADMIN])
      report: Report
    }
  `);

  it('names every field without a rule: an unguarded root field, what only it reaches, an unguarded entity field, an unreachable type', () => {
    expect(checkCoverage(UNCOVERED)).toEqual(['Gizmo.id', 'Report.total', 'Orphan.value', 'Query.report']);
  });

  it('refuses to apply rules (the boot fails) and lists the fields', () => {
    const schema = buildSubgraphSchema({ typeDefs: UNCOVERED });
    expect(() => applyRules(schema, UNCOVERED)).toThrow(RuleCoverageError);
    expect(() => applyRules(schema, UNCOVERED)).toThrow(/Query\.report/);
    try {
      applyRules(schema, UNCOVERED);
    } catch (err) {
      expect((err as RuleCoverageError).uncovered).toEqual(['Gizmo.id', 'Report.total', 'Orphan.value', 'Query.report']);
    }
  });

  it('covers a contained value type reached through a guarded field, and passes the widgets fixture', () => {
    const fixed = fixture(/* GraphQL */ `
      ${LINK}
      type Report { total: Int }
      type Query { report: Report @auth(requires: [AUDITOR]) }
    `);
    expect(checkCoverage(fixed)).toEqual([]);
    expect(checkCoverage(WIDGETS)).toEqual([]);
  });

  it('fails on an unknown policy or scope and on a misplaced @public', () => {
    const bad = fixture(/* GraphQL */ `
      ${LINK}
      type Box @public { label: String }
      type Query {
        a: Box @policy(name: "sameTenantt")
        b: String @scope(any: ["shipment:read"])
        c: String @public @auth(requires: [AUDITOR])
      }
    `);
    expect(() => checkCoverage(bad)).toThrow(GuardDefinitionError);
    try {
      checkCoverage(bad);
    } catch (err) {
      expect((err as GuardDefinitionError).problems).toEqual([
        'Box: @public is allowed only on root fields',
        'Query.a: unknown policy "sameTenantt"',
        'Query.b: unknown scope "shipment:read"',
        'Query.c: @public cannot be combined with another guard',
      ]);
    }
  });

  it.each(SUBGRAPH_NAMES)('passes for the %s subgraph: every field has a rule', (name) => {
    const typeDefs = loadSubgraphTypeDefs(name);
    expect(checkCoverage(typeDefs)).toEqual([]);
    expect(() => applyRules(buildSubgraphSchema({ typeDefs }), typeDefs)).not.toThrow();
  });
});
