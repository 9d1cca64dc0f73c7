/**
 * The query limits: the legitimate operations we know (README, the e2e
 * spanning query, the trusted-document manifests) fit the production
 * limits, which sit just above them; and the rules count what they claim
 * to (fragments flattened for depth, expanded for fields, a fragment bomb
 * counted without being expanded).
 */
import { ApolloGateway } from '@apollo/gateway';
import { type GraphQLSchema, parse, validate } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_COSTS, QUERY_LIMITS, armorProtection, exceededLimits, maxFieldsRule, measureOperation, type OperationMeasure } from '../../lib/limits';
import { TRUSTED_DOCUMENTS_DIR, TrustedDocumentStore } from '../../lib/trusted-documents';
import { loadSupergraphSdl } from '../../schema';

const ROOT = path.resolve(__dirname, '..', '..');
let schema: GraphQLSchema;

beforeAll(async () => {
  const gw = new ApolloGateway({ supergraphSdl: loadSupergraphSdl() });
  schema = (await gw.load()).schema;
  await gw.stop();
});

/** Every operation the README shows, the e2e spanning query, and every trusted document. */
function legitimateOperations(): Array<{ from: string; query: string; variables?: Record<string, unknown> }> {
  const ops: Array<{ from: string; query: string; variables?: Record<string, unknown> }> = [];
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const m of readme.matchAll(/```graphql\n([\s\S]*?)```/g)) ops.push({ from: 'README', query: m[1] });
  for (const m of readme.matchAll(/"query":"((?:[^"\\]|\\.)*)"/g)) ops.push({ from: 'README curl', query: JSON.parse(`"${m[1]}"`) });
  const e2e = readFileSync(path.join(ROOT, 'test', 'e2e', 'supergraph.test.ts'), 'utf8');
  const spanning = /const SPANNING = \/\* GraphQL \*\/ `([\s\S]*?)`;/.exec(e2e);
  if (spanning) {
    // As the e2e test runs it, and at the largest page the subgraphs allow.
    ops.push({ from: 'e2e spanning', query: spanning[1], variables: { first: 25 } });
    ops.push({ from: 'e2e spanning, first: 100', query: spanning[1], variables: { first: 100 } });
  }
  const store = TrustedDocumentStore.fromDir(TRUSTED_DOCUMENTS_DIR);
  for (const app of store.appNames()) {
    const manifest = JSON.parse(readFileSync(path.join(TRUSTED_DOCUMENTS_DIR, `${app}.json`), 'utf8')) as Record<string, string>;
    for (const body of Object.values(manifest)) ops.push({ from: app, query: body });
  }
  return ops;
}

describe('legitimate operations against the production limits', () => {
  test('every one is valid and fits; the limits sit just above the largest', () => {
    const ops = legitimateOperations();
    expect(ops.length).toBeGreaterThanOrEqual(8);
    const max: OperationMeasure = { depth: 0, aliases: 0, directives: 0, tokens: 0, fields: 0, cost: 0 };
    for (const op of ops) {
      expect({ from: op.from, errors: validate(schema, parse(op.query)).map((e) => e.message) }).toEqual({ from: op.from, errors: [] });
      const m = measureOperation(schema, op.query, { variables: op.variables, cost: { costs: DEFAULT_COSTS } });
      expect({ from: op.from, over: exceededLimits(m, QUERY_LIMITS.production) }).toEqual({ from: op.from, over: [] });
      for (const k of Object.keys(max) as Array<keyof OperationMeasure>) max[k] = Math.max(max[k], m[k]);
    }
    // The measured maxima these limits were set from (lib/limits/profiles.ts); update both together.
    expect(max).toEqual({ depth: 8, aliases: 0, directives: 0, tokens: 98, fields: 41, cost: 2202 });
    const p = QUERY_LIMITS.production;
    expect(p.maxDepth - max.depth).toBeLessThanOrEqual(2);
    expect(p.maxCost).toBeLessThan(3 * max.cost);
  });
});

describe('what the rules count', () => {
  const refusals = (query: string, rules = armorProtection({ limits: QUERY_LIMITS.production }).validationRules) =>
    validate(schema, parse(query), rules).map((e) => ({ code: e.extensions.validationErrorCode, ...e.extensions }));

  test('depth: 10 levels pass, 11 do not; a fragment spread is not a level', () => {
    // Only armor's rules run here, so the field names need not exist.
    const nested = (levels: number) => `${'{ a '.repeat(levels - 1)}{ x }${' }'.repeat(levels - 1)}`;
    expect(refusals(nested(10))).toEqual([]);
    expect(refusals(nested(11))).toEqual([expect.objectContaining({ code: 'QUERY_TOO_DEEP', limit: 10, found: 11 })]);
    const viaFragments = `{ a { ...F } } fragment F on Query { a { ...G } } fragment G on Query { ${nested(8).slice(2, -2)} }`;
    expect(refusals(viaFragments)).toEqual([]);
  });

  test('depth refusal names the limit and what was found', () => {
    const rules = armorProtection({ limits: { ...QUERY_LIMITS.production, maxDepth: 5 } }).validationRules;
    expect(refusals('{ shipments { edges { node { events { edges { node { status } } } } } } }', rules)).toEqual([
      expect.objectContaining({ code: 'QUERY_TOO_DEEP', reason: 'MAX_DEPTH', limit: 5, found: 7 }),
    ]);
  });

  test('aliases count __typename too; directives count every use', () => {
    expect(refusals(`{ ${Array.from({ length: 11 }, (_, i) => `a${i}: __typename`).join(' ')} }`)).toEqual([expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', reason: 'TOO_MANY_ALIASES', limit: 10, found: 11 })]);
    expect(refusals(`query ($t: Boolean!) { ${Array.from({ length: 6 }, () => `__typename @include(if: $t)`).join(' ')} }`)).toEqual([expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', reason: 'TOO_MANY_DIRECTIVES', limit: 5, found: 6 })]);
  });

  test('fields: a fragment bomb is counted exactly without being expanded', () => {
    // 10 × 10 × 10 = 1000 fields from a 40-line document.
    const bomb = `{ ...A } fragment A on Query { ${'...B '.repeat(10)} } fragment B on Query { ${'...C '.repeat(10)} } fragment C on Query { ${'__typename '.repeat(10)} }`;
    const started = Date.now();
    expect(validate(schema, parse(bomb), [maxFieldsRule(200)]).map((e) => e.extensions)).toEqual([{ validationErrorCode: 'QUERY_TOO_COMPLEX', reason: 'TOO_MANY_FIELDS', limit: 200, found: 1000 }]);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
