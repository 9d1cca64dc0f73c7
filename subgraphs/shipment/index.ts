/** Runs the shipment subgraph on its own (its own container or process): see subgraphs/run.ts. */
import { runSubgraph } from '../run';
void runSubgraph('shipment');
