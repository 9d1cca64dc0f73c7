/**
 * The PII map: every field, input field and argument carrying
 * `@pii(class:)` in every subgraph's SDL, with where it is stored, whether it
 * is encrypted at rest and blind-indexed (lib/pii/storage.ts), its retention
 * (lib/pii/retention.ts) and the roles that may read it. Encryption, masking,
 * log redaction and `npm run pii:inventory` all read personal data from here.
 */
import type { DocumentNode } from 'graphql';
import { type PiiClass, SUBGRAPH_NAMES, type SubgraphName, loadSubgraphTypeDefs } from '../../schema';
import { MASKING, type MaskingRule, REVEALS } from './masking';
import { type Retention, retentionOf } from './retention';
import { computeRoleReach } from './roles';
import { type PiiCoordinate, type PiiKind, piiCoordinates, readSdl } from './sdl';
import { PII_STORAGE, type StoredPiiPath } from './storage';

export interface PiiEntry {
  /** `Type.field` (output), `Input.field` (input) or `Type.field(arg)` (argument). */
  readonly coordinate: string;
  readonly class: PiiClass;
  readonly subgraph: SubgraphName;
  readonly kind: PiiKind;
  /** The key the value travels under in requests and logs: the field or argument name. */
  readonly key: string;
  /** Every stored path holding the value is encrypted (false when none is declared). */
  readonly encryptedAtRest: boolean;
  /** Some stored path holding the value has a blind index. */
  readonly blindIndexed: boolean;
  /** `collection.path` of each stored copy, from lib/pii/storage.ts. */
  readonly storedAt: readonly string[];
  readonly retention: Retention;
  /**
   * Output fields: the roles whose `@auth` admits reading the field along
   * some path — who may see it at all, masked unless revealed (or never
   * masked, see `masking`). `@scope` and `@policy` narrow further
   * (docs/roles.md). Empty for inputs and arguments: they are never read
   * back through that coordinate.
   */
  readonly readRoles: readonly string[];
  /**
   * Output fields: the roles that may see the value unmasked — those of
   * `readRoles` holding the reveal capability for its class through its
   * reveal operation (`masking.reveal`; SENSITIVE also needs an active
   * elevation, lib/reveal.ts), or all of `readRoles` for a field that is
   * never masked. Empty without a reveal path, and for inputs and arguments.
   * Exemptions (`masking.exemption`) come on top.
   */
  readonly revealRoles: readonly string[];
  /** Output fields: how the value is masked by default (lib/pii/masking.ts); null for inputs, arguments and coordinates without a rule. */
  readonly masking: MaskingRule | null;
  /** Inputs and arguments: the roles whose `@auth` admits sending the value. Empty for output fields. */
  readonly writeRoles: readonly string[];
}

export interface BuildPiiMapOptions {
  /** SDL per subgraph. @default every subgraph's `loadSubgraphTypeDefs` */
  readonly typeDefs?: Readonly<Partial<Record<SubgraphName, DocumentNode>>>;
  /** Stored paths per subgraph. @default PII_STORAGE */
  readonly storage?: Readonly<Partial<Record<SubgraphName, readonly StoredPiiPath[]>>>;
}

/** Builds the map, in subgraph order then SDL order. */
export function buildPiiMap(options: BuildPiiMapOptions = {}): PiiEntry[] {
  const entries: PiiEntry[] = [];
  for (const subgraph of SUBGRAPH_NAMES) {
    const typeDefs = options.typeDefs ? options.typeDefs[subgraph] : loadSubgraphTypeDefs(subgraph);
    if (!typeDefs) continue;
    const sdl = readSdl(typeDefs);
    const roles = computeRoleReach(sdl);
    const storage = (options.storage ?? PII_STORAGE)[subgraph] ?? [];
    for (const pii of piiCoordinates(sdl)) {
      const stored = storage.filter((p) => p.holds.includes(pii.coordinate));
      const readRoles = pii.kind === 'output' ? roles.readers(pii.typeName, pii.fieldName) : [];
      const masking = pii.kind === 'output' ? (MASKING[pii.coordinate] ?? null) : null;
      entries.push({
        coordinate: pii.coordinate,
        class: pii.class,
        subgraph,
        kind: pii.kind,
        key: pii.key,
        encryptedAtRest: stored.length > 0 && stored.every((p) => p.encrypted),
        blindIndexed: stored.some((p) => p.blindIndexed),
        storedAt: stored.map((p) => `${p.collection}.${p.path}`),
        retention: retentionOf(pii),
        readRoles,
        revealRoles: revealersOf(pii, masking, readRoles),
        masking,
        writeRoles: writersOf(pii, roles),
      });
    }
  }
  return entries;
}

function revealersOf(pii: PiiCoordinate, masking: MaskingRule | null, readRoles: readonly string[]): string[] {
  if (pii.kind !== 'output' || !masking) return [];
  if (masking.masker === 'none') return [...readRoles];
  if (!masking.reveal) return [];
  const capable: readonly string[] = REVEALS[masking.reveal].roles[pii.class];
  return readRoles.filter((r) => capable.includes(r));
}

function writersOf(pii: PiiCoordinate, roles: ReturnType<typeof computeRoleReach>): string[] {
  if (pii.kind === 'input') return roles.inputWriters(pii.typeName);
  if (pii.kind === 'argument') return roles.argumentWriters(pii.typeName, pii.fieldName);
  return [];
}

let cached: readonly PiiEntry[] | undefined;

/** {@link buildPiiMap} of the checked-in schema and storage, computed once per process. */
export function piiMap(): readonly PiiEntry[] {
  cached ??= Object.freeze(buildPiiMap());
  return cached;
}

/**
 * The keys personal values travel under (field and argument names of every
 * `@pii` coordinate), sorted: what log redaction censors.
 */
export function piiKeys(entries: readonly Pick<PiiEntry, 'key'>[] = piiMap()): string[] {
  return [...new Set(entries.map((e) => e.key))].sort();
}
