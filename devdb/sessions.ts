/**
 * Logical sessions and their transactions: which transaction a command
 * belongs to (lsid + txnNumber + autocommit:false), starting one, commit and
 * abort with the replies and error labels drivers expect (NoSuchTransaction
 * 251 is transient; a repeated commit of a committed transaction is ok).
 */
import type { Document } from 'bson';
import { MongoServerError } from './errors';
import type { JournalOp } from './journal-types';
import type { Store, Transaction } from './engine/store';

interface SessionState {
  txnNumber: bigint;
  txn?: Transaction;
  lastUsed: number;
}

/** Idle sessions are forgotten after mongod's logicalSessionTimeoutMinutes (30). */
const SESSION_IDLE_MS = 30 * 60_000;

function sessionKey(lsid: unknown): string | undefined {
  const id = (lsid as { id?: { buffer?: Uint8Array } } | undefined)?.id;
  if (!id?.buffer) return undefined;
  return Buffer.from(id.buffer).toString('hex');
}

function txnNumberOf(v: unknown): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (v && typeof v === 'object' && 'toBigInt' in v) return (v as { toBigInt(): bigint }).toBigInt();
  throw new MongoServerError('TypeMismatch', 'txnNumber must be an integer');
}

function noSuchTransaction(n: bigint): MongoServerError {
  return new MongoServerError('NoSuchTransaction', `Transaction with { txnNumber: ${n} } has been aborted.`, {}, ['TransientTransactionError']);
}

export class Sessions {
  private readonly sessions = new Map<string, SessionState>();

  constructor(private readonly store: Store) {}

  /**
   * The transaction a command runs in: undefined for a plain command. Throws
   * NoSuchTransaction when the command names a transaction that is gone.
   */
  transactionFor(cmd: Document): Transaction | undefined {
    if (cmd.autocommit !== false) return undefined;
    const key = sessionKey(cmd.lsid);
    if (!key) throw new MongoServerError('InvalidOptions', 'a transaction needs a session (lsid)');
    const n = txnNumberOf(cmd.txnNumber);
    let state = this.sessions.get(key);
    if (cmd.startTransaction === true) {
      if (state && n < state.txnNumber) throw new MongoServerError('TransactionTooOld', `txnNumber ${n} is less than last txnNumber ${state.txnNumber}`);
      if (state?.txn && state.txnNumber === n) throw new MongoServerError('IllegalOperation', `transaction ${n} has already been started`);
      if (state?.txn) this.store.abort(state.txn);
      state = { txnNumber: n, txn: this.store.begin(key, n), lastUsed: Date.now() };
      this.sessions.set(key, state);
      this.sweep();
      return state.txn;
    }
    if (!state || state.txnNumber !== n || !state.txn) throw noSuchTransaction(n);
    state.lastUsed = Date.now();
    const cmdName = Object.keys(cmd)[0];
    if (state.txn.state === 'aborted') throw noSuchTransaction(n);
    if (state.txn.state === 'committed' && cmdName !== 'commitTransaction') {
      throw new MongoServerError('IllegalOperation', `transaction ${n} has been committed`);
    }
    return state.txn;
  }

  /** commitTransaction: applies the writes atomically; ops go to `log` in the same step. */
  commit(txn: Transaction, log: (ops: JournalOp[]) => void): void {
    if (txn.state === 'committed') return; // a retried commit
    if (txn.state === 'aborted') throw noSuchTransaction(txn.txnNumber);
    const ops: JournalOp[] = [];
    this.store.commit(txn, ops);
    log(ops);
  }

  abort(txn: Transaction): void {
    if (txn.state !== 'active') throw noSuchTransaction(txn.txnNumber);
    this.store.abort(txn);
  }

  /** A failed statement aborts its transaction, as in mongod. */
  failed(txn: Transaction | undefined): void {
    if (txn?.state === 'active') this.store.abort(txn);
  }

  /** endSessions: abort whatever those sessions left open. */
  end(lsids: unknown[]): void {
    for (const lsid of lsids) {
      const key = sessionKey(lsid);
      const state = key ? this.sessions.get(key) : undefined;
      if (state?.txn) this.store.abort(state.txn);
      if (key) this.sessions.delete(key);
    }
  }

  abortAll(): void {
    for (const s of this.sessions.values()) if (s.txn) this.store.abort(s.txn);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, s] of this.sessions) {
      if (now - s.lastUsed > SESSION_IDLE_MS) {
        if (s.txn) this.store.abort(s.txn);
        this.sessions.delete(key);
      }
    }
  }
}
