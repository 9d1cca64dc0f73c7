/**
 * The BOLA catalogue (operations.ts) cannot rot silently: every root Query
 * field of the supergraph and of each subgraph SDL has an entry, every
 * entity type of every subgraph has an `_entities` entry, every entry still
 * validates against the schema it is sent to, and the anonymous tracking
 * view holds no identifiers or personal data by schema.
 */
import { type GraphQLNamedType, type GraphQLSchema, Kind, getNamedType, isNonNullType, isObjectType, parse, validate } from 'graphql';
import { OBJECT_POLICIES } from '../../lib/policy/policies';
import { SUBGRAPH_NAMES, type PolicyName } from '../../schema';
import { Documents, entityTypes, publicRootFields } from './documents';
import { ENTITY_OPERATIONS, ROOT_OPERATIONS } from './operations';

const docs = new Documents();
const covered = new Set(ROOT_OPERATIONS.map((o) => o.field));

const errorsOf = (schema: GraphQLSchema, query: string) => validate(schema, parse(query)).map((e) => e.message);

test('every root Query field of the supergraph has an entry in the catalogue', () => {
  expect(publicRootFields(docs.supergraph).filter((f) => !covered.has(f))).toEqual([]);
});

test('every root Query field of each subgraph SDL has an entry (even before the supergraph is recomposed)', () => {
  const missing = SUBGRAPH_NAMES.flatMap((name) =>
    Object.keys(docs.subgraphs[name].getQueryType()!.getFields())
      .filter((f) => !f.startsWith('_') && !covered.has(f))
      .map((f) => `${name}: Query.${f}`),
  );
  expect(missing).toEqual([]);
});

test('no entry names a root field the supergraph no longer serves', () => {
  const served = new Set(publicRootFields(docs.supergraph));
  expect(ROOT_OPERATIONS.filter((o) => !served.has(o.field)).map((o) => `${o.name} (Query.${o.field})`)).toEqual([]);
});

test('every entity type of every subgraph has an _entities entry, and every entry is an entity there', () => {
  const have = new Set(ENTITY_OPERATIONS.map((o) => `${o.subgraph}:${o.typename}`));
  const want = new Set(SUBGRAPH_NAMES.flatMap((name) => entityTypes(docs.subgraphs[name]).map((t) => `${name}:${t}`)));
  expect([...want].filter((k) => !have.has(k))).toEqual([]);
  expect([...have].filter((k) => !want.has(k))).toEqual([]);
});

test('every list and every argument-less root field is swept (read plainly by every principal of the run)', () => {
  const unswept = ROOT_OPERATIONS.filter((o) => (o.targetless || (o.count && o.direct)) && !o.sweep).map((o) => o.name);
  expect(unswept).toEqual([]);
  for (const o of ROOT_OPERATIONS.filter((x) => x.sweep)) for (const args of o.sweep!) expect({ [o.name]: Object.keys(args).sort() }).toEqual({ [o.name]: Object.keys(o.args).sort() });
});

test('no non-null root field has a policy that reads the object or the arguments (bola.test.ts skips slots of a field refused outright)', () => {
  const offending = SUBGRAPH_NAMES.flatMap((name) =>
    Object.values(docs.subgraphs[name].getQueryType()!.getFields())
      .filter((f) => !f.name.startsWith('_') && isNonNullType(f.type))
      .flatMap((f) =>
        (f.astNode?.directives ?? [])
          .filter((d) => d.name.value === 'policy')
          .map((d) => d.arguments?.find((a) => a.name.value === 'name')?.value)
          .filter((v) => v?.kind === Kind.STRING && OBJECT_POLICIES.has(v.value as PolicyName))
          .map((v) => `${name}: Query.${f.name} @policy(name: ${v!.kind === Kind.STRING ? v!.value : ''})`),
      ),
  );
  expect(offending).toEqual([]);
});

test('entry names are unique', () => {
  const names = [...ROOT_OPERATIONS, ...ENTITY_OPERATIONS].map((o) => o.name);
  expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
});

describe('every document the property test sends validates', () => {
  const served = new Set(publicRootFields(docs.supergraph));
  test.each(ROOT_OPERATIONS.filter((o) => served.has(o.field)).map((o) => [o.name, o] as const))('gateway: %s', (_name, op) => {
    expect(errorsOf(docs.supergraph, docs.gateway(op, 3))).toEqual([]);
  });

  test.each(ROOT_OPERATIONS.filter((o) => o.direct && served.has(o.field)).map((o) => [o.name, o] as const))('direct to its subgraph: %s', (_name, op) => {
    const name = docs.directSubgraph(op);
    expect(errorsOf(docs.subgraphs[name], docs.subgraph(name, { typenames: [], direct: [op, op] }))).toEqual([]);
  });

  test.each(SUBGRAPH_NAMES.map((n) => [n] as const))('_entities of every entity type of %s', (name) => {
    expect(errorsOf(docs.subgraphs[name], docs.subgraph(name, { typenames: entityTypes(docs.subgraphs[name]), direct: [] }))).toEqual([]);
  });

  test('every id-taking root field is probed directly past the gateway too', () => {
    const idFields = Object.values(docs.supergraph.getQueryType()!.getFields())
      .filter((f) => served.has(f.name) && f.args.some((a) => getNamedType(a.type).name === 'ID'))
      .map((f) => f.name);
    const direct = new Set(ROOT_OPERATIONS.filter((o) => o.direct).map((o) => o.field));
    expect(idFields.filter((f) => !direct.has(f))).toEqual([]);
  });
});

test('the anonymous public tracking view has no ID field and no @pii field anywhere below it (shipment subgraph)', () => {
  const schema = docs.subgraphs.shipment;
  const root = getNamedType(schema.getQueryType()!.getFields().trackShipment.type);
  const offending: string[] = [];
  const seen = new Set<string>();
  const walk = (type: GraphQLNamedType) => {
    if (!isObjectType(type) || seen.has(type.name)) return;
    seen.add(type.name);
    for (const f of Object.values(type.getFields())) {
      const named = getNamedType(f.type);
      if (named.name === 'ID') offending.push(`${type.name}.${f.name}: ID`);
      if (f.astNode?.directives?.some((d) => d.name.value === 'pii')) offending.push(`${type.name}.${f.name}: @pii`);
      walk(named);
    }
  };
  walk(root);
  expect(seen.size).toBeGreaterThan(1);
  expect(offending).toEqual([]);
});
