/**
 * Query limits, cost and quotas, the sensitive-field rule and the
 * production start-up check: GraphQL-level pieces with no Apollo Server in
 * them (gateway/hardening wires them into the gateway). See README.md.
 */
export { LIMIT_MESSAGES, LimitCode, type LimitCodeValue, type LimitDetail, LimitError, LimitReason, type LimitReasonValue, limitValidationError } from './errors';
export { QUERY_LIMITS, type QueryLimits, queryLimitsFor } from './profiles';
export { type ArmorOptions, type ArmorProtection, type GraphQLArmorConfig, armorConfig, armorProtection } from './armor';
export { countFields, maxFieldsRule } from './total-fields';
export { DEFAULT_SENSITIVE_ROOT_FIELDS, rootFields, selectsSensitiveField, sensitiveFieldProblem, sensitiveFieldsRule } from './sensitive-fields';
export { type CostMap, type CostOptions, type FieldCost, estimateCost } from './cost';
export { DEFAULT_COSTS, DEFAULT_LIST_SIZE } from './cost-config';
export { type BudgetDecision, type CostBudget, MemoryCostBudget, type MemoryCostBudgetOptions, RateLimiterCostBudget, budgetKey } from './quota';
export { ProductionSafetyError, assertProductionSafe, productionSafetyProblems } from './environment';
export { HARDENING_VARS, type HardeningSettings, type SubjectType, type TrustedDocumentsSettings, hardeningSettingsFrom } from './settings';
export { type OperationMeasure, countTokens, exceededLimits, measureOperation } from './measure';
