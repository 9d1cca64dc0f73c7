/**
 * Internal: which roles may read an output field, or send an input field or
 * argument, judged by `@auth` alone along every path the SDL offers (root
 * fields, entity types through `_entities`, and the fields in between).
 * `@scope` and `@policy` (tenant, data subject, shift, MFA) narrow further;
 * docs/roles.md shows them. Not public API: import from `lib/pii`.
 */
import { readGuard } from '../../schema';
import { namedType, type SdlModel } from './sdl';

export interface RoleReach {
  /** Roles that may read `Type.field`, in `enum Role` order. */
  readers(typeName: string, fieldName: string): string[];
  /** Roles that may send a value of input type `inputType` (through any argument that takes it). */
  inputWriters(inputType: string): string[];
  /** Roles that may pass the arguments of `Type.field`. */
  argumentWriters(typeName: string, fieldName: string): string[];
}

/**
 * Fixpoint over the type graph: `reach[T]` is the set of roles that can
 * obtain an object of type T. Roots start with every role; an entity starts
 * with its type guard's roles (`_entities`); a field passes on the roles of
 * its parent that its own `@auth` admits, and a type guard filters them.
 */
export function computeRoleReach(sdl: SdlModel): RoleReach {
  const all = new Set(sdl.roles);
  const rolesOf = (node: Parameters<typeof readGuard>[0]): Set<string> => {
    const roles = readGuard(node)?.roles;
    return roles ? new Set(roles) : all;
  };
  const typeRoles = new Map<string, Set<string>>();
  for (const type of sdl.objects.values()) typeRoles.set(type.name, rolesOf({ directives: type.directives }));

  const reach = new Map<string, Set<string>>();
  const add = (typeName: string, roles: Iterable<string>): boolean => {
    const filter = typeRoles.get(typeName) ?? all;
    const set = reach.get(typeName) ?? new Set<string>();
    const before = set.size;
    for (const role of roles) if (filter.has(role)) set.add(role);
    reach.set(typeName, set);
    return set.size !== before;
  };
  for (const root of sdl.roots) add(root, all);
  for (const type of sdl.objects.values()) {
    if (type.directives.some((d) => d.name.value === 'key')) add(type.name, typeRoles.get(type.name) ?? all);
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (const type of sdl.objects.values()) {
      const from = reach.get(type.name);
      if (!from || from.size === 0) continue;
      for (const field of type.fields) {
        const target = namedType(field.type);
        if (!sdl.objects.has(target)) continue;
        if (add(target, intersect(from, rolesOf(field)))) changed = true;
      }
    }
  }

  // Input types: who may pass an argument carrying them, then down through nested input fields.
  const inputReach = new Map<string, Set<string>>();
  const queue: string[] = [];
  const addInput = (inputType: string, roles: Iterable<string>) => {
    const set = inputReach.get(inputType) ?? new Set<string>();
    const before = set.size;
    for (const role of roles) set.add(role);
    inputReach.set(inputType, set);
    if (set.size !== before) queue.push(inputType);
  };
  const argWriters = (typeName: string, fieldName: string): Set<string> => {
    const field = sdl.objects.get(typeName)?.fields.find((f) => f.name.value === fieldName);
    if (!field) return new Set();
    return intersect(reach.get(typeName) ?? new Set(), rolesOf(field));
  };
  for (const type of sdl.objects.values()) {
    for (const field of type.fields) {
      for (const arg of field.arguments ?? []) {
        const argType = namedType(arg.type);
        if (sdl.inputs.has(argType)) addInput(argType, argWriters(type.name, field.name.value));
      }
    }
  }
  while (queue.length > 0) {
    const inputType = queue.pop()!;
    for (const field of sdl.inputs.get(inputType) ?? []) {
      const nested = namedType(field.type);
      if (sdl.inputs.has(nested)) addInput(nested, inputReach.get(inputType)!);
    }
  }

  const ordered = (roles: Set<string>): string[] => sdl.roles.filter((r) => roles.has(r));
  return {
    readers(typeName, fieldName) {
      const field = sdl.objects.get(typeName)?.fields.find((f) => f.name.value === fieldName);
      if (!field) return [];
      return ordered(intersect(reach.get(typeName) ?? new Set(), rolesOf(field)));
    },
    inputWriters: (inputType) => ordered(inputReach.get(inputType) ?? new Set()),
    argumentWriters: (typeName, fieldName) => ordered(argWriters(typeName, fieldName)),
  };
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}
