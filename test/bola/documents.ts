/**
 * Turns catalogue entries (operations.ts) into GraphQL documents: one
 * gateway operation per (entry, number of slots) with one aliased field per
 * case and variables for every argument, so each shape is planned once and
 * then served from the gateway's plan cache; and one document per subgraph
 * request with `_entities` (every field of each entity type, generated from
 * the subgraph schema) plus aliased root fields (every field of the result).
 * Every selection set also selects `__typename`, which the oracle reads.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  Kind,
  buildSchema,
  getNamedType,
  isLeafType,
  isNonNullType,
  isObjectType,
  parse,
  print,
  visit,
} from 'graphql';
import { SUBGRAPH_NAMES, loadSubgraphTypeDefs, loadSupergraphSdl, type SubgraphName } from '../../schema';
import type { EntityOperation, RootOperation } from './operations';

/** The supergraph as the gateway's clients see it (join directives and all; `@inaccessible` elements are filtered by callers). */
export function supergraphSchema(): GraphQLSchema {
  return buildSchema(loadSupergraphSdl(), { assumeValidSDL: true });
}

/** A subgraph's schema as its server builds it: with `_entities` and `_service`. */
export function subgraphSchema(name: SubgraphName): GraphQLSchema {
  return buildSubgraphSchema({ typeDefs: loadSubgraphTypeDefs(name) });
}

/** Root Query fields of the supergraph that clients can reach (not `@inaccessible`, not federation plumbing). */
export function publicRootFields(schema: GraphQLSchema): string[] {
  return Object.values(schema.getQueryType()!.getFields())
    .filter((f) => !f.name.startsWith('_') && !f.astNode?.directives?.some((d) => d.name.value === 'inaccessible'))
    .map((f) => f.name);
}

/** The subgraph whose Query type declares `field`. */
export function subgraphOfRootField(schemas: Record<SubgraphName, GraphQLSchema>, field: string): SubgraphName | undefined {
  return SUBGRAPH_NAMES.find((n) => field in schemas[n].getQueryType()!.getFields());
}

/** Entity types a subgraph resolves through `_entities` (members of its `_Entity` union). */
export function entityTypes(schema: GraphQLSchema): string[] {
  const union = schema.getType('_Entity');
  return union && 'getTypes' in union ? (union as unknown as { getTypes(): GraphQLObjectType[] }).getTypes().map((t) => t.name) : [];
}

const MAX_DEPTH = 5;

/**
 * A selection of every field of `type` reachable without required
 * arguments, nested object types included (to depth 5, no type twice on a
 * path), lists asked for their first 2 items.
 */
export function fullSelection(type: GraphQLNamedType, depth = 0, onPath: ReadonlySet<string> = new Set([type.name])): string {
  if (!isObjectType(type)) return '';
  const parts: string[] = ['__typename'];
  for (const f of Object.values(type.getFields())) {
    if (f.name.startsWith('_')) continue;
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const args = f.args.some((a) => a.name === 'first') ? '(first: 2)' : '';
    const named = getNamedType(f.type);
    if (isLeafType(named)) parts.push(f.name + args);
    else if (isObjectType(named) && depth < MAX_DEPTH && !onPath.has(named.name)) {
      const sub = fullSelection(named, depth + 1, new Set([...onPath, named.name]));
      if (sub) parts.push(`${f.name}${args} ${sub}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** Adds `__typename` to every field's selection set. */
function withTypenames(doc: DocumentNode): DocumentNode {
  return visit(doc, {
    Field: {
      leave(node) {
        if (!node.selectionSet || node.selectionSet.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)) return undefined;
        return {
          ...node,
          selectionSet: { ...node.selectionSet, selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }, ...node.selectionSet.selections] },
        };
      },
    },
  });
}

/** `$name` → `$c3_name` for the names this slot declares. */
function scopeVariables(text: string, prefix: string, names: readonly string[]): string {
  return text.replace(/\$([A-Za-z_]\w*)/g, (whole, name: string) => (names.includes(name) ? `$${prefix}_${name}` : whole));
}

/** One slot of a root operation: variable definitions, the aliased field, and the variable values it needs. */
function rootSlot(op: RootOperation, alias: string, selection: string, withSelectionArgs: boolean): { defs: string[]; field: string; names: string[] } {
  const own = Object.entries(op.args);
  const extra = withSelectionArgs ? Object.entries(op.selectionArgs ?? {}) : [];
  const defs = [...own, ...extra].map(([name, type]) => `$${alias}_${name}: ${type}`);
  const args = own.length ? `(${own.map(([name]) => `${name}: $${alias}_${name}`).join(', ')})` : '';
  const names = [...own, ...extra].map(([name]) => name);
  return { defs, field: `${alias}: ${op.field}${args} ${scopeVariables(selection, alias, extra.map(([n]) => n))}`, names };
}

/** Variables of one slot, from the case's values. */
export function slotVariables(op: RootOperation, alias: string, values: Record<string, unknown>, withSelectionArgs: boolean): Record<string, unknown> {
  const names = [...Object.keys(op.args), ...(withSelectionArgs ? Object.keys(op.selectionArgs ?? {}) : [])];
  return Object.fromEntries(names.map((n) => [`${alias}_${n}`, values[n] ?? null]));
}

export interface SubgraphRequestShape {
  /** Entity types present among the representations (fragments for these only). */
  typenames: readonly string[];
  /** Root operations sent directly, in slot order (`d0`, `d1`, …). */
  direct: readonly RootOperation[];
}

/** Builds and caches the documents of a run. */
export class Documents {
  readonly supergraph: GraphQLSchema;
  readonly subgraphs: Record<SubgraphName, GraphQLSchema>;
  private readonly cache = new Map<string, string>();

  constructor() {
    this.supergraph = supergraphSchema();
    this.subgraphs = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, subgraphSchema(n)])) as Record<SubgraphName, GraphQLSchema>;
  }

  private memo(key: string, build: () => string): string {
    let text = this.cache.get(key);
    if (text === undefined) {
      text = print(withTypenames(parse(build())));
      this.cache.set(key, text);
    }
    return text;
  }

  /** The gateway operation with `slots` aliased copies (`c0` …) of `op`. */
  gateway(op: RootOperation, slots: number): string {
    return this.memo(`gw:${op.name}:${slots}`, () => {
      const parts = Array.from({ length: slots }, (_, i) => rootSlot(op, `c${i}`, op.selection, true));
      const defs = parts.flatMap((p) => p.defs);
      return `query Bola_${op.name.replace(/\W/g, '_')}${defs.length ? `(${defs.join(', ')})` : ''} { ${parts.map((p) => p.field).join('\n')} }`;
    });
  }

  /** Which subgraph a direct root operation goes to. */
  directSubgraph(op: RootOperation): SubgraphName {
    const name = subgraphOfRootField(this.subgraphs, op.field);
    if (!name) throw new Error(`no subgraph declares Query.${op.field}`);
    return name;
  }

  /** Every field of the root field's result, in its own subgraph. */
  directSelection(op: RootOperation): string {
    const schema = this.subgraphs[this.directSubgraph(op)];
    return fullSelection(getNamedType(schema.getQueryType()!.getFields()[op.field].type));
  }

  /** Every field of `typename` in subgraph `name`. */
  entitySelection(name: SubgraphName, typename: string): string {
    const type = this.subgraphs[name].getType(typename);
    if (!type) throw new Error(`subgraph ${name} has no type ${typename}`);
    return fullSelection(type);
  }

  /**
   * One request to subgraph `name`: one `_entities` field per entity type
   * present (aliased `e_<Type>`, representations in `$r_<Type>`: types
   * sharing a field name with different nullability cannot share one
   * selection), and the direct root slots `d0` ….
   */
  subgraph(name: SubgraphName, shape: SubgraphRequestShape): string {
    const key = `sg:${name}:${shape.typenames.join(',')}:${shape.direct.map((o) => o.name).join(',')}`;
    return this.memo(key, () => {
      const defs: string[] = [];
      const fields: string[] = [];
      for (const t of shape.typenames) {
        defs.push(`$r_${t}: [_Any!]!`);
        fields.push(`e_${t}: _entities(representations: $r_${t}) { ... on ${t} ${this.entitySelection(name, t)} }`);
      }
      shape.direct.forEach((op, i) => {
        const slot = rootSlot(op, `d${i}`, this.directSelection(op), false);
        defs.push(...slot.defs);
        fields.push(slot.field);
      });
      return `query Bola_${name}${defs.length ? `(${defs.join(', ')})` : ''} { ${fields.join('\n')} }`;
    });
  }

  /** Entity operations by subgraph and type name. */
  static index(ops: readonly EntityOperation[]): Map<string, EntityOperation> {
    return new Map(ops.map((o) => [`${o.subgraph}:${o.typename}`, o]));
  }
}
