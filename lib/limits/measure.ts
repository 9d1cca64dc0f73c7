/**
 * Measures an operation the way the gateway's limits see it (depth,
 * aliases and directives counted by graphql-armor, tokens by the lexer,
 * fields and cost by our rules), so limits can be set from real
 * operations: the trusted-documents CLI prints these for every manifest,
 * and test/hardening checks the legitimate operations stay under the
 * production limits.
 */
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { type DocumentNode, type FragmentDefinitionNode, type GraphQLError, type GraphQLSchema, Kind, Lexer, type OperationDefinitionNode, Source, TokenKind, getOperationAST, parse, validate } from 'graphql';
import { armorConfig } from './armor';
import { type CostOptions, estimateCost } from './cost';
import type { QueryLimits } from './profiles';
import { countFields } from './total-fields';

export interface OperationMeasure {
  depth: number;
  aliases: number;
  directives: number;
  tokens: number;
  fields: number;
  cost: number;
}

/** Lexical tokens of `source` (what `parseOptions.maxTokens` counts). */
export function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

const ZERO: QueryLimits = { maxDepth: -1, maxAliases: -1, maxDirectives: -1, maxTokens: 0, maxFields: 0, maxCost: 0, costBudgetPerMinute: 0, maxBatchSize: 1 };

/**
 * The measure of one operation of `source` (`operationName` picks it when
 * there are several). Cost uses `variables`, else the variables' and
 * arguments' defaults. Throws when the source does not parse or names no
 * operation.
 */
export function measureOperation(schema: GraphQLSchema, source: string, opts: { operationName?: string; variables?: Record<string, unknown>; cost?: CostOptions; countIntrospectionDepth?: boolean } = {}): OperationMeasure {
  const document: DocumentNode = parse(source);
  const operation = getOperationAST(document, opts.operationName) as OperationDefinitionNode | null;
  if (!operation) throw new Error(opts.operationName ? `no operation named ${opts.operationName}` : 'no single operation in the document');
  // Armor reports "found N" when N is above the limit: with limits of -1 every count is reported.
  const found: Record<'depth' | 'aliases' | 'directives', number> = { depth: 0, aliases: 0, directives: 0 };
  const config = armorConfig({ limits: ZERO, countIntrospectionDepth: opts.countIntrospectionDepth ?? true });
  const capture = (key: keyof typeof found) => [
    (_ctx: unknown, err: GraphQLError) => {
      found[key] = Math.max(found[key], Number(/found (\d+)/.exec(err.message)?.[1] ?? 0));
    },
  ];
  config.maxDepth = { ...config.maxDepth, onReject: capture('depth') };
  config.maxAliases = { ...config.maxAliases, onReject: capture('aliases') };
  config.maxDirectives = { ...config.maxDirectives, onReject: capture('directives') };
  const only: DocumentNode = { ...document, definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation) };
  validate(schema, only, new ApolloArmor(config).protect().validationRules);
  const fragment = (name: string) => document.definitions.find((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === name);
  return {
    ...found,
    tokens: countTokens(source),
    fields: countFields(operation, fragment),
    cost: estimateCost(schema, document, operation, opts.variables ?? {}, opts.cost),
  };
}

/** Each limit `m` is above, as "depth 12 > 10". */
export function exceededLimits(m: OperationMeasure, limits: QueryLimits): string[] {
  const pairs: Array<[keyof OperationMeasure, keyof QueryLimits]> = [
    ['depth', 'maxDepth'],
    ['aliases', 'maxAliases'],
    ['directives', 'maxDirectives'],
    ['tokens', 'maxTokens'],
    ['fields', 'maxFields'],
    ['cost', 'maxCost'],
  ];
  return pairs.filter(([k, l]) => m[k] > limits[l]).map(([k, l]) => `${k} ${m[k]} > ${limits[l]}`);
}
