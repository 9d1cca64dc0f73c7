/**
 * `@length` enforcement (lib/validation/length.ts) on a small schema:
 * arguments, nested input objects, lists, recursive inputs, the `ID` cap,
 * literals and variables alike, the error shape, and that the resolver never
 * runs for a refused value.
 */
import { buildSchema, execute, parse, type GraphQLSchema } from 'graphql';
import { LengthLimitError, MAX_ID_LENGTH, applyLengthLimits, readLength } from '../../lib/validation';

const SDL = `
  directive @length(max: Int!, min: Int) on ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION
  input Note { text: String @length(max: 5) tags: [String!] @length(max: 3) child: Note ref: ID }
  input Plain { text: String n: Int }
  type Query {
    echo(text: String @length(max: 5, min: 2)): String
    note(input: Note!): String
    notes(inputs: [Note!]): String
    byId(id: ID!): String
    plain(input: Plain, text: String): String
    nested: Nested
  }
  type Nested { field(after: String @length(max: 4)): String }
`;

function build(): { schema: GraphQLSchema; calls: string[] } {
  const calls: string[] = [];
  const schema = buildSchema(SDL);
  const query = schema.getQueryType()!.getFields();
  for (const name of ['echo', 'note', 'notes', 'byId', 'plain']) query[name].resolve = () => (calls.push(name), 'ok');
  query.nested.resolve = () => ({});
  (schema.getType('Nested') as any).getFields().field.resolve = () => (calls.push('field'), 'ok');
  return { schema: applyLengthLimits(schema), calls };
}

async function run(source: string, variables?: Record<string, unknown>) {
  const { schema, calls } = build();
  const result = await execute({ schema, document: parse(source), variableValues: variables });
  return { ...result, calls, ext: result.errors?.map((e) => e.extensions) ?? [] };
}

describe('@length', () => {
  test('within the limits the resolver runs', async () => {
    const res = await run(`{ echo(text: "abcde") note(input: { text: "abc", tags: ["a", "bcd"], child: { text: "ab" } }) }`);
    expect(res.errors).toBeUndefined();
    expect(res.calls).toEqual(['echo', 'note']);
  });

  test('over max: BAD_USER_INPUT / TOO_LONG with the argument path and max, and the resolver never runs', async () => {
    const res = await run(`{ echo(text: "abcdef") }`);
    expect(res.ext).toEqual([{ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'text', max: 5 }]);
    expect(res.errors![0].message).toBe('text must be at most 5 characters');
    expect(res.errors![0].path).toEqual(['echo']);
    expect(res.calls).toEqual([]);
  });

  test('under min: TOO_SHORT with min', async () => {
    const res = await run(`{ echo(text: "a") }`);
    expect(res.ext).toEqual([{ code: 'BAD_USER_INPUT', reason: 'TOO_SHORT', argument: 'text', min: 2 }]);
  });

  test('variables are checked like literals', async () => {
    const res = await run(`query($t: String) { echo(text: $t) }`, { t: 'abcdef' });
    expect(res.ext[0]).toMatchObject({ reason: 'TOO_LONG', argument: 'text' });
  });

  test('nested input fields, list items and recursive inputs name their full path', async () => {
    const cases: Array<[Record<string, unknown>, string, number]> = [
      [{ text: 'abcdef' }, 'input.text', 5],
      [{ tags: ['a', 'abcd'] }, 'input.tags.1', 3],
      [{ child: { child: { text: 'abcdef' } } }, 'input.child.child.text', 5],
      [{ ref: 'x'.repeat(MAX_ID_LENGTH + 1) }, 'input.ref', MAX_ID_LENGTH],
    ];
    for (const [input, argument, max] of cases) {
      const res = await run(`query($i: Note!) { note(input: $i) }`, { i: input });
      expect(res.ext).toEqual([{ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument, max }]);
      expect(res.calls).toEqual([]);
    }
    const list = await run(`query($i: [Note!]) { notes(inputs: $i) }`, { i: [{ text: 'a' }, { text: 'abcdef' }] });
    expect(list.ext[0]).toMatchObject({ argument: 'inputs.1.text' });
  });

  test(`every ID is capped at ${MAX_ID_LENGTH} characters without a directive`, async () => {
    expect((await run(`query($id: ID!) { byId(id: $id) }`, { id: 'x'.repeat(MAX_ID_LENGTH) })).errors).toBeUndefined();
    expect((await run(`query($id: ID!) { byId(id: $id) }`, { id: 'x'.repeat(MAX_ID_LENGTH + 1) })).ext[0]).toMatchObject({ reason: 'TOO_LONG', argument: 'id', max: MAX_ID_LENGTH });
  });

  test('fields below the root are checked per occurrence', async () => {
    const res = await run(`{ nested { ok: field(after: "abcd") bad: field(after: "abcde") } }`);
    expect(res.data).toEqual({ nested: { ok: 'ok', bad: null } });
    expect(res.ext).toEqual([{ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'after', max: 4 }]);
  });

  test('fields without limited arguments keep their own resolver untouched', () => {
    const schema = buildSchema(SDL);
    const plain = schema.getQueryType()!.getFields().plain;
    const resolve = () => 'x';
    plain.resolve = resolve;
    applyLengthLimits(schema);
    expect(plain.resolve).toBe(resolve);
  });

  test('null and absent values are not checked', async () => {
    expect((await run(`{ echo(text: null) note(input: { text: null }) }`)).errors).toBeUndefined();
  });

  test('the error never echoes the value', async () => {
    const secret = 'SECRET-VALUE-1234567890';
    const res = await run(`query($t: String) { echo(text: $t) }`, { t: secret });
    expect(JSON.stringify(res.errors)).not.toContain(secret);
    expect(res.errors![0].originalError).toBeInstanceOf(LengthLimitError);
  });

  test('a malformed @length refuses to boot', () => {
    const node = (args: string) => ({ astNode: (parse(`type Q { f(a: String ${args}): Int }`).definitions[0] as any).fields[0].arguments[0] });
    expect(readLength(node('@length(max: 3)'))).toEqual({ max: 3 });
    expect(readLength(node('@length(max: 3, min: 1)'))).toEqual({ max: 3, min: 1 });
    expect(readLength(node(''))).toBeUndefined();
    expect(() => readLength(node('@length(max: 3, min: 4)'))).toThrow(/not a range/);
    expect(() => readLength(node('@length(min: 1)'))).toThrow(/needs max/);
  });
});
