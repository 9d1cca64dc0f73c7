/**
 * `npm run compose`: composes schema/*.graphql and writes schema/supergraph.graphql.
 * `npm run compose -- --check`: writes nothing, exits 1 when the file is stale.
 * Exits 1 with the list of errors when the subgraphs do not compose.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import {
  SUPERGRAPH_FILE,
  type SupergraphComposition,
  SupergraphCompositionError,
  composeSupergraph,
  renderSupergraphFile,
} from '../schema';

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const verbose = argv.includes('--verbose');
  let composed: SupergraphComposition;
  try {
    composed = composeSupergraph();
  } catch (error) {
    // Composition errors and SDL syntax errors (with file and line) are the user's to fix.
    if (error instanceof SupergraphCompositionError || error instanceof GraphQLError) {
      process.stderr.write(`${error.toString()}\n`);
      return 1;
    }
    throw error;
  }
  const text = renderSupergraphFile(composed.supergraphSdl);
  const target = path.relative(process.cwd(), SUPERGRAPH_FILE);
  const hints = `${composed.hints.length} composition hint(s)${verbose || composed.hints.length === 0 ? '' : ' (--verbose lists them)'}`;
  if (verbose) for (const hint of composed.hints) process.stdout.write(`hint: ${hint}\n`);
  if (check) {
    let current = '';
    try {
      current = readFileSync(SUPERGRAPH_FILE, 'utf8');
    } catch {
      // A missing file is stale.
    }
    if (current !== text) {
      process.stderr.write(`${target} is stale: run \`npm run compose\` and commit the result.\n`);
      return 1;
    }
    process.stdout.write(`${target} is up to date; ${hints}.\n`);
    return 0;
  }
  writeFileSync(SUPERGRAPH_FILE, text);
  process.stdout.write(`Wrote ${target}; ${hints}.\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
