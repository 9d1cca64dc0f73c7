/**
 * Authorization compiled from the schema directives (`@auth`, `@scope`,
 * `@policy`, `@public`): graphql-shield rules in every subgraph, a guard
 * plugin at the gateway, and the role × capability matrix. See README.md.
 */
export { AccessDeniedError, RefusalCode, type RefusalCodeValue } from './errors';
export { type FieldGuards, type FieldRuleKind, GuardDefinitionError, type SchemaGuards, analyseGuards, guardSignature } from './guards';
export {
  DEFAULT_MFA_METHODS,
  DEFAULT_STEP_UP_WINDOW_SECONDS,
  type Policy,
  type PolicyContext,
  type PolicyOptions,
  type PolicyOutcome,
  createPolicies,
  withinShift,
} from './policies';
export { RuleCoverageError, type RuleOptions, applyRules, checkCoverage, compileRules } from './compile';
export { type GatewayGuardIndex, type GatewayGuardOptions, buildGatewayGuardIndex, checkOperation, gatewayGuardPlugin } from './gateway-guard';
export { policyOptionsFrom } from './from-config';
