/**
 * The schema: subgraph SDL with the shared security directives, and the
 * composed supergraph. Servers, the gateway, the rule compiler and the PII
 * inventory import from here; see README.md.
 */
export {
  SCHEMA_DIR,
  SUBGRAPH_NAMES,
  type LoadSubgraphOptions,
  type SubgraphName,
  isSubgraphName,
  loadSubgraphSdl,
  loadSubgraphTypeDefs,
  readSchemaFile,
} from './load';
export {
  type ComposeSupergraphOptions,
  type CompositionProblem,
  DEFAULT_SUBGRAPH_URLS,
  SUPERGRAPH_FILE,
  type SupergraphComposition,
  SupergraphCompositionError,
  composeSupergraph,
  loadSupergraphSdl,
  renderSupergraphFile,
} from './compose';
export {
  type DirectiveHolder,
  GUARD_DIRECTIVES,
  type Guard,
  POLICIES,
  type PiiClass,
  type PolicyName,
  SCOPES,
  type ScopeName,
  isPolicyName,
  isScopeName,
  readGuard,
  readPiiClass,
} from './security-directives';
export { mirrorFederationAuth } from './federation-auth';
