/**
 * Database connections. Every data access goes through a `DataStores`,
 * which knows the region: today one store serves every region; region-routed
 * stores (one logical store per data region) plug in here.
 */
import mongoose, { type Connection } from 'mongoose';
import type { Region } from './context';
import { disableFieldCrypto, openFieldCrypto, type FieldCryptoRuntime, type OpenFieldCryptoOptions } from './crypto/runtime';

export interface DataStores {
  /** The connection holding data of `region` (the default store when none is given). */
  forRegion(region?: Region): Connection;
  /** Field encryption of this process's stores (absent only when a benchmark turned it off). */
  fieldCrypto?: FieldCryptoRuntime;
  /** Pings every store: used by readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// Queries never take operators from user input; unknown paths in filters are dropped.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);

/**
 * `encryption`: the field encryption every store gets (config.crypto and the
 * environment, lib/crypto/runtime.ts); 'off' only for benchmarks, refused in production.
 */
export async function connectDataStores(uri: string, dbName: string, encryption: OpenFieldCryptoOptions | 'off'): Promise<DataStores> {
  const conn = await mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 10_000, maxPoolSize: 20 }).asPromise();
  let fieldCrypto: FieldCryptoRuntime | undefined;
  try {
    if (encryption === 'off') disableFieldCrypto(conn);
    else fieldCrypto = await openFieldCrypto(conn, encryption);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return {
    forRegion: () => conn,
    fieldCrypto,
    ping: async () => {
      await conn.db!.command({ ping: 1 });
    },
    close: async () => {
      await conn.close();
      await fieldCrypto?.close();
    },
  };
}
