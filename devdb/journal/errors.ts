/**
 * Internal to the journal: its failures. Each class has a stable `code`;
 * tests and callers branch on the code, never on the message. Messages name
 * files and offsets, never document contents.
 */

export type JournalErrorCode =
  /** Another process (or this one) holds the data folder. */
  | 'JOURNAL_LOCKED'
  /** Damage that is not a torn tail: refusing to open rather than drop data. */
  | 'JOURNAL_CORRUPT'
  /** Files written by a newer (or unknown) format version. */
  | 'JOURNAL_FORMAT'
  /** A write or fsync failed earlier; the journal refuses all further appends. */
  | 'JOURNAL_FAILED'
  /** append() or compact() after close(). */
  | 'JOURNAL_CLOSED';

export class JournalError extends Error {
  readonly code: JournalErrorCode;

  constructor(code: JournalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalError';
    this.code = code;
  }
}
