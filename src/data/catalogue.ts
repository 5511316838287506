/**
 * Evaluating a model on data whose item ids differ from the model's: ids are a function of the
 * data (training frequency order), so data that changed after training numbers its items
 * differently, and the model's ids must be used instead, matched by item name.
 */
import type { Dataset } from './dataset.js';

/**
 * `dataset` renumbered to `itemNames` (a model's catalogue, index = id, 0 = padding): every
 * sequence keeps only the items the catalogue has, in the catalogue's ids; counts follow by name.
 * Users left with fewer than 2 items leave the split (a held-out user needs a history and a
 * target). Item features are dropped: evaluation takes them from the model. Returns the new data
 * set and the number of interactions dropped for items the catalogue lacks.
 */
export function withCatalogue(dataset: Dataset, itemNames: readonly string[]): { dataset: Dataset; droppedInteractions: number } {
  const idOf = new Map(itemNames.map((name, id) => [name, id]));
  const newId = Int32Array.from(dataset.itemNames, (name, id) => (id === 0 ? 0 : idOf.get(name) ?? -1));
  let droppedInteractions = 0;
  const users = dataset.users.map((user) => {
    const items = Int32Array.from(Array.from(user.items, (id) => newId[id]).filter((id) => id > 0));
    droppedInteractions += user.items.length - items.length;
    return { ...user, items };
  });
  const itemCounts = new Float64Array(itemNames.length);
  dataset.itemCounts.forEach((count, id) => {
    if (newId[id] > 0) itemCounts[newId[id]] += count;
  });
  const keep = (list: number[]) => list.filter((u) => users[u].items.length >= 2);
  const split = { train: keep(dataset.split.train), validation: keep(dataset.split.validation), test: keep(dataset.split.test) };
  return {
    dataset: { ...dataset, numItems: itemNames.length, itemNames: [...itemNames], itemCounts, itemFeatures: undefined, users, split },
    droppedInteractions,
  };
}
