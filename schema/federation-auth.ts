/**
 * Mirrors our guards into Federation 2's auth directives so the supergraph
 * carries them and the gateway can refuse a request before any subgraph is
 * called: a type or field with `@auth`, `@scope` or `@policy` gets
 * `@authenticated`, and `@scope(any: [a, b])` gets
 * `@requiresScopes(scopes: [["a"], ["b"]])` (any one of them suffices).
 * Roles and policies stay in the subgraphs: the gateway knows neither.
 */
import type {
  ConstDirectiveNode,
  DefinitionNode,
  DocumentNode,
  FieldDefinitionNode,
  ObjectTypeDefinitionNode,
  ObjectTypeExtensionNode,
} from 'graphql';
import { Kind } from 'graphql';
import { readGuard } from './security-directives';

const FEDERATION_SPEC = 'https://specs.apollo.dev/federation/';

/** Returns `document` with `@authenticated` / `@requiresScopes` added where our guards ask for them. */
export function mirrorFederationAuth(document: DocumentNode): DocumentNode {
  const names = federationDirectiveNames(document);
  return {
    ...document,
    definitions: document.definitions.map((definition) => mirrorDefinition(definition, names)),
  };
}

interface AuthDirectiveNames {
  readonly authenticated: string;
  readonly requiresScopes: string;
}

function mirrorDefinition(definition: DefinitionNode, names: AuthDirectiveNames): DefinitionNode {
  if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) {
    return definition;
  }
  const object: ObjectTypeDefinitionNode | ObjectTypeExtensionNode = definition;
  return {
    ...object,
    directives: mirrorDirectives(object.directives, names),
    fields: object.fields?.map(
      (field): FieldDefinitionNode => ({ ...field, directives: mirrorDirectives(field.directives, names) }),
    ),
  };
}

function mirrorDirectives(
  directives: readonly ConstDirectiveNode[] | undefined,
  names: AuthDirectiveNames,
): readonly ConstDirectiveNode[] | undefined {
  const guard = readGuard({ directives });
  if (!guard || guard.isPublic) return directives;
  const present = new Set((directives ?? []).map((d) => d.name.value));
  const added: ConstDirectiveNode[] = [];
  if (!present.has(names.authenticated)) added.push(directive(names.authenticated));
  if (guard.scopes && !present.has(names.requiresScopes)) {
    added.push(directive(names.requiresScopes, guard.scopes.map((scope) => [scope])));
  }
  return added.length === 0 ? directives : [...(directives ?? []), ...added];
}

function directive(name: string, scopes?: readonly (readonly string[])[]): ConstDirectiveNode {
  return {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: name },
    arguments: scopes && [
      {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: 'scopes' },
        value: {
          kind: Kind.LIST,
          values: scopes.map((group) => ({
            kind: Kind.LIST,
            values: group.map((scope) => ({ kind: Kind.STRING, value: scope })),
          })),
        },
      },
    ],
  };
}

// Honour the subgraph's @link imports: an unimported directive is namespaced
// (`@federation__authenticated`), an aliased one is used under its alias.
function federationDirectiveNames(document: DocumentNode): AuthDirectiveNames {
  const imports = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_EXTENSION && definition.kind !== Kind.SCHEMA_DEFINITION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== 'link') continue;
      const url = link.arguments?.find((a) => a.name.value === 'url')?.value;
      if (url?.kind !== Kind.STRING || !url.value.startsWith(FEDERATION_SPEC)) continue;
      const list = link.arguments?.find((a) => a.name.value === 'import')?.value;
      for (const item of list?.kind === Kind.LIST ? list.values : []) {
        if (item.kind === Kind.STRING) imports.set(item.value, item.value);
        if (item.kind === Kind.OBJECT) {
          const field = (key: string) => item.fields.find((f) => f.name.value === key)?.value;
          const from = field('name');
          const as = field('as');
          if (from?.kind === Kind.STRING && as?.kind === Kind.STRING) imports.set(from.value, as.value);
        }
      }
    }
  }
  const nameOf = (directiveName: string) =>
    imports.get(`@${directiveName}`)?.replace(/^@/, '') ?? `federation__${directiveName}`;
  return { authenticated: nameOf('authenticated'), requiresScopes: nameOf('requiresScopes') };
}
