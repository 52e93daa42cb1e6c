import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planMove } from '../../src/store/reorder.js';

const list = (...ids: number[]) => ids.map((id, position) => ({ id, position }));

describe('planMove', () => {
  it('changes only the rows between the old and the new index', () => {
    assert.deepEqual(planMove(list(1, 2, 3, 4, 5), 2, 3), [
      { id: 3, position: 1 },
      { id: 4, position: 2 },
      { id: 2, position: 3 },
    ]);
    assert.deepEqual(planMove(list(1, 2, 3), 2, 1), []);
  });

  it('closes gaps left by deletions', () => {
    const gappy = [
      { id: 7, position: 0 },
      { id: 8, position: 5 },
      { id: 9, position: 9 },
    ];
    assert.deepEqual(planMove(gappy, 9, 0), [
      { id: 9, position: 0 },
      { id: 7, position: 1 },
      { id: 8, position: 2 },
    ]);
  });

  it('answers undefined for an id that is not in the list', () => {
    assert.equal(planMove(list(1, 2), 3, 0), undefined);
  });

  it('always yields the list with the todo moved to the index, numbered 0..n-1', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(1000), { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(), (ids, pick, to) => {
        const ordered = list(...ids);
        const id = ids[pick % ids.length]!;
        const toIndex = to % ids.length;
        const plan = planMove(ordered, id, toIndex)!;
        const positions = new Map(ordered.map((t) => [t.id, t.position]));
        for (const c of plan) positions.set(c.id, c.position);
        const result = [...positions].sort((a, b) => a[1] - b[1]).map(([tid]) => tid);
        const expected = ids.filter((x) => x !== id);
        expected.splice(toIndex, 0, id);
        assert.deepEqual(result, expected);
        assert.deepEqual([...positions.values()].sort((a, b) => a - b), ids.map((_, i) => i));
      }),
    );
  });
});
