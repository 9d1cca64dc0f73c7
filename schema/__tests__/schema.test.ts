import { ApolloGateway } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  type GraphQLField,
  type GraphQLNamedType,
  GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  Kind,
  type ObjectTypeDefinitionNode,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isSpecifiedScalarType,
  parse,
} from 'graphql';
import {
  type Guard,
  POLICIES,
  SCOPES,
  SUBGRAPH_NAMES,
  type SubgraphName,
  composeSupergraph,
  isPolicyName,
  isScopeName,
  loadSubgraphSdl,
  loadSubgraphTypeDefs,
  loadSupergraphSdl,
  readGuard,
  readPiiClass,
  renderSupergraphFile,
} from '..';

const OUR_DIRECTIVES = new Set(['auth', 'scope', 'policy', 'public', 'pii']);
const FEDERATION_TYPE = /^(_Any|_Service|_Entity|link__|federation__|join__)/;
const FEDERATION_FIELDS = new Set(['_service', '_entities']);
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

// Names that look personal but are not: each with the reason.
const NOT_PERSONAL: Readonly<Record<string, string>> = {
  'Tenant.name': "an organisation's name",
  'CreateTenantInput.name': "an organisation's name",
  'ApiClient.name': "a partner integration's label",
};
const PERSONAL_NAME = /name|e-?mail|phone|address|line\d|notes|geo|coordinate|signature|photo|birth|postal/i;

interface Subgraph {
  readonly name: SubgraphName;
  readonly schema: GraphQLSchema;
}

const subgraphs: readonly Subgraph[] = SUBGRAPH_NAMES.map((name) => ({
  name,
  schema: buildSubgraphSchema(loadSubgraphTypeDefs(name)),
}));

function ownTypes(schema: GraphQLSchema): GraphQLNamedType[] {
  return Object.values(schema.getTypeMap()).filter(
    (type) => !isIntrospectionType(type) && !isSpecifiedScalarType(type) && !FEDERATION_TYPE.test(type.name),
  );
}

function ownObjectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return ownTypes(schema).filter(isObjectType);
}

function ownFields(type: GraphQLObjectType): GraphQLField<unknown, unknown>[] {
  return Object.values(type.getFields()).filter((field) => !FEDERATION_FIELDS.has(field.name));
}

function isEntity(type: GraphQLObjectType): boolean {
  return type.astNode?.directives?.some((d) => d.name.value === 'key') ?? false;
}

function guardOf(node: { readonly astNode?: unknown } | undefined): Guard | undefined {
  return readGuard(node?.astNode as ObjectTypeDefinitionNode | undefined);
}

function piiOf(node: { readonly astNode?: unknown }): string | undefined {
  return readPiiClass(node.astNode as ObjectTypeDefinitionNode | undefined);
}

/** Every guard in every subgraph, with where it sits. */
function allGuards(): { where: string; guard: Guard }[] {
  const found: { where: string; guard: Guard }[] = [];
  for (const { name, schema } of subgraphs) {
    for (const type of ownObjectTypes(schema)) {
      const typeGuard = guardOf(type);
      if (typeGuard) found.push({ where: `${name}: ${type.name}`, guard: typeGuard });
      for (const field of ownFields(type)) {
        const fieldGuard = guardOf(field);
        if (fieldGuard) found.push({ where: `${name}: ${type.name}.${field.name}`, guard: fieldGuard });
      }
    }
  }
  return found;
}

// A refusal of a non-null value nulls its parent; through lists only when
// every level is non-null.
function refusalReachesParent(type: GraphQLOutputType): boolean {
  if (!isNonNullType(type)) return false;
  return isListType(type.ofType) ? refusalReachesParent(type.ofType.ofType) : true;
}

function intersect(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  if (!a) return b && [...b];
  if (!b) return [...a];
  return a.filter((role) => b.includes(role));
}

describe('schema/', () => {
  describe('composition', () => {
    it('composes the four subgraphs without errors', () => {
      const { supergraphSdl } = composeSupergraph();
      for (const name of SUBGRAPH_NAMES) {
        expect(supergraphSdl).toContain(`name: "${name}", url: "http://localhost:`);
      }
    });

    it('keeps the checked-in supergraph.graphql in step with the subgraph files (run `npm run compose`)', () => {
      expect(loadSupergraphSdl()).toBe(renderSupergraphFile(composeSupergraph().supergraphSdl));
    });

    it('uses the given routing URLs', () => {
      const { supergraphSdl } = composeSupergraph({ device: 'http://device:4002/graphql' });
      expect(supergraphSdl).toContain('name: "device", url: "http://device:4002/graphql"');
    });

    it('loads the checked-in supergraph in @apollo/gateway, without the internal PiiClass', async () => {
      const gateway = new ApolloGateway({ supergraphSdl: loadSupergraphSdl() });
      try {
        const { schema } = await gateway.load();
        expect(schema.getType('Shipment')).toBeDefined();
        expect(schema.getType('Role')).toBeDefined();
        expect(schema.getType('PiiClass')).toBeUndefined();
      } finally {
        await gateway.stop();
      }
    });

    it('mirrors every guard into @authenticated / @requiresScopes in the Router-grade variant', () => {
      const { supergraphSdl } = composeSupergraph({}, { federationAuth: true });
      const types = new Map<string, ObjectTypeDefinitionNode>();
      for (const definition of parse(supergraphSdl).definitions) {
        if (definition.kind === Kind.OBJECT_TYPE_DEFINITION) types.set(definition.name.value, definition);
      }
      const names = (node: { readonly directives?: readonly { name: { value: string } }[] } | undefined) =>
        (node?.directives ?? []).map((d) => d.name.value);
      const missing: string[] = [];
      for (const { name, schema } of subgraphs) {
        for (const type of ownObjectTypes(schema)) {
          const merged = types.get(type.name);
          const typeGuard = guardOf(type);
          if (typeGuard && !typeGuard.isPublic && !names(merged).includes('authenticated')) {
            missing.push(`${name}: ${type.name}`);
          }
          for (const field of ownFields(type)) {
            const guard = guardOf(field);
            if (!guard || guard.isPublic) continue;
            const mergedField = merged?.fields?.find((f) => f.name.value === field.name);
            const expected = guard.scopes ? ['authenticated', 'requiresScopes'] : ['authenticated'];
            for (const directive of expected) {
              if (!names(mergedField).includes(directive)) missing.push(`${name}: ${type.name}.${field.name} @${directive}`);
            }
          }
        }
      }
      expect(missing).toEqual([]);
      expect(supergraphSdl).toContain('@requiresScopes(scopes: [["shipments:read"]])');
    });
  });

  describe('descriptions (frontend teams read them in Sandbox)', () => {
    it.each(SUBGRAPH_NAMES)('describes every type, field, argument, enum value and input field of %s', (name) => {
      const { schema } = subgraphs.find((s) => s.name === name)!;
      const missing: string[] = [];
      const need = (where: string, description: string | null | undefined) => {
        if (!description?.trim()) missing.push(where);
      };
      for (const type of ownTypes(schema)) {
        need(type.name, type.description);
        if (isObjectType(type)) {
          for (const field of ownFields(type)) {
            need(`${type.name}.${field.name}`, field.description);
            for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name}:)`, arg.description);
          }
        } else if (isInputObjectType(type)) {
          for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
        } else if (isEnumType(type)) {
          for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
        }
      }
      for (const directive of schema.getDirectives().filter((d) => OUR_DIRECTIVES.has(d.name))) {
        need(`@${directive.name}`, directive.description);
        for (const arg of directive.args) need(`@${directive.name}(${arg.name}:)`, arg.description);
      }
      expect(missing).toEqual([]);
    });
  });

  describe('security directives', () => {
    it('guards every root field itself', () => {
      const unguarded = subgraphs.flatMap(({ name, schema }) =>
        ownObjectTypes(schema)
          .filter((type) => ROOT_TYPES.has(type.name))
          .flatMap((type) => ownFields(type).filter((field) => !guardOf(field)).map((f) => `${name}: ${type.name}.${f.name}`)),
      );
      expect(unguarded).toEqual([]);
    });

    it('guards every entity type (reachable through _entities) with roles and a policy', () => {
      const weak = subgraphs.flatMap(({ name, schema }) =>
        ownObjectTypes(schema)
          .filter(isEntity)
          .filter((type) => {
            const guard = guardOf(type);
            return !guard?.roles?.length || guard.policies.length === 0 || guard.isPublic;
          })
          .map((type) => `${name}: ${type.name}`),
      );
      expect(weak).toEqual([]);
    });

    it('guards an entity identically in every subgraph that defines it', () => {
      const byEntity = new Map<string, Map<string, string>>();
      for (const { name, schema } of subgraphs) {
        for (const type of ownObjectTypes(schema).filter(isEntity)) {
          const guard = guardOf(type);
          const normalised = JSON.stringify({
            roles: [...(guard?.roles ?? [])].sort(),
            scopes: [...(guard?.scopes ?? [])].sort(),
            policies: [...(guard?.policies ?? [])].sort(),
          });
          byEntity.set(type.name, (byEntity.get(type.name) ?? new Map()).set(name, normalised));
        }
      }
      const inconsistent = [...byEntity].filter(([, guards]) => new Set(guards.values()).size > 1).map(([type]) => type);
      expect(inconsistent).toEqual([]);
      expect([...(byEntity.get('Shipment')?.keys() ?? [])].sort()).toEqual(['device', 'identity', 'privacy', 'shipment']);
    });

    it('puts @public only on root fields, never together with another guard', () => {
      const misplaced = allGuards()
        .filter(({ guard }) => guard.isPublic)
        .filter(({ where, guard }) => {
          const [, coordinate = ''] = where.split(': ');
          const [typeName, fieldName] = coordinate.split('.');
          const combined = guard.roles !== undefined || guard.scopes !== undefined || guard.policies.length > 0;
          return combined || !fieldName || !ROOT_TYPES.has(typeName ?? '');
        })
        .map(({ where }) => where);
      expect(misplaced).toEqual([]);
    });

    it('lets no personal data and no entity be reached from a public field', () => {
      const leaks: string[] = [];
      let publicFields = 0;
      for (const { name, schema } of subgraphs) {
        const publicRoots = ownObjectTypes(schema)
          .filter((type) => ROOT_TYPES.has(type.name))
          .flatMap((type) => ownFields(type).filter((field) => guardOf(field)?.isPublic));
        const seen = new Set<string>();
        const walk = (type: GraphQLNamedType, path: string) => {
          if (!isObjectType(type) || seen.has(type.name)) return;
          seen.add(type.name);
          if (isEntity(type)) leaks.push(`${name}: ${path} reaches entity ${type.name}`);
          for (const field of ownFields(type)) {
            if (piiOf(field)) leaks.push(`${name}: ${path} reaches @pii ${type.name}.${field.name}`);
            walk(getNamedType(field.type), `${path}.${field.name}`);
          }
        };
        for (const field of publicRoots) walk(getNamedType(field.type), field.name);
        publicFields += publicRoots.length;
      }
      expect(leaks).toEqual([]);
      expect(publicFields).toBeGreaterThan(0);
    });

    it('puts a tenancy @policy on every type exposing a tenantId', () => {
      const untenanted = subgraphs.flatMap(({ name, schema }) =>
        ownObjectTypes(schema)
          .filter((type) => 'tenantId' in type.getFields())
          .filter((type) => !guardOf(type)?.policies.some((p) => p === 'sameTenant' || p === 'tenantOrPartner'))
          .map((type) => `${name}: ${type.name}`),
      );
      expect(untenanted).toEqual([]);
    });

    it('makes every non-root field with its own guard nullable, so a refusal nulls only that field', () => {
      const nonNull = subgraphs.flatMap(({ name, schema }) =>
        ownObjectTypes(schema)
          .filter((type) => !ROOT_TYPES.has(type.name))
          .flatMap((type) =>
            ownFields(type)
              .filter((field) => guardOf(field) && isNonNullType(field.type))
              .map((field) => `${name}: ${type.name}.${field.name}`),
          ),
      );
      expect(nonNull).toEqual([]);
    });

    it('never leads a non-null field to a type that admits fewer roles than can reach it', () => {
      const problems: string[] = [];
      for (const { name, schema } of subgraphs) {
        const seen = new Set<string>();
        const visit = (type: GraphQLObjectType, roles: string[] | undefined, path: string) => {
          const key = `${type.name}:${roles?.slice().sort().join(',') ?? '*'}`;
          if (seen.has(key)) return;
          seen.add(key);
          for (const field of ownFields(type)) {
            const fieldRoles = intersect(roles, guardOf(field)?.roles);
            const target = getNamedType(field.type);
            if (!isObjectType(target)) continue;
            const targetRoles = guardOf(target)?.roles;
            if (targetRoles && refusalReachesParent(field.type)) {
              const refused = fieldRoles ? fieldRoles.filter((role) => !targetRoles.includes(role)) : ['(anyone)'];
              if (refused.length > 0) {
                problems.push(`${name}: ${path}.${field.name} -> ${target.name} refuses ${refused.join(', ')}`);
              }
            }
            visit(target, intersect(fieldRoles, targetRoles), `${path}.${field.name}`);
          }
        };
        for (const type of ownObjectTypes(schema)) {
          if (ROOT_TYPES.has(type.name)) visit(type, undefined, type.name);
          else if (isEntity(type)) visit(type, guardOf(type)?.roles && [...guardOf(type)!.roles!], type.name);
        }
      }
      expect(problems).toEqual([]);
    });

    it('uses only known policy names and scopes, and every known one', () => {
      const guards = allGuards().map(({ guard }) => guard);
      const policies = new Set(guards.flatMap((g) => g.policies));
      const scopes = new Set(guards.flatMap((g) => g.scopes ?? []));
      expect([...policies].filter((p) => !isPolicyName(p))).toEqual([]);
      expect([...scopes].filter((s) => !isScopeName(s))).toEqual([]);
      expect(Object.keys(POLICIES).filter((p) => !policies.has(p))).toEqual([]);
      expect(SCOPES.filter((s) => !scopes.has(s))).toEqual([]);
    });
  });

  describe('personal data', () => {
    it('marks every personal-looking field, argument and input field with @pii', () => {
      const unmarked: string[] = [];
      const check = (coordinate: string, name: string, node: { readonly astNode?: unknown }) => {
        if (PERSONAL_NAME.test(name) && !piiOf(node) && !(coordinate in NOT_PERSONAL)) unmarked.push(coordinate);
      };
      for (const { schema } of subgraphs) {
        for (const type of ownTypes(schema)) {
          if (isObjectType(type)) {
            for (const field of ownFields(type)) {
              check(`${type.name}.${field.name}`, field.name, field);
              for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name}:)`, arg.name, arg);
            }
          } else if (isInputObjectType(type)) {
            for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.name, field);
          }
        }
      }
      expect(unmarked).toEqual([]);
    });

    it('classifies signatures, photos and coordinates as SENSITIVE', () => {
      const shipment = subgraphs.find((s) => s.name === 'shipment')!.schema;
      const pod = shipment.getType('ProofOfDelivery') as GraphQLObjectType;
      const event = shipment.getType('TrackingEvent') as GraphQLObjectType;
      expect(['signatureRef', 'photoRefs', 'geo'].map((f) => piiOf(pod.getFields()[f]!))).toEqual([
        'SENSITIVE',
        'SENSITIVE',
        'SENSITIVE',
      ]);
      expect(piiOf(event.getFields()['coordinates']!)).toBe('SENSITIVE');
      expect(piiOf(pod.getFields()['signerName']!)).toBe('PII');
    });
  });

  describe('loading', () => {
    it('prepends the shared directives to each subgraph and caches the result', () => {
      const sdl = loadSubgraphSdl('device');
      expect(sdl).toContain('directive @auth(');
      expect(sdl).toContain('enum Role');
      expect(sdl).toContain('type Device @key(fields: "id")');
      expect(loadSubgraphSdl('device')).toBe(sdl);
    });

    it('serves plain SDL: Federation auth directives appear only in the Router-grade variant', () => {
      // The only mention is the @link import.
      expect(loadSubgraphSdl('shipment').match(/@authenticated/g)).toHaveLength(1);
      const mirrored = loadSubgraphTypeDefs('shipment', { federationAuth: true });
      expect(JSON.stringify(mirrored)).toContain('"value":"authenticated"');
    });

    it('refuses an unknown subgraph', () => {
      expect(() => loadSubgraphSdl('billing' as SubgraphName)).toThrow('Unknown subgraph "billing"');
    });
  });
});
