/**
 * Diff engine benchmarks, each next to raw baselines measured in the same run:
 *  1. render + diff per event (toggle, add, delete, edit title) on TodoMVC-like lists of 100,
 *     1,000 and 10,000 items: time (median, p99) and bytes of the diff's JSON; baselines: a plain
 *     string-concatenation render of the list's HTML (what re-rendering costs without a diff),
 *     and `JSON.stringify` of the whole list (what a naive "send everything" server sends);
 *  2. mount of 100 items: payload bytes (target ≤ 14 KB) and time;
 *  3. memory a mounted tracker retains for 100 todos (target for the whole user: ≤ 24 KB), as the
 *     median of three trials of 1,000 trackers each, with forced collections.
 *
 * Every figure is taken for both forms of the list: `eager` (`each(todos, key, render)`, the
 * tracker mirrors every entry's slots) and `memo` (`each(todos, key, item, editing)`, the tracker
 * keeps the items and the context and renders only entries whose inputs changed). The two must
 * send the same bytes for every event (checked: the run stops otherwise).
 *
 * Development checks are off, as in production.
 *
 * Run: node --expose-gc --import tsx bench/diff.bench.ts
 */
import { cpus, loadavg } from 'node:os';
import { DiffTracker } from '../src/live/diff.js';
import { each, escapeHTML, html, setDevMode, type Template } from '../src/live/template.js';
import { gc, median, percentile } from './stats.js';

setDevMode(false);

const CELL_MS = Number(process.env.BENCH_CELL_MS ?? 1200);
const MAX_SAMPLES = 400;
const SIZES = [100, 1000, 10_000];

interface Todo {
  id: number;
  title: string;
  completed: boolean;
}
interface State {
  todos: Todo[];
  editing: number | null;
}


// --- the view under test and its raw baseline -------------------------------------------------------

const item = (t: Todo, editing: boolean): Template =>
  html`<li id="todo-${t.id}" class="${t.completed ? 'completed' : ''}${editing ? ' editing' : ''}"><div class="view"><input class="toggle" type="checkbox"${t.completed ? ' checked' : ''} phx-click="toggle" phx-value-id="${t.id}"><label phx-dblclick="edit" phx-value-id="${t.id}">${t.title}</label><button class="destroy" phx-click="delete" phx-value-id="${t.id}"></button></div></li>`;

const eagerView = (s: State): Template => {
  const left = s.todos.reduce((n, t) => (t.completed ? n : n + 1), 0);
  return html`<section class="main"><ul class="todo-list">${each(
    s.todos,
    (t) => t.id,
    (t) => item(t, s.editing === t.id),
  )}</ul></section><footer class="footer"><span class="todo-count"><strong>${left}</strong> ${left === 1 ? 'item' : 'items'} left</span></footer>`;
};

/** The memo form's entry: a module-level function of the todo and the context. */
const memoItem = (t: Todo, editing: number | null): Template => item(t, editing === t.id);

const memoView = (s: State): Template => {
  const left = s.todos.reduce((n, t) => (t.completed ? n : n + 1), 0);
  return html`<section class="main"><ul class="todo-list">${each(
    s.todos,
    (t) => t.id,
    memoItem,
    s.editing,
  )}</ul></section><footer class="footer"><span class="todo-count"><strong>${left}</strong> ${left === 1 ? 'item' : 'items'} left</span></footer>`;
};

/** The memo form given an array of its own (as a filtered view is), which the tracker then keeps. */
const memoOwnArrayView = (s: State): Template => memoView({ ...s, todos: s.todos.slice() });

const views = { eager: eagerView, memo: memoView } as const;
type Form = keyof typeof views;

/**
 * The same HTML by plain string concatenation: the cost of a render with no diffing at all. Its
 * callers take the byte length, which flattens the rope as writing it to a socket would.
 */
const concatRender = (s: State): string => {
  let left = 0;
  let out = '<section class="main"><ul class="todo-list">';
  for (const t of s.todos) {
    if (!t.completed) left++;
    const cls = `${t.completed ? 'completed' : ''}${s.editing === t.id ? ' editing' : ''}`;
    out += `<li id="todo-${t.id}" class="${cls}"><div class="view"><input class="toggle" type="checkbox"${t.completed ? ' checked' : ''} phx-click="toggle" phx-value-id="${t.id}"><label phx-dblclick="edit" phx-value-id="${t.id}">${escapeHTML(t.title)}</label><button class="destroy" phx-click="delete" phx-value-id="${t.id}"></button></div></li>`;
  }
  return `${out}</ul></section><footer class="footer"><span class="todo-count"><strong>${left}</strong> ${left === 1 ? 'item' : 'items'} left</span></footer>`;
};

const stateOf = (n: number): State => ({
  todos: Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `Todo number ${i + 1}: water the plants`, completed: i % 3 === 0 })),
  editing: null,
});

// --- events: each maps a base state to the state after the event ---------------------------------------

const events: Record<string, (s: State) => State> = {
  toggle: (s) => {
    const mid = s.todos.length >> 1;
    return { ...s, todos: s.todos.map((t, i) => (i === mid ? { ...t, completed: !t.completed } : t)) };
  },
  add: (s) => ({ ...s, todos: [...s.todos, { id: s.todos.length + 1, title: 'A brand new todo', completed: false }] }),
  delete: (s) => {
    const mid = s.todos.length >> 1;
    return { ...s, todos: s.todos.filter((_, i) => i !== mid) };
  },
  'edit title': (s) => {
    const mid = s.todos.length >> 1;
    return { ...s, todos: s.todos.map((t, i) => (i === mid ? { ...t, title: `${t.title} (edited)` } : t)) };
  },
  // The context of the memo form changes: every entry is rendered twice, one changes.
  'start editing': (s) => ({ ...s, editing: (s.todos[s.todos.length >> 1] as Todo).id }),
};

/** Times `fn` for up to CELL_MS or MAX_SAMPLES samples, after a short warm-up. */
function sample(fn: () => void): number[] {
  for (let i = 0; i < 5; i++) fn();
  gc();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < MAX_SAMPLES && performance.now() - start < CELL_MS) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

const ms = (x: number) => (x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const rows: string[] = [];

function eventRows(): void {
  for (const n of SIZES) {
    const base = stateOf(n);
    const naiveBytes = Buffer.byteLength(JSON.stringify(base.todos));
    const naive = median(sample(() => Buffer.byteLength(JSON.stringify(base.todos))));
    const concat = median(sample(() => Buffer.byteLength(concatRender(base))));
    for (const [name, apply] of Object.entries(events)) {
      const after = apply(base);
      const bytesOf: Partial<Record<Form, number>> = {};
      for (const form of Object.keys(views) as Form[]) {
        const view = views[form];
        const tracker = new DiffTracker();
        tracker.mount(view(base));
        let bytes = 0;
        // Each sample goes base → after (timed: render + diff + JSON), then back to base (untimed).
        for (let i = 0; i < 5; i++) {
          tracker.diff(view(after));
          tracker.diff(view(base));
        }
        gc();
        const forward: number[] = [];
        const start = performance.now();
        while (forward.length < MAX_SAMPLES && performance.now() - start < CELL_MS) {
          const t0 = performance.now();
          bytes = Buffer.byteLength(JSON.stringify(tracker.diff(view(after))));
          forward.push(performance.now() - t0);
          tracker.diff(view(base));
        }
        bytesOf[form] = bytes;
        const p50 = median(forward);
        const p99 = percentile(forward, 0.99);
        rows.push(
          `| ${n.toLocaleString('en')} | ${name} | ${form} | ${ms(p50)} | ${ms(p99)} | ${bytes} | ${ms(concat)} | ${(p50 / concat).toFixed(2)}× | ${ms(naive)} | ${naiveBytes.toLocaleString('en')} | ${(bytes / naiveBytes).toPrecision(2)} |`,
        );
        console.log(`n=${n} ${name} (${form}): render+diff+JSON p50 ${ms(p50)} ms p99 ${ms(p99)} ms, ${bytes} B (${forward.length} samples)`);
      }
      if (bytesOf.eager !== bytesOf.memo) throw new Error(`n=${n} ${name}: the memo form sent ${bytesOf.memo} B, the eager form ${bytesOf.eager} B`);
    }
  }
}

function mountRow(): void {
  const s = stateOf(100);
  const htmlBytes = Buffer.byteLength(concatRender(s));
  const concat = sample(() => Buffer.byteLength(concatRender(s)));
  rows.push('');
  rows.push('| mount of 100 items | form | ours | raw baseline | ratio |');
  rows.push('| --- | --- | --- | --- | --- |');
  for (const form of Object.keys(views) as Form[]) {
    const view = views[form];
    let bytes = 0;
    const mount = sample(() => {
      bytes = Buffer.byteLength(JSON.stringify(new DiffTracker().mount(view(s))));
    });
    rows.push(`| JSON payload | ${form} | ${bytes.toLocaleString('en')} B | HTML of the list: ${htmlBytes.toLocaleString('en')} B | ${(bytes / htmlBytes).toFixed(2)}× |`);
    rows.push(`| render + mount + JSON, median | ${form} | ${ms(median(mount))} ms | string concatenation: ${ms(median(concat))} ms | ${(median(mount) / median(concat)).toFixed(2)}× |`);
    console.log(`mount of 100 (${form}): ${bytes} B JSON, ${ms(median(mount))} ms`);
  }
}

/** Heap retained per mounted tracker of a 100-todo view: one trial of `k` trackers. */
function memoryTrial(view: (s: State) => Template, k: number): number {
  // Every view gets its own todos, kept alive in both measurements: only the trackers differ.
  // Their titles are flat strings, as titles decoded from a database are: a title built by
  // concatenation is a rope, which the first render flattens in place, and the flat copy (about
  // 20 bytes per todo net) would be counted as the tracker's.
  const states = Array.from({ length: k }, () => JSON.parse(JSON.stringify(stateOf(100))) as State);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const trackers = states.map((s) => {
    const tracker = new DiffTracker();
    tracker.mount(view(s));
    return tracker;
  });
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (trackers.length !== states.length) throw new Error('unreachable: keeps both alive until measured');
  return (after - before) / k;
}

function memoryRow(label: string, view: (s: State) => Template): void {
  // Each trial runs in its own call so nothing of the previous one is still reachable.
  const trials = [memoryTrial(view, 1000), memoryTrial(view, 1000), memoryTrial(view, 1000)];
  const perView = median(trials);
  // A raw baseline: the rendered HTML string of the list, which a naive server would keep to diff.
  const htmlBytes = Buffer.byteLength(concatRender(stateOf(100)));
  rows.push(`| retained by one mounted tracker, 100 todos | ${label} | ${(perView / 1024).toFixed(2)} KB | HTML of the list kept as a string: ${(htmlBytes / 1024).toFixed(1)} KB | ${(perView / htmlBytes).toFixed(3)}× |`);
  console.log(`memory (${label}): ${(perView / 1024).toFixed(2)} KB per mounted tracker (trials: ${trials.map((t) => (t / 1024).toFixed(2)).join(', ')} KB)`);
}

console.log(`diff bench: node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
rows.push('| items | event | form | render + diff + JSON, p50 ms | p99 ms | diff bytes | concat render of the list, p50 ms | ratio | JSON.stringify of the list, ms | its bytes | bytes ratio |');
rows.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
// Memory first, on a quiet heap; then the timings.
const memory: string[] = [];
{
  const start = rows.length;
  memoryRow('eager', eagerView);
  memoryRow('memo', memoView);
  memoryRow('memo, own array (a filtered view)', memoOwnArrayView);
  memory.push(...rows.splice(start));
}
eventRows();
mountRow();
rows.push(...memory);
console.log(`\n${rows.join('\n')}`);
