/**
 * The rule options a process takes from its configuration. In development
 * with demo data, the demo operator tenant (Northwind) is the platform
 * operator unless PLATFORM_OPERATOR_TENANT_ID says otherwise.
 */
import type { Config } from '../config';
import { demoPlan } from '../demo';
import type { PolicyOptions } from './policies';

export function policyOptionsFrom(config: Config): PolicyOptions {
  const demoOperator = config.appEnv === 'development' && config.seed ? demoPlan().tenants[0].id : undefined;
  return { operatorTenantId: config.operatorTenantId ?? demoOperator, stepUpWindowSeconds: config.stepUpWindowSeconds };
}
