/**
 * docs/pii-inventory.{md,json} are generated from the PII map: they must
 * match what `npm run pii:inventory` writes today.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildPiiInventory, piiMap, renderPiiInventoryJson, renderPiiInventoryMarkdown } from '../../lib/pii';

const DOCS = path.resolve(__dirname, '..', '..', 'docs');
const read = (file: string) => readFileSync(path.join(DOCS, file), 'utf8');

describe('docs/pii-inventory', () => {
  test('pii-inventory.md is up to date (regenerate: npm run pii:inventory)', () => {
    expect(read('pii-inventory.md')).toBe(renderPiiInventoryMarkdown());
  });

  test('pii-inventory.json is up to date (regenerate: npm run pii:inventory)', () => {
    expect(read('pii-inventory.json')).toBe(renderPiiInventoryJson());
  });

  test('the JSON holds the whole map and counts that add up', () => {
    const inventory = JSON.parse(renderPiiInventoryJson());
    expect(inventory.entries).toEqual(JSON.parse(JSON.stringify(piiMap())));
    const { all, bySubgraph, byKind, byRetention } = buildPiiInventory().summary;
    expect(all.total).toBe(piiMap().length);
    expect(all.PII + all.SENSITIVE).toBe(all.total);
    expect(Object.values(bySubgraph).reduce((n, c) => n + c.total, 0)).toBe(all.total);
    expect(byKind.output + byKind.input + byKind.argument).toBe(all.total);
    expect(Object.values(byRetention).reduce((n, c) => n + c, 0)).toBe(all.total);
  });

  test('the Markdown has a section per subgraph and a row per coordinate', () => {
    const md = renderPiiInventoryMarkdown();
    for (const heading of ['## shipment', '## device', '## identity', '## privacy']) expect(md).toContain(`\n${heading}\n`);
    for (const e of piiMap()) expect(md).toContain(`| \`${e.coordinate}\` | ${e.kind} | ${e.class} |`);
  });
});
