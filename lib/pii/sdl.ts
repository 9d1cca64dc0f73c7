/**
 * Internal: the parts of one subgraph's SDL the PII map reads — object and
 * interface types with their fields (extensions merged), input types, the
 * root types and `enum Role` — and every `@pii` coordinate in it. Not public
 * API: import from `lib/pii`.
 */
import {
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  type NamedTypeNode,
  type TypeNode,
} from 'graphql';
import { type PiiClass, readPiiClass } from '../../schema';

/** Where a `@pii` sits: an output field, an input field, or an argument of a field. */
export type PiiKind = 'output' | 'input' | 'argument';

/** One `@pii` in one subgraph's SDL, before storage, retention and roles are added. */
export interface PiiCoordinate {
  /** `Type.field`, `Input.field` or `Type.field(arg)`. */
  readonly coordinate: string;
  readonly class: PiiClass;
  readonly kind: PiiKind;
  /** The object, interface or input type. */
  readonly typeName: string;
  /** The field (for an argument: the field that takes it). */
  readonly fieldName: string;
  /** The argument, for `kind: 'argument'`. */
  readonly argumentName?: string;
  /** The key a value of this coordinate travels under: the field or argument name. */
  readonly key: string;
  /** Named type of the value, e.g. `String`, `GeoPoint`. */
  readonly valueType: string;
}

export interface ObjectModel {
  readonly name: string;
  readonly directives: ConstDirectiveNode[];
  readonly fields: FieldDefinitionNode[];
}

export interface SdlModel {
  /** Object and interface types, extensions merged. */
  readonly objects: ReadonlyMap<string, ObjectModel>;
  /** Input object types, extensions merged. */
  readonly inputs: ReadonlyMap<string, readonly InputValueDefinitionNode[]>;
  /** Root operation type names (Query, Mutation, Subscription). */
  readonly roots: ReadonlySet<string>;
  /** Values of `enum Role`, in SDL order. */
  readonly roles: readonly string[];
}

export function readSdl(typeDefs: DocumentNode): SdlModel {
  const objects = new Map<string, ObjectModel>();
  const inputs = new Map<string, InputValueDefinitionNode[]>();
  const roots = new Set<string>();
  const roles: string[] = [];
  for (const def of typeDefs.definitions) {
    switch (def.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const model = objects.get(def.name.value) ?? { name: def.name.value, directives: [], fields: [] };
        model.directives.push(...(def.directives ?? []));
        model.fields.push(...(def.fields ?? []));
        objects.set(model.name, model);
        break;
      }
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION:
        inputs.set(def.name.value, [...(inputs.get(def.name.value) ?? []), ...(def.fields ?? [])]);
        break;
      case Kind.SCHEMA_DEFINITION:
      case Kind.SCHEMA_EXTENSION:
        for (const op of def.operationTypes ?? []) roots.add(op.type.name.value);
        break;
      case Kind.ENUM_TYPE_DEFINITION:
        if (def.name.value === 'Role') roles.push(...(def.values ?? []).map((v) => v.name.value));
        break;
      default:
        break;
    }
  }
  for (const name of ['Query', 'Mutation', 'Subscription']) if (objects.has(name)) roots.add(name);
  return { objects, inputs, roots, roles };
}

/** Every `@pii` of the SDL, in SDL order: fields, then each field's arguments; input fields. */
export function piiCoordinates(sdl: SdlModel): PiiCoordinate[] {
  const found: PiiCoordinate[] = [];
  for (const type of sdl.objects.values()) {
    for (const field of type.fields) {
      const fieldName = field.name.value;
      const fieldClass = readPiiClass(field);
      if (fieldClass) {
        found.push({ coordinate: `${type.name}.${fieldName}`, class: fieldClass, kind: 'output', typeName: type.name, fieldName, key: fieldName, valueType: namedType(field.type) });
      }
      for (const arg of field.arguments ?? []) {
        const argClass = readPiiClass(arg);
        if (!argClass) continue;
        const argumentName = arg.name.value;
        found.push({
          coordinate: `${type.name}.${fieldName}(${argumentName})`,
          class: argClass,
          kind: 'argument',
          typeName: type.name,
          fieldName,
          argumentName,
          key: argumentName,
          valueType: namedType(arg.type),
        });
      }
    }
  }
  for (const [typeName, fields] of sdl.inputs) {
    for (const field of fields) {
      const inputClass = readPiiClass(field);
      if (!inputClass) continue;
      const fieldName = field.name.value;
      found.push({ coordinate: `${typeName}.${fieldName}`, class: inputClass, kind: 'input', typeName, fieldName, key: fieldName, valueType: namedType(field.type) });
    }
  }
  return found;
}

/** The named type under list and non-null wrappers. */
export function namedType(type: TypeNode): string {
  let t: TypeNode = type;
  while (t.kind !== Kind.NAMED_TYPE) t = t.type;
  return (t as NamedTypeNode).name.value;
}
