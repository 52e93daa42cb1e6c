import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import { newOpId, parseTodoEvent, TodoEvents } from '../../src/todo/events.js';

const op = 'abcdefgh12345678';

describe('parseTodoEvent', () => {
  it('parses each event into a typed command, dropping fields it does not know', () => {
    assert.deepEqual(parseTodoEvent('add', { title: ' x ', op, _target: 'title', extra: 'y' }), {
      name: 'add',
      value: { title: ' x ', op },
    });
    // A checkbox reports `value: "on"` only when it is checked after the click: the target state.
    assert.deepEqual(parseTodoEvent('toggle', { id: '12', value: 'on', completed: 'false' }), {
      name: 'toggle',
      value: { id: '12', completed: true },
    });
    assert.deepEqual(parseTodoEvent('toggle', { id: '12' }), { name: 'toggle', value: { id: '12', completed: false } });
    assert.deepEqual(parseTodoEvent('toggle-all', { op, value: 'on' }), { name: 'toggle-all', value: { op, completed: true } });
    assert.deepEqual(parseTodoEvent('toggle-all', { op }), { name: 'toggle-all', value: { op, completed: false } });
    // The destroy button's value is its todo's id; pages of an earlier version send `id`.
    assert.deepEqual(parseTodoEvent('destroy', { value: '3' }), { name: 'destroy', value: { id: '3' } });
    assert.deepEqual(parseTodoEvent('destroy', { id: '3', value: '' }), { name: 'destroy', value: { id: '3' } });
    assert.deepEqual(parseTodoEvent('clear-completed', { op, value: '' }), { name: 'clear-completed', value: { op } });
    assert.deepEqual(parseTodoEvent('edit', { id: '7' }), { name: 'edit', value: { id: '7' } });
    assert.deepEqual(parseTodoEvent('cancel', { key: 'Escape', id: '7' }), { name: 'cancel', value: { id: '7' } });
    assert.deepEqual(parseTodoEvent('draft', { title: 'half', op }), { name: 'draft', value: { title: 'half', op } });
  });

  it('reads a save from a submitted form (title) and from a blur (value)', () => {
    assert.deepEqual(parseTodoEvent('save', { title: 'by enter', op }), { name: 'save', value: { id: undefined, title: 'by enter' } });
    assert.deepEqual(parseTodoEvent('save', { id: '4', value: 'by blur' }), { name: 'save', value: { id: '4', title: 'by blur' } });
  });

  it('refuses missing or mistyped fields with TODO_BAD_EVENT naming the event and the field', () => {
    const cases: [string, unknown, RegExp][] = [
      ['add', { title: 'x' }, /"add".*op/],
      ['add', { title: 'x', op: 'short' }, /op: expected an operation id/],
      ['toggle', { id: 'abc', value: 'on' }, /id: expected a todo id of digits/],
      ['toggle', { id: '1', value: 'yes' }, /value/],
      ['toggle', { id: '1', value: '' }, /value/],
      ['toggle-all', { op, value: true }, /value/],
      ['toggle', { id: '1e309', value: 'on' }, /id/],
      ['destroy', { id: ['1'] }, /id/],
      ['destroy', { value: '' }, /expected a todo id of digits/],
      ['destroy', { value: '1; drop' }, /expected a todo id of digits/],
      ['destroy', {}, /destroy/],
      ['save', { id: '1' }, /expected a title or a value/],
      ['add', 'not an object', /payload|expected object/],
    ];
    for (const [name, value, message] of cases) {
      assert.throws(
        () => parseTodoEvent(name, value),
        (err) => isTodoLiveError(err, 'TODO_BAD_EVENT') && message.test(err.message),
        `${name} ${JSON.stringify(value)}`,
      );
    }
  });

  it('refuses an event it does not know, including names that exist on every object', () => {
    for (const name of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.throws(() => parseTodoEvent(name, {}), (err) => isTodoLiveError(err, 'TODO_BAD_EVENT'), name);
    }
  });

  it('never throws anything but TODO_BAD_EVENT, whatever arrives', () => {
    const names = fc.oneof(fc.constantFrom(...Object.values(TodoEvents)), fc.string());
    fc.assert(
      fc.property(names, fc.anything(), (name, value) => {
        try {
          parseTodoEvent(name, value);
        } catch (err) {
          assert.ok(isTodoLiveError(err, 'TODO_BAD_EVENT'), String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('mints url-safe operation ids that its own schema accepts, all different', () => {
    const ids = new Set(Array.from({ length: 1000 }, newOpId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.doesNotThrow(() => parseTodoEvent('clear-completed', { op: id }));
  });
});
