import { describe, expect, test } from 'vitest';
import { withCatalogue } from '../../src/data/catalogue.js';
import { loadDatasetFromText } from '../../src/data/dataset.js';

describe('withCatalogue', () => {
  test('renumbers items to a model catalogue by name, dropping unknown items and users left too short', async () => {
    const dataset = await loadDatasetFromText({ interactions: 'user,item,time\na,x,1\na,y,2\na,z,3\nb,z,1\nb,w,2\n', maxLength: 4, seed: 1 });
    const catalogue = ['<pad>', 'z', 'x', 'y'];
    const { dataset: renumbered, droppedInteractions } = withCatalogue(dataset, catalogue);
    expect(droppedInteractions).toBe(1);
    expect(renumbered.numItems).toBe(4);
    expect(Array.from(renumbered.users[0].items)).toEqual([2, 3, 1]);
    expect(Array.from(renumbered.users[1].items)).toEqual([1]);
    const inSplit = [...renumbered.split.train, ...renumbered.split.validation, ...renumbered.split.test];
    expect(inSplit).toEqual([0]);
    expect(renumbered.itemCounts[1]).toBe(dataset.itemCounts[dataset.itemNames.indexOf('z')]);
  });
});
