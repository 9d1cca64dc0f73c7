/**
 * Settings of the credential checks the subgraphs run for the gateway's
 * token endpoint and login (identity: client secrets, passwords, TOTP,
 * lockouts; device: key assertions), and where they come from in the
 * configuration.
 */
import type { Config } from '../config';
import type { LockoutOptions } from './lockout';

export interface CredentialSettings {
  /**
   * The clock credential checks read: contract ends, TOTP time steps,
   * assertion lifetimes, secret overlaps. Tests freeze it. (Access tokens
   * keep real time: the issuer and verifier have their own clocks.)
   * @default () => new Date()
   */
  now?: () => Date;
  /** How long a rotated API client secret keeps working (seconds). @default 86400 */
  secretOverlapSeconds?: number;
  /** Lockout of accounts and client id + IP pairs. */
  lockout?: LockoutOptions;
  /** Lockout per IP (a higher limit: many people share one address). @default maxFailures 20 */
  ipLockout?: LockoutOptions;
}

export function credentialSettingsFrom(config: Config): CredentialSettings {
  const { maxFailures, maxFailuresPerIp, baseSeconds, maxSeconds } = config.lockout;
  return {
    secretOverlapSeconds: config.clientSecretOverlapSeconds,
    lockout: { maxFailures, baseSeconds, maxSeconds },
    ipLockout: { maxFailures: maxFailuresPerIp, baseSeconds, maxSeconds },
  };
}
