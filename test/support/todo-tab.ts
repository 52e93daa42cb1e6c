/**
 * One TodoMVC tab driven through the headless client: the page's controls as methods, sending
 * exactly what the browser's bindings send, and the page's state read back from the merged
 * HTML (the official client's own rendering).
 */
import assert from 'node:assert/strict';
import { type ConnectOptions, CookieJar, LiveClient, type PushReply } from './live-client.js';

/** One rendered todo, as read from the page. */
export interface ShownTodo {
  id: number;
  title: string;
  completed: boolean;
  editing: boolean;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** Undoes the template layer's escaping. */
export function unescapeHTML(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e);
}

/** The todos of a TodoMVC page's HTML, in display order. */
export function readTodos(html: string): ShownTodo[] {
  const out: ShownTodo[] = [];
  const li = /<li id="t(\d+)"(?: class="([^"]*)")?>[\s\S]*?<label id="l\d+"[^>]*>([\s\S]*?)<\/label>/g;
  for (const m of html.matchAll(li)) {
    const classes = (m[2] ?? '').split(' ');
    out.push({ id: Number(m[1]), title: unescapeHTML(m[3] ?? ''), completed: classes.includes('completed'), editing: classes.includes('editing') });
  }
  return out;
}

/** The counter's text ("2 items left"), or null when the footer is hidden. */
export function readCounter(html: string): string | null {
  const m = /<span class="todo-count"[^>]*>([\s\S]*?)<\/span>/.exec(html);
  return m === null ? null : (m[1] ?? '').replace(/<[^>]+>/g, '');
}

export class TodoTab {
  constructor(readonly client: LiveClient) {}

  /** Opens `path` (optionally in an existing browser's cookie jar) and joins. */
  static async open(baseUrl: string, path = '/', options: ConnectOptions = {}): Promise<TodoTab> {
    const client = await LiveClient.open(baseUrl, path, options);
    const reply = await client.join();
    assert.equal(reply.status, 'ok', `join failed: ${JSON.stringify(reply.response)}`);
    return new TodoTab(client);
  }

  /** A second tab of the same browser (same cookies). */
  sibling(path = '/'): Promise<TodoTab> {
    return TodoTab.open(this.client.baseUrl, path, { jar: this.client.jar });
  }

  static newBrowser(): CookieJar {
    return new CookieJar();
  }

  html(): string {
    return this.client.html();
  }

  todos(): ShownTodo[] {
    return readTodos(this.html());
  }

  titles(): string[] {
    return this.todos().map((t) => t.title);
  }

  counter(): string | null {
    return readCounter(this.html());
  }

  /** The new-todo field's value attribute. */
  draft(): string {
    const m = /<input id="new-todo"[^>]*? value="([^"]*)"/.exec(this.html());
    return unescapeHTML(m?.[1] ?? '');
  }

  /** The operation id rendered into the new-todo form. */
  addOp(): string {
    return this.#attr(/<input type="hidden" name="op" value="([^"]+)">\s*<label for="new-todo"/);
  }

  /** The operation id of the list-wide controls. */
  bulkOp(): string {
    return this.#attr(/id="toggle-all"[^>]*phx-value-op="([^"]+)"/);
  }

  idOf(title: string): number {
    const todo = this.todos().find((t) => t.title === title);
    assert.ok(todo, `no todo titled ${JSON.stringify(title)} in ${JSON.stringify(this.titles())}`);
    return todo.id;
  }

  type(title: string): Promise<PushReply> {
    return this.client.change('draft', { op: this.addOp(), title }, 'title');
  }

  /** Types and presses Enter, as the browser does (change events, then the submit). */
  async add(title: string): Promise<PushReply> {
    await this.type(title);
    return this.client.submit('add', { op: this.addOp(), title });
  }

  /**
   * Clicks a todo's checkbox. Like the official client, the payload carries `value: "on"` only
   * when the box is checked after the click: that is the target state.
   */
  toggle(title: string): Promise<PushReply> {
    const todo = this.todos().find((t) => t.title === title);
    assert.ok(todo, `no todo titled ${JSON.stringify(title)}`);
    return this.client.click('toggle', { id: String(todo.id), ...(todo.completed ? {} : { value: 'on' }) });
  }

  toggleAll(): Promise<PushReply> {
    const checkedBefore = /id="toggle-all"[^>]* checked>/.test(this.html());
    return this.client.click('toggle-all', { op: this.bulkOp(), ...(checkedBefore ? {} : { value: 'on' }) });
  }

  destroy(title: string): Promise<PushReply> {
    return this.client.click('destroy', { value: String(this.idOf(title)) });
  }

  clearCompleted(): Promise<PushReply> {
    const m = /<button class="clear-completed" phx-click="clear-completed" phx-value-op="([^"]+)"/.exec(this.html());
    assert.ok(m, 'no Clear completed button');
    return this.client.click('clear-completed', { op: m[1], value: '' });
  }

  /** Double-click on a title: what the client hook pushes. */
  edit(title: string): Promise<PushReply> {
    return this.client.hook('edit', { id: String(this.idOf(title)) });
  }

  /** The edit field's value attribute, or null when nothing is being edited. */
  editValue(): string | null {
    const m = /<input id="edit-\d+" class="edit" name="title" value="([^"]*)"/.exec(this.html());
    return m === null ? null : unescapeHTML(m[1] ?? '');
  }

  /** Enter in the edit field. */
  saveWithEnter(title: string): Promise<PushReply> {
    const op = this.#attr(/<form id="edit-form-\d+" phx-submit="save">\s*<input type="hidden" name="op" value="([^"]+)">/);
    return this.client.submit('save', { op, title });
  }

  /** The edit field loses focus with `title` in it. */
  saveWithBlur(id: number, title: string): Promise<PushReply> {
    return this.client.blur('save', { id: String(id), value: title });
  }

  escape(id: number): Promise<PushReply> {
    return this.client.keydown('cancel', 'Escape', { id: String(id), value: '' });
  }

  patch(path: string): Promise<PushReply> {
    return this.client.patch(path);
  }

  /** Waits until `check` holds for this tab's page (diffs arrive asynchronously). */
  async until(check: (tab: TodoTab) => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; page shows ${JSON.stringify(this.titles())}`);
      await this.client.nextDiff(Math.max(1, deadline - Date.now())).catch(() => {});
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #attr(pattern: RegExp): string {
    const m = pattern.exec(this.html());
    assert.ok(m?.[1], `pattern ${pattern} not found in the page`);
    return m[1];
  }
}
