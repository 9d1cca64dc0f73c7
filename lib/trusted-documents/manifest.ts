/**
 * Trusted-document manifests: one JSON file per registered app
 * (`trusted-documents/<app>.json`), an object mapping each document's id
 * to its text, where the id is the SHA-256 (hex) of the text — the same
 * hash a client sends as `extensions.persistedQuery.sha256Hash`.
 *
 * A document is one named operation plus the fragments it uses, printed
 * by graphql-js (`print`), so ids do not depend on a file's whitespace.
 */
import { createHash } from 'node:crypto';
import { type DefinitionNode, type DocumentNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode, type SelectionSetNode, parse, print } from 'graphql';

/** id (sha256 hex of the document) → document text. */
export type Manifest = Record<string, string>;

export class TrustedDocumentsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedDocumentsError';
  }
}

/** App names as they appear in `apollographql-client-name` and file names. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The id of a document: lowercase hex SHA-256 of its exact text. */
export function documentId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface TrustedOperation {
  id: string;
  name: string;
  type: OperationDefinitionNode['operation'];
  body: string;
}

function fragmentsUsed(set: SelectionSetNode, all: ReadonlyMap<string, FragmentDefinitionNode>, out: Map<string, FragmentDefinitionNode>): void {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FRAGMENT_SPREAD) {
      const name = sel.name.value;
      const frag = all.get(name);
      if (!frag) throw new TrustedDocumentsError(`fragment ${name} is spread but defined in no file`);
      if (!out.has(name)) {
        out.set(name, frag);
        fragmentsUsed(frag.selectionSet, all, out);
      }
    } else if (sel.selectionSet) fragmentsUsed(sel.selectionSet, all, out);
  }
}

/**
 * The trusted operations of a set of `.graphql` sources: every named
 * operation, each with the fragments it uses (from any source), printed.
 * Anonymous operations, duplicate names and unknown fragments are refused.
 */
export function trustedOperations(sources: ReadonlyArray<{ file: string; text: string }>): TrustedOperation[] {
  const operations: Array<{ file: string; op: OperationDefinitionNode }> = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { file, text } of sources) {
    let doc: DocumentNode;
    try {
      doc = parse(text);
    } catch (err) {
      throw new TrustedDocumentsError(`${file}: ${(err as Error).message}`);
    }
    for (const def of doc.definitions as readonly DefinitionNode[]) {
      if (def.kind === Kind.OPERATION_DEFINITION) {
        if (!def.name) throw new TrustedDocumentsError(`${file}: every trusted operation needs a name`);
        operations.push({ file, op: def });
      } else if (def.kind === Kind.FRAGMENT_DEFINITION) {
        if (fragments.has(def.name.value)) throw new TrustedDocumentsError(`${file}: fragment ${def.name.value} is defined twice`);
        fragments.set(def.name.value, def);
      } else throw new TrustedDocumentsError(`${file}: only operations and fragments belong in trusted documents`);
    }
  }
  const names = new Set<string>();
  return operations.map(({ file, op }) => {
    const name = op.name!.value;
    if (names.has(name)) throw new TrustedDocumentsError(`${file}: operation ${name} is defined twice`);
    names.add(name);
    const used = new Map<string, FragmentDefinitionNode>();
    fragmentsUsed(op.selectionSet, fragments, used);
    const body = print({ kind: Kind.DOCUMENT, definitions: [op, ...[...used.values()].sort((a, b) => a.name.value.localeCompare(b.name.value))] });
    return { id: documentId(body), name, type: op.operation, body };
  });
}

/** A manifest from trusted operations, ids sorted (stable diffs). */
export function buildManifest(operations: readonly TrustedOperation[]): Manifest {
  return Object.fromEntries([...operations].sort((a, b) => a.id.localeCompare(b.id)).map((o) => [o.id, o.body]));
}

/** Checks a parsed manifest file: an object of sha256 → parsable document whose hash is its id. */
export function validateManifest(app: string, value: unknown): Manifest {
  if (!APP_NAME.test(app)) throw new TrustedDocumentsError(`"${app}" is not a valid app name (lowercase letters, digits, dashes)`);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TrustedDocumentsError(`${app}: a manifest is a JSON object of id → document`);
  const out: Manifest = {};
  for (const [id, body] of Object.entries(value as Record<string, unknown>)) {
    if (typeof body !== 'string') throw new TrustedDocumentsError(`${app}: document ${id} is not a string`);
    if (!/^[0-9a-f]{64}$/.test(id) || documentId(body) !== id) throw new TrustedDocumentsError(`${app}: id ${id} is not the sha256 of its document`);
    try {
      parse(body);
    } catch (err) {
      throw new TrustedDocumentsError(`${app}: document ${id} does not parse (${(err as Error).message})`);
    }
    out[id] = body;
  }
  return out;
}
