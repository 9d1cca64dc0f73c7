/**
 * Every encrypted model of every subgraph, for jobs that walk stored
 * envelopes without knowing the subgraphs (the re-encryption of a data key
 * rotation, `npm run keys:rotate-data`). Each subgraph's `createModels` is
 * called, and the models whose schema uses the `encryptedFields` plugin are
 * kept: a model that gains the plugin is picked up without a change here.
 * Compiling models does not touch the database (with `autoIndex: false`
 * on the connection, not even for indexes).
 */
import type { Connection, Model } from 'mongoose';
import { encryptedFieldsOf } from '../lib/crypto/model-encryption';
import { createModels as deviceModels } from './device/model';
import { createModels as identityModels } from './identity/model';
import { createModels as privacyModels } from './privacy/model';
import { createModels as shipmentModels } from './shipment/model';

const FACTORIES: ReadonlyArray<(conn: Connection) => object> = [shipmentModels, deviceModels, identityModels, privacyModels];

/** The models on `conn` that declare encrypted fields, one per collection. */
export function encryptedModels(conn: Connection): Model<any>[] {
  const out: Model<any>[] = [];
  const seen = new Set<string>();
  for (const create of FACTORIES) {
    for (const m of Object.values(create(conn)) as Array<Model<any>>) {
      const spec = encryptedFieldsOf(m);
      if (!spec || seen.has(spec.collection)) continue;
      seen.add(spec.collection);
      out.push(m);
    }
  }
  return out;
}
