/**
 * In-process counters of credential failures (prom-client is not a
 * dependency): read through `snapshot()`, served as JSON at identity's
 * `GET /internal/metrics` (system callers only). Counts since start, per
 * identity process.
 */
export interface CredentialCounters {
  /** Development logins refused (any reason but a lockout). */
  failedLogins: number;
  /** Of those, for accounts holding TENANT_ADMIN or SECURITY_ADMIN: worth an alert. */
  failedAdminLogins: number;
  /** Token requests whose client id and secret did not match (or named no client). */
  failedClientAuthentications: number;
  /** Lockouts started (account, client id + IP, or IP). */
  lockouts: number;
}

export interface CredentialMetrics {
  increment(counter: keyof CredentialCounters): void;
  snapshot(): Readonly<CredentialCounters>;
}

export function createCredentialMetrics(): CredentialMetrics {
  const counters: CredentialCounters = { failedLogins: 0, failedAdminLogins: 0, failedClientAuthentications: 0, lockouts: 0 };
  return {
    increment: (counter) => {
      counters[counter]++;
    },
    snapshot: () => ({ ...counters }),
  };
}
