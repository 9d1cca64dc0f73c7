/**
 * `npm run start:subgraph -- <name>` (or SUBGRAPH=<name>): one subgraph as
 * its own process (one container), configured from the environment; needs
 * MONGODB_URI. Everything after picking the name is subgraphs/run.ts.
 */
import { SUBGRAPH_NAMES, isSubgraphName } from '../schema';
import { runSubgraph } from '../subgraphs/run';

const name = process.argv[2] ?? process.env.SUBGRAPH;
if (!name || !isSubgraphName(name)) {
  process.stderr.write(`subgraph failed to start: name a subgraph: ${SUBGRAPH_NAMES.join(', ')}\n`);
  process.exit(1);
}
void runSubgraph(name);
