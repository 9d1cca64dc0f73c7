/**
 * Mongoose document life cycle: save and re-save, versioning (VersionError
 * on concurrent array edits, optimistic concurrency), timestamps and
 * populate across collections.
 */
import mongoose, { Schema, Types } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface Author {
  name: string;
  country: string;
}
interface Book {
  title: string;
  author: Types.ObjectId;
  coAuthors: Types.ObjectId[];
  year: number;
}
interface Shipment {
  ref: string;
  stops: Types.Array<string>;
  status: string;
}

let db: TestDb;
let Author: mongoose.Model<Author>;
let Book: mongoose.Model<Book>;
let Shipment: mongoose.Model<Shipment>;
const parcelModel = (conn: mongoose.Connection) =>
  conn.model('Parcel', new Schema({ weight: Number, label: String }, { optimisticConcurrency: true }));
let Parcel: ReturnType<typeof parcelModel>;

beforeAll(async () => {
  db = await connectTestDb('documents');
  Author = db.conn.model<Author>('Author', new Schema<Author>({ name: String, country: String }));
  const bookSchema = new Schema<Book>({
    title: String,
    author: { type: Schema.Types.ObjectId, ref: 'Author' },
    coAuthors: [{ type: Schema.Types.ObjectId, ref: 'Author' }],
    year: Number,
  });
  Book = db.conn.model<Book>('Book', bookSchema);
  Shipment = db.conn.model<Shipment>(
    'Shipment',
    new Schema<Shipment>({ ref: String, stops: [String], status: String }, { timestamps: true }),
  );
  Parcel = parcelModel(db.conn);
  await Promise.all([Author.init(), Book.init(), Shipment.init(), Parcel.init()]);
});
afterAll(() => db.close());

describe('save', () => {
  test('save inserts, a second save updates only what changed, and __v tracks array edits', async () => {
    const s = await new Shipment({ ref: 'S1', stops: ['Rotterdam'], status: 'new' }).save();
    expect(s.get('__v')).toBe(0);

    s.status = 'moving';
    await s.save();
    let fresh = await Shipment.findById(s._id).lean();
    expect(fresh).toMatchObject({ status: 'moving', stops: ['Rotterdam'], __v: 0 });

    s.stops.push('Hamburg');
    await s.save();
    fresh = await Shipment.findById(s._id).lean();
    expect(fresh!.stops).toEqual(['Rotterdam', 'Hamburg']);
    expect(fresh!.__v).toBe(1);
  });

  test('timestamps are set on create and updatedAt moves on update', async () => {
    const s = await Shipment.create({ ref: 'S-ts', stops: [], status: 'new' });
    const created = s.get('createdAt') as Date;
    expect(created).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 15));
    await Shipment.updateOne({ _id: s._id }, { $set: { status: 'done' } });
    const fresh = await Shipment.findById(s._id).lean<{ createdAt: Date; updatedAt: Date }>();
    expect(fresh!.createdAt.getTime()).toBe(created.getTime());
    expect(fresh!.updatedAt.getTime()).toBeGreaterThan(created.getTime());
  });

  test('two copies editing the same array: the second save fails with VersionError', async () => {
    const s = await Shipment.create({ ref: 'S-v', stops: ['A', 'B', 'C'], status: 'new' });
    const copy1 = await Shipment.findById(s._id);
    const copy2 = await Shipment.findById(s._id);

    copy1!.stops.pull('B');
    await copy1!.save();

    copy2!.stops.set(1, 'X'); // positional edit of an array the first copy reshaped
    const err = await rejection(copy2!.save());
    expect(err).toBeInstanceOf(mongoose.Error.VersionError);

    const fresh = await Shipment.findById(s._id).lean();
    expect(fresh!.stops).toEqual(['A', 'C']);
    expect(fresh!.__v).toBe(1);
  });

  test('optimisticConcurrency: a stale copy cannot overwrite a newer version', async () => {
    const p = await Parcel.create({ weight: 1, label: 'a' });
    const copy1 = await Parcel.findById(p._id);
    const copy2 = await Parcel.findById(p._id);
    copy1!.weight = 2;
    await copy1!.save();
    copy2!.label = 'b';
    const err = await rejection(copy2!.save());
    expect(err).toBeInstanceOf(mongoose.Error.VersionError);
    expect(await Parcel.findById(p._id).lean()).toMatchObject({ weight: 2, label: 'a', __v: 1 });
  });

  test('deleteOne on a document removes it; saving a removed document fails with DocumentNotFoundError', async () => {
    const s = await Shipment.create({ ref: 'S-del', stops: [], status: 'new' });
    const copy = await Shipment.findById(s._id);
    await s.deleteOne();
    expect(await Shipment.findById(s._id)).toBeNull();
    copy!.status = 'ghost';
    const err = await rejection(copy!.save());
    expect(err).toBeInstanceOf(mongoose.Error.DocumentNotFoundError);
  });
});

describe('populate', () => {
  let ada: mongoose.HydratedDocument<Author>;
  let bob: mongoose.HydratedDocument<Author>;

  beforeAll(async () => {
    [ada, bob] = await Author.create([
      { name: 'Ada', country: 'UK' },
      { name: 'Bob', country: 'FR' },
    ]);
    await Book.create([
      { title: 'Notes', author: ada._id, coAuthors: [bob._id], year: 1843 },
      { title: 'Sketches', author: bob._id, coAuthors: [], year: 1900 },
      { title: 'Orphan', author: new Types.ObjectId(), coAuthors: [ada._id, bob._id], year: 1950 },
    ]);
  });

  test('populates a single ref and an array of refs', async () => {
    const books = await Book.find().sort({ year: 1 }).populate('author').populate('coAuthors').lean();
    const notes = books[0] as any;
    expect(notes.author.name).toBe('Ada');
    expect(notes.coAuthors.map((a: Author) => a.name)).toEqual(['Bob']);
    expect((books[1] as any).author.name).toBe('Bob');
  });

  test('a dangling ref populates to null; array refs keep their order', async () => {
    const orphan = (await Book.findOne({ title: 'Orphan' }).populate(['author', 'coAuthors']).lean()) as any;
    expect(orphan.author).toBeNull();
    expect(orphan.coAuthors.map((a: Author) => a.name)).toEqual(['Ada', 'Bob']);
  });

  test('populate with select and match', async () => {
    const books = (await Book.find()
      .sort({ year: 1 })
      .populate({ path: 'author', select: 'name', match: { country: 'UK' } })
      .lean()) as any[];
    expect(books[0].author.name).toBe('Ada');
    expect(books[0].author).not.toHaveProperty('country');
    expect(books[1].author).toBeNull(); // Bob is filtered out by match
  });

  test('populate on a hydrated document after the fact', async () => {
    const book = await Book.findOne({ title: 'Sketches' });
    await book!.populate('author');
    expect((book!.author as unknown as Author).name).toBe('Bob');
    expect(book!.populated('author')).toBeDefined();
  });
});
