/**
 * Database connections. Every data access goes through a `DataStores`,
 * which knows the region: today one store serves every region; region-routed
 * stores (one logical store per data region) plug in here.
 */
import mongoose, { type Connection } from 'mongoose';
import type { Region } from './context';

export interface DataStores {
  /** The connection holding data of `region` (the default store when none is given). */
  forRegion(region?: Region): Connection;
  /** Pings every store: used by readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// Queries never take operators from user input; unknown paths in filters are dropped.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);

export async function connectDataStores(uri: string, dbName: string): Promise<DataStores> {
  const conn = await mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 10_000, maxPoolSize: 20 }).asPromise();
  return {
    forRegion: () => conn,
    ping: async () => {
      await conn.db!.command({ ping: 1 });
    },
    close: () => conn.close(),
  };
}
