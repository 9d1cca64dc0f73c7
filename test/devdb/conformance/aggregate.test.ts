/**
 * Aggregation through `Model.aggregate()`: the stages the platform uses
 * ($match, $group, $sort, $project, $unwind, $lookup, $facet, $count,
 * $skip, $limit, $addFields/$set) and the accumulators inside $group.
 */
import mongoose, { Schema, Types } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface Carrier {
  code: string;
  name: string;
  region: string;
}
interface Parcel {
  carrier: string;
  weight: number;
  status: string;
  tags: string[];
  sentAt: Date;
}

let db: TestDb;
let Carrier: mongoose.Model<Carrier>;
let Parcel: mongoose.Model<Parcel>;

beforeAll(async () => {
  db = await connectTestDb('aggregate');
  Carrier = db.conn.model<Carrier>('Carrier', new Schema<Carrier>({ code: String, name: String, region: String }));
  Parcel = db.conn.model<Parcel>(
    'Parcel',
    new Schema<Parcel>({ carrier: String, weight: Number, status: String, tags: [String], sentAt: Date }),
  );
  await Promise.all([Carrier.init(), Parcel.init()]);
  await Carrier.insertMany([
    { code: 'DHL', name: 'DHL Express', region: 'EU' },
    { code: 'UPS', name: 'United Parcel', region: 'US' },
    { code: 'NOP', name: 'Nobody', region: 'EU' },
  ]);
  const day = (d: number) => new Date(Date.UTC(2024, 0, d));
  await Parcel.insertMany([
    { carrier: 'DHL', weight: 2, status: 'delivered', tags: ['fragile'], sentAt: day(1) },
    { carrier: 'DHL', weight: 5, status: 'transit', tags: ['fragile', 'heavy'], sentAt: day(2) },
    { carrier: 'UPS', weight: 1, status: 'delivered', tags: [], sentAt: day(2) },
    { carrier: 'UPS', weight: 8, status: 'transit', tags: ['heavy'], sentAt: day(3) },
    { carrier: 'UPS', weight: 4, status: 'lost', tags: ['heavy', 'insured'], sentAt: day(4) },
    { carrier: 'XXX', weight: 3, status: 'transit', tags: [], sentAt: day(5) },
  ]);
});
afterAll(() => db.close());

describe('aggregate', () => {
  test('$match, $group with accumulators, $sort', async () => {
    const rows = await Parcel.aggregate([
      { $match: { carrier: { $in: ['DHL', 'UPS'] } } },
      { $sort: { weight: 1 } }, // $push keeps input order
      {
        $group: {
          _id: '$carrier',
          n: { $sum: 1 },
          total: { $sum: '$weight' },
          avg: { $avg: '$weight' },
          heaviest: { $max: '$weight' },
          lightest: { $min: '$weight' },
          statuses: { $addToSet: '$status' },
          weights: { $push: '$weight' },
        },
      },
      { $sort: { _id: 1 } },
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ _id: 'DHL', n: 2, total: 7, avg: 3.5, heaviest: 5, lightest: 2, weights: [2, 5] });
    expect([...rows[0].statuses].sort()).toEqual(['delivered', 'transit']);
    expect(rows[1]).toMatchObject({ _id: 'UPS', n: 3, total: 13, heaviest: 8, lightest: 1 });
    expect(rows[1].avg).toBeCloseTo(13 / 3, 10);
  });

  test('$group by a compound key and by null; $first/$last after $sort', async () => {
    const byKey = await Parcel.aggregate([
      { $sort: { sentAt: 1 } },
      { $group: { _id: { c: '$carrier', s: '$status' }, n: { $sum: 1 } } },
      { $match: { '_id.c': 'UPS' } },
      { $sort: { '_id.s': 1 } },
    ]);
    expect(byKey).toEqual([
      { _id: { c: 'UPS', s: 'delivered' }, n: 1 },
      { _id: { c: 'UPS', s: 'lost' }, n: 1 },
      { _id: { c: 'UPS', s: 'transit' }, n: 1 },
    ]);

    const all = await Parcel.aggregate([
      { $sort: { sentAt: 1 } },
      { $group: { _id: null, first: { $first: '$carrier' }, last: { $last: '$carrier' }, w: { $sum: '$weight' } } },
    ]);
    expect(all).toEqual([{ _id: null, first: 'DHL', last: 'XXX', w: 23 }]);
  });

  test('$firstN after $sort keeps the first n per group in order; its input may be an object expression (MongoDB 5.2+)', async () => {
    const rows = await Parcel.aggregate([
      { $match: { carrier: { $in: ['DHL', 'UPS'] } } },
      { $sort: { sentAt: -1, weight: -1 } },
      { $group: { _id: '$carrier', total: { $sum: 1 }, latest: { $firstN: { input: { w: '$weight', s: '$status' }, n: 2 } }, weights: { $firstN: { input: '$weight', n: 5 } } } },
      { $sort: { _id: 1 } },
    ]);
    expect(rows).toEqual([
      { _id: 'DHL', total: 2, latest: [{ w: 5, s: 'transit' }, { w: 2, s: 'delivered' }], weights: [5, 2] },
      { _id: 'UPS', total: 3, latest: [{ w: 4, s: 'lost' }, { w: 8, s: 'transit' }], weights: [4, 8, 1] },
    ]);
  });

  test('$project with inclusion, computed fields and exclusion of _id', async () => {
    const rows = await Parcel.aggregate([
      { $match: { carrier: 'DHL' } },
      { $sort: { weight: 1 } },
      {
        $project: {
          _id: 0,
          carrier: 1,
          grams: { $multiply: ['$weight', 1000] },
          heavy: { $gte: ['$weight', 4] },
          nTags: { $size: '$tags' },
          label: { $concat: ['$carrier', '-', '$status'] },
        },
      },
    ]);
    expect(rows).toEqual([
      { carrier: 'DHL', grams: 2000, heavy: false, nTags: 1, label: 'DHL-delivered' },
      { carrier: 'DHL', grams: 5000, heavy: true, nTags: 2, label: 'DHL-transit' },
    ]);
  });

  test('$addFields and $set keep existing fields', async () => {
    const rows = await Parcel.aggregate([
      { $match: { carrier: 'UPS' } },
      { $addFields: { double: { $multiply: ['$weight', 2] } } },
      { $set: { year: { $year: '$sentAt' } } },
      { $sort: { weight: 1 } },
      { $limit: 1 },
    ]);
    expect(rows[0]).toMatchObject({ carrier: 'UPS', weight: 1, status: 'delivered', double: 2, year: 2024 });
    expect(rows[0]._id).toBeInstanceOf(Types.ObjectId);
  });

  test('$unwind an array, then group on its elements', async () => {
    const rows = await Parcel.aggregate([
      { $unwind: '$tags' },
      { $group: { _id: '$tags', n: { $sum: 1 } } },
      { $sort: { n: -1, _id: 1 } },
    ]);
    expect(rows).toEqual([
      { _id: 'heavy', n: 3 },
      { _id: 'fragile', n: 2 },
      { _id: 'insured', n: 1 },
    ]);
  });

  test('$unwind with preserveNullAndEmptyArrays and includeArrayIndex', async () => {
    const rows = await Parcel.aggregate([
      { $match: { carrier: 'UPS' } },
      { $sort: { weight: 1 } },
      { $unwind: { path: '$tags', preserveNullAndEmptyArrays: true, includeArrayIndex: 'i' } },
      { $project: { _id: 0, weight: 1, tags: 1, i: 1 } },
    ]);
    expect(rows).toEqual([
      { weight: 1, i: null },
      { weight: 4, tags: 'heavy', i: 0 },
      { weight: 4, tags: 'insured', i: 1 },
      { weight: 8, tags: 'heavy', i: 0 },
    ]);
  });

  test('$lookup with localField/foreignField, including parcels without a carrier', async () => {
    const rows = await Parcel.aggregate([
      { $sort: { sentAt: 1, weight: 1 } },
      { $lookup: { from: Carrier.collection.collectionName, localField: 'carrier', foreignField: 'code', as: 'c' } },
      { $project: { _id: 0, carrier: 1, names: '$c.name' } },
    ]);
    expect(rows.map((r) => [r.carrier, r.names])).toEqual([
      ['DHL', ['DHL Express']],
      ['UPS', ['United Parcel']],
      ['DHL', ['DHL Express']],
      ['UPS', ['United Parcel']],
      ['UPS', ['United Parcel']],
      ['XXX', []],
    ]);
  });

  test('$lookup from the other side, with a pipeline and let', async () => {
    const rows = await Carrier.aggregate([
      { $sort: { code: 1 } },
      {
        $lookup: {
          from: Parcel.collection.collectionName,
          let: { code: '$code' },
          pipeline: [
            { $match: { $expr: { $and: [{ $eq: ['$carrier', '$$code'] }, { $gte: ['$weight', 4] }] } } },
            { $project: { _id: 0, weight: 1 } },
            { $sort: { weight: 1 } },
          ],
          as: 'heavy',
        },
      },
      { $project: { _id: 0, code: 1, heavy: 1 } },
    ]);
    expect(rows).toEqual([
      { code: 'DHL', heavy: [{ weight: 5 }] },
      { code: 'NOP', heavy: [] },
      { code: 'UPS', heavy: [{ weight: 4 }, { weight: 8 }] },
    ]);
  });

  test('$facet runs sub-pipelines over the same input', async () => {
    const [out] = await Parcel.aggregate([
      { $match: { weight: { $gte: 2 } } },
      {
        $facet: {
          byStatus: [{ $group: { _id: '$status', n: { $sum: 1 } } }, { $sort: { _id: 1 } }],
          top2: [{ $sort: { weight: -1 } }, { $limit: 2 }, { $project: { _id: 0, weight: 1 } }],
          total: [{ $count: 'n' }],
        },
      },
    ]);
    expect(out.byStatus).toEqual([
      { _id: 'delivered', n: 1 },
      { _id: 'lost', n: 1 },
      { _id: 'transit', n: 3 },
    ]);
    expect(out.top2).toEqual([{ weight: 8 }, { weight: 5 }]);
    expect(out.total).toEqual([{ n: 5 }]);
  });

  test('$count names its output field; over nothing it returns no document', async () => {
    expect(await Parcel.aggregate([{ $match: { status: 'transit' } }, { $count: 'inTransit' }])).toEqual([
      { inTransit: 3 },
    ]);
    expect(await Parcel.aggregate([{ $match: { status: 'nope' } }, { $count: 'n' }])).toEqual([]);
  });

  test('$skip and $limit page through a sorted pipeline', async () => {
    const page = await Parcel.aggregate([
      { $sort: { weight: 1 } },
      { $skip: 2 },
      { $limit: 3 },
      { $project: { _id: 0, weight: 1 } },
    ]);
    expect(page).toEqual([{ weight: 3 }, { weight: 4 }, { weight: 5 }]);
  });

  test('the fluent builder sends the same pipeline', async () => {
    const rows = await Parcel.aggregate()
      .match({ status: { $ne: 'lost' } })
      .group({ _id: '$status', w: { $sum: '$weight' } })
      .sort({ _id: -1 });
    expect(rows).toEqual([
      { _id: 'transit', w: 16 },
      { _id: 'delivered', w: 3 },
    ]);
  });

  test('pipelines that read the stored documents without copying them leave them unchanged', async () => {
    const before = await Parcel.find().sort({ sentAt: 1, weight: 1 }).lean();
    // The shape of the platform's event pages: $match, $sort, $group of whole documents, $project with $slice.
    const pages = await Parcel.aggregate([
      { $match: { carrier: { $in: ['DHL', 'UPS'] } } },
      { $sort: { sentAt: -1, _id: -1 } },
      { $group: { _id: '$carrier', total: { $sum: 1 }, docs: { $push: '$$ROOT' } } },
      { $project: { total: 1, docs: { $slice: ['$docs', 2] } } },
      { $sort: { _id: 1 } },
    ]);
    expect(pages.map((p) => [p._id, p.total, p.docs.length])).toEqual([
      ['DHL', 2, 2],
      ['UPS', 3, 2],
    ]);
    // Stages that do write into their input ($addFields, $unwind, nested $project) still get copies.
    await Parcel.aggregate([{ $addFields: { weight: 99, extra: true } }, { $unwind: '$tags' }, { $project: { 'tags': 0 } }]);
    expect(await Parcel.find().sort({ sentAt: 1, weight: 1 }).lean()).toEqual(before);
  });

  test('an unknown stage is refused with 40324 naming the stage', async () => {
    const err = await rejection(Parcel.aggregate([{ $frobnicate: {} } as any]).exec());
    expect(err).toBeInstanceOf(mongoose.mongo.MongoServerError);
    expect(err.code).toBe(40324);
    expect(err.message).toMatch(/\$frobnicate/);
  });
});
