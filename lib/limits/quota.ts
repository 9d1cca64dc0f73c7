/**
 * The cost budget: how much estimated cost one client may spend per
 * minute (a quota no major gateway offers). Behind the small `CostBudget`
 * interface with two implementations:
 *
 * - `MemoryCostBudget`: fixed one-minute windows in this process, with an
 *   injectable clock (tests freeze it);
 * - `RateLimiterCostBudget`: any rate-limiter-flexible limiter
 *   (`RateLimiterAbstract`), e.g. the Redis limiter with its memory
 *   insurance limiter from lib/ratelimit, so replicas share one budget.
 *
 * Keys are built by `budgetKey`: principal id + tenant for a token, the
 * client IP for anonymous callers.
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface BudgetDecision {
  allowed: boolean;
  /** The budget per window. */
  budget: number;
  /** What is left in the current window after this decision. */
  remaining: number;
  /** Milliseconds until the window resets (when refused: until a retry can succeed). */
  resetMs: number;
}

export interface CostBudget {
  /** The budget per window. */
  readonly budget: number;
  /**
   * Spends `cost` from `key`'s budget. Refuses (allowed: false) when the
   * cost does not fit in what is left; a refused spend is not charged.
   * Rejects only if the store fails.
   */
  spend(key: string, cost: number): Promise<BudgetDecision>;
}

export interface MemoryCostBudgetOptions {
  /** Cost per window per key. */
  budget: number;
  /** @default 60000 (one minute) */
  windowMs?: number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Keys remembered at most (oldest windows dropped first). @default 100000 */
  maxKeys?: number;
}

/** Fixed windows in memory, per process. */
export class MemoryCostBudget implements CostBudget {
  readonly budget: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly windows = new Map<string, { start: number; spent: number }>();

  constructor(opts: MemoryCostBudgetOptions) {
    this.budget = opts.budget;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  async spend(key: string, cost: number): Promise<BudgetDecision> {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, spent: 0 };
      this.windows.delete(key);
      this.windows.set(key, w);
      this.evict(now);
    }
    const resetMs = w.start + this.windowMs - now;
    if (w.spent + cost > this.budget) return { allowed: false, budget: this.budget, remaining: this.budget - w.spent, resetMs };
    w.spent += cost;
    return { allowed: true, budget: this.budget, remaining: this.budget - w.spent, resetMs };
  }

  // Map order is insertion order: the first entries are the oldest windows.
  private evict(now: number): void {
    for (const [k, w] of this.windows) {
      if (this.windows.size <= this.maxKeys && now - w.start < this.windowMs) break;
      this.windows.delete(k);
    }
  }
}

/**
 * A rate-limiter-flexible limiter as the budget: its `points` are the
 * budget and its `duration` the window. A refused spend is charged back
 * (`reward`) so it does not eat into the next attempt.
 */
export class RateLimiterCostBudget implements CostBudget {
  readonly budget: number;

  constructor(private readonly limiter: RateLimiterAbstract) {
    this.budget = limiter.points;
  }

  async spend(key: string, cost: number): Promise<BudgetDecision> {
    if (cost <= 0) {
      const res = await this.limiter.get(key);
      return { allowed: true, budget: this.budget, remaining: res ? Math.max(0, res.remainingPoints) : this.budget, resetMs: res?.msBeforeNext ?? 0 };
    }
    // More than the whole budget can never fit: refuse without charging.
    if (cost > this.budget) {
      const res = await this.limiter.get(key);
      return { allowed: false, budget: this.budget, remaining: res ? Math.max(0, res.remainingPoints) : this.budget, resetMs: res?.msBeforeNext ?? this.limiter.duration * 1000 };
    }
    try {
      const res = await this.limiter.consume(key, cost);
      return { allowed: true, budget: this.budget, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      await this.limiter.reward(key, cost).catch(() => undefined);
      return { allowed: false, budget: this.budget, remaining: Math.max(0, this.budget - (err.consumedPoints - cost)), resetMs: err.msBeforeNext };
    }
  }
}

/** Who a budget belongs to: a principal within its tenant, or, for anonymous callers, the client IP. */
export function budgetKey(who: { kind: 'user'; id: string; tenantId: string } | { kind: 'anonymous'; ip: string } | { kind: 'system'; id: string }): string {
  if (who.kind === 'user') return `p:${who.tenantId}:${who.id}`;
  if (who.kind === 'system') return `s:${who.id}`;
  return `ip:${who.ip}`;
}
