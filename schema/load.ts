/**
 * Reads the subgraph SDL files: `directives.graphql` prepended to the
 * subgraph's own file. Results are cached per process; the files never change
 * at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DocumentNode } from 'graphql';
import { Kind, Source, parse, print } from 'graphql';
import { mirrorFederationAuth } from './federation-auth';

/** The subgraphs of the supergraph, in composition order. */
export const SUBGRAPH_NAMES = ['shipment', 'device', 'identity', 'privacy'] as const;

/** One of {@link SUBGRAPH_NAMES}. */
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** True when `name` is one of {@link SUBGRAPH_NAMES}. */
export function isSubgraphName(name: string): name is SubgraphName {
  return (SUBGRAPH_NAMES as readonly string[]).includes(name);
}

/** Options of {@link loadSubgraphTypeDefs}. */
export interface LoadSubgraphOptions {
  /**
   * Also add Federation's `@authenticated` / `@requiresScopes` mirrored from
   * our `@auth` / `@scope` / `@policy` (see federation-auth.ts). Only for a
   * Router-grade supergraph and for checks: @apollo/gateway refuses a
   * supergraph carrying them.
   * @default false
   */
  readonly federationAuth?: boolean;
}

const DIRECTIVES_FILE = 'directives.graphql';

/**
 * The folder holding the `.graphql` files: this module's folder when run from
 * source (tsx, jest), `<repo>/schema` when run from the compiled `dist/schema`
 * (tsc does not copy `.graphql` files).
 */
export const SCHEMA_DIR: string =
  [__dirname, path.resolve(__dirname, '..', '..', 'schema')].find((dir) =>
    existsSync(path.join(dir, DIRECTIVES_FILE)),
  ) ?? __dirname;

const sdlCache = new Map<SubgraphName, string>();
const typeDefsCache = new Map<string, DocumentNode>();

/**
 * The SDL a subgraph serves and is composed from: the shared directives
 * followed by the subgraph's own file.
 *
 * @throws Error when `name` is not a subgraph; GraphQLError (naming file and line) when a file is not valid SDL.
 */
export function loadSubgraphSdl(name: SubgraphName): string {
  const cached = sdlCache.get(name);
  if (cached !== undefined) return cached;
  const sdl = print(loadSubgraphTypeDefs(name));
  sdlCache.set(name, sdl);
  return sdl;
}

/** {@link loadSubgraphSdl} as a parsed document, ready for `buildSubgraphSchema`. */
export function loadSubgraphTypeDefs(name: SubgraphName, options: LoadSubgraphOptions = {}): DocumentNode {
  if (!isSubgraphName(name)) throw new Error(`Unknown subgraph "${String(name)}"`);
  const federationAuth = options.federationAuth ?? false;
  const key = `${name}:${federationAuth}`;
  const cached = typeDefsCache.get(key);
  if (cached !== undefined) return cached;
  // Parsed file by file so a syntax error names the file and line.
  const definitions = [DIRECTIVES_FILE, `${name}.graphql`].flatMap(
    (file) => parse(new Source(readSchemaFile(file), `schema/${file}`), { noLocation: true }).definitions,
  );
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions };
  const typeDefs = federationAuth ? mirrorFederationAuth(document) : document;
  typeDefsCache.set(key, typeDefs);
  return typeDefs;
}

/** Text of a file in {@link SCHEMA_DIR}. */
export function readSchemaFile(file: string): string {
  return readFileSync(path.join(SCHEMA_DIR, file), 'utf8');
}
