/**
 * Reads a subgraph's SDL and decides, for every field of every object type,
 * which guards apply to it — the rules of schema/README.md "Which fields
 * have a rule":
 *
 * - a root field needs its own guard (and its root type's, if any);
 * - a field of a type with a type guard gets that guard plus its own; for an
 *   entity (`@key`) the type guard is what protects `_entities`;
 * - a field of any other object type (a *contained value type*) is allowed
 *   once the path to it was allowed, provided the type is reachable through
 *   allowed fields; its own guard, if any, narrows further;
 * - `Query._service`, `Query._entities` and `_Service.sdl` are federation
 *   plumbing, allowed for whoever reached the subgraph.
 *
 * Everything else has no rule: `uncovered`. The rule compiler, the gateway
 * guard and the roles matrix all read guards through here.
 */
import {
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  Kind,
  type NamedTypeNode,
  type TypeNode,
} from 'graphql';
import { type Guard, isPolicyName, isScopeName, readGuard } from '../../schema';

/** How a field came by its rule. */
export type FieldRuleKind = 'root' | 'typeGuarded' | 'ownGuard' | 'contained' | 'plumbing' | 'uncovered';

export interface FieldGuards {
  /** `Type.field`. */
  readonly coordinate: string;
  readonly typeName: string;
  readonly fieldName: string;
  readonly kind: FieldRuleKind;
  /** Guards that must all pass, outermost first (type guard, then field guard). Empty: allowed. */
  readonly layers: readonly Guard[];
  /** Named type the field returns. */
  readonly returnType: string;
  /** `@external`: resolved by another subgraph. */
  readonly external: boolean;
}

export interface SchemaGuards {
  /** Every field of every object type, by `Type.field`, plumbing included. */
  readonly fields: ReadonlyMap<string, FieldGuards>;
  /** Type-level guards, by type name. */
  readonly typeGuards: ReadonlyMap<string, Guard>;
  /** Entity types (`@key`). */
  readonly entities: ReadonlySet<string>;
  /** Root operation types, by operation. */
  readonly rootTypes: Readonly<Partial<Record<'query' | 'mutation' | 'subscription', string>>>;
  /** `Type.field` of every field without any rule, in SDL order. */
  readonly uncovered: readonly string[];
}

/** Federation plumbing: allowed for any caller that reached the subgraph (the internal token decides who may). */
export const FEDERATION_PLUMBING: Readonly<Record<string, readonly string[]>> = {
  Query: ['_service', '_entities'],
  _Service: ['sdl'],
};

/** The SDL breaks a rule of the security directives: unknown policy or scope, misplaced @public. */
export class GuardDefinitionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid security directives:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'GuardDefinitionError';
  }
}

interface ObjectInfo {
  name: string;
  directives: ConstDirectiveNode[];
  fields: FieldDefinitionNode[];
  interfaces: string[];
}

/** Reads every guard of `typeDefs`. Throws {@link GuardDefinitionError} on an invalid directive. */
export function analyseGuards(typeDefs: DocumentNode): SchemaGuards {
  const objects = new Map<string, ObjectInfo>();
  const interfaces = new Set<string>();
  const unions = new Map<string, string[]>();
  const rootTypes: Partial<Record<'query' | 'mutation' | 'subscription', string>> = {};

  for (const def of typeDefs.definitions) {
    switch (def.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION: {
        const info = objects.get(def.name.value) ?? { name: def.name.value, directives: [], fields: [], interfaces: [] };
        info.directives.push(...(def.directives ?? []));
        info.fields.push(...(def.fields ?? []));
        info.interfaces.push(...(def.interfaces ?? []).map((i) => i.name.value));
        objects.set(info.name, info);
        break;
      }
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        interfaces.add(def.name.value);
        break;
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.UNION_TYPE_EXTENSION:
        unions.set(def.name.value, [...(unions.get(def.name.value) ?? []), ...(def.types ?? []).map((t) => t.name.value)]);
        break;
      case Kind.SCHEMA_DEFINITION:
      case Kind.SCHEMA_EXTENSION:
        for (const op of def.operationTypes ?? []) rootTypes[op.operation] = op.type.name.value;
        break;
      default:
        break;
    }
  }
  for (const [operation, name] of [['query', 'Query'], ['mutation', 'Mutation'], ['subscription', 'Subscription']] as const) {
    if (!rootTypes[operation] && objects.has(name)) rootTypes[operation] = name;
  }
  const roots = new Set(Object.values(rootTypes));

  const problems: string[] = [];
  const typeGuards = new Map<string, Guard>();
  const entities = new Set<string>();
  for (const info of objects.values()) {
    const guard = readGuard({ directives: info.directives });
    if (guard) {
      problems.push(...validate(guard, info.name, false));
      typeGuards.set(info.name, guard);
    }
    if (info.directives.some((d) => d.name.value === 'key')) entities.add(info.name);
  }

  // Objects a field of `name` can resolve to: the object itself, a union's members, an interface's implementations.
  const objectsOf = (name: string): string[] => {
    if (objects.has(name)) return [name];
    if (unions.has(name)) return unions.get(name)!.filter((m) => objects.has(m));
    if (interfaces.has(name)) return [...objects.values()].filter((o) => o.interfaces.includes(name)).map((o) => o.name);
    return [];
  };

  interface Draft {
    info: ObjectInfo;
    node: FieldDefinitionNode;
    own: Guard | undefined;
    kind: FieldRuleKind;
  }
  const drafts = new Map<string, Draft>();
  for (const info of objects.values()) {
    const typeGuard = typeGuards.get(info.name);
    for (const node of info.fields) {
      const coordinate = `${info.name}.${node.name.value}`;
      const own = readGuard(node);
      if (own) problems.push(...validate(own, coordinate, roots.has(info.name)));
      let kind: FieldRuleKind;
      if (roots.has(info.name)) kind = own || typeGuard ? 'root' : 'uncovered';
      else if (typeGuard) kind = 'typeGuarded';
      else if (own) kind = 'ownGuard';
      else kind = 'uncovered'; // until reached through an allowed path (below)
      drafts.set(coordinate, { info, node, own, kind });
    }
  }
  if (problems.length > 0) throw new GuardDefinitionError(problems);

  // Contained value types: reachable through allowed fields, neither an entity nor type-guarded.
  const reached = new Set<string>();
  const queue = [...drafts.values()].filter((d) => d.kind !== 'uncovered');
  while (queue.length > 0) {
    const draft = queue.pop()!;
    for (const target of objectsOf(namedType(draft.node.type))) {
      if (reached.has(target) || roots.has(target)) continue;
      reached.add(target);
      if (entities.has(target) || typeGuards.has(target)) continue;
      for (const node of objects.get(target)!.fields) {
        const d = drafts.get(`${target}.${node.name.value}`)!;
        if (d.kind === 'uncovered' || d.kind === 'ownGuard') {
          d.kind = 'contained';
          queue.push(d);
        }
      }
    }
  }

  const fields = new Map<string, FieldGuards>();
  const uncovered: string[] = [];
  for (const [coordinate, d] of drafts) {
    const typeGuard = typeGuards.get(d.info.name);
    const layers = [typeGuard, d.own].filter((g): g is Guard => g !== undefined);
    fields.set(coordinate, {
      coordinate,
      typeName: d.info.name,
      fieldName: d.node.name.value,
      kind: d.kind,
      layers: d.kind === 'uncovered' ? [] : layers,
      returnType: namedType(d.node.type),
      external: d.node.directives?.some((x) => x.name.value === 'external') ?? false,
    });
    if (d.kind === 'uncovered') uncovered.push(coordinate);
  }
  for (const [typeName, names] of Object.entries(FEDERATION_PLUMBING)) {
    for (const fieldName of names) {
      const coordinate = `${typeName}.${fieldName}`;
      if (fields.has(coordinate)) continue;
      fields.set(coordinate, { coordinate, typeName, fieldName, kind: 'plumbing', layers: [], returnType: '', external: false });
    }
  }
  return { fields, typeGuards, entities, rootTypes, uncovered };
}

function validate(guard: Guard, where: string, isRootField: boolean): string[] {
  const problems: string[] = [];
  for (const p of guard.policies) if (!isPolicyName(p)) problems.push(`${where}: unknown policy "${p}"`);
  for (const s of guard.scopes ?? []) if (!isScopeName(s)) problems.push(`${where}: unknown scope "${s}"`);
  if (guard.roles !== undefined && guard.roles.length === 0) problems.push(`${where}: @auth(requires: []) admits nobody`);
  if (guard.scopes !== undefined && guard.scopes.length === 0) problems.push(`${where}: @scope(any: []) admits nobody`);
  if (guard.isPublic) {
    if (!isRootField) problems.push(`${where}: @public is allowed only on root fields`);
    if (guard.roles !== undefined || guard.scopes !== undefined || guard.policies.length > 0) problems.push(`${where}: @public cannot be combined with another guard`);
  }
  return problems;
}

function namedType(type: TypeNode): string {
  let t: TypeNode = type;
  while (t.kind !== Kind.NAMED_TYPE) t = t.type;
  return (t as NamedTypeNode).name.value;
}

/** A stable text for a list of guard layers: equal texts mean equal rules. */
export function guardSignature(layers: readonly Guard[]): string {
  if (layers.length === 0) return 'allow';
  return layers
    .map((g) => {
      if (g.isPublic) return 'public';
      const parts: string[] = [];
      if (g.roles) parts.push(`auth(${[...g.roles].sort().join(',')})`);
      if (g.scopes) parts.push(`scope(${[...g.scopes].sort().join(',')})`);
      for (const p of [...g.policies].sort()) parts.push(`policy(${p})`);
      return parts.join('+');
    })
    .join(' & ');
}
