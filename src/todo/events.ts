/**
 * The events a TodoMVC page sends, and their validation. Every payload from the browser is
 * untrusted: it is parsed here into one of a closed set of typed commands, extra fields are
 * dropped, and anything malformed becomes a `TODO_BAD_EVENT` error the view answers
 * harmlessly. Titles are only type-checked here; their rules live in `rules.ts`.
 */
import { randomFillSync } from 'node:crypto';
import { z } from 'zod';
import { describeValue, ErrorCodes, TodoLiveError } from '../errors.js';

/** Event names, as written in `phx-*` bindings and hook pushes. */
export const TodoEvents = {
  /** `phx-change` of the new-todo form: the half-typed title. */
  DRAFT: 'draft',
  /** `phx-submit` of the new-todo form. */
  ADD: 'add',
  /** Click on an item's checkbox. */
  TOGGLE: 'toggle',
  /** Click on the "mark all as complete" checkbox. */
  TOGGLE_ALL: 'toggle-all',
  /** Double-click on a title (pushed by the client hook). */
  EDIT: 'edit',
  /** `phx-submit` of the edit form (Enter) or `phx-blur` of its field. */
  SAVE: 'save',
  /** Escape in the edit field. */
  CANCEL: 'cancel',
  /** Click on an item's destroy button. */
  DESTROY: 'destroy',
  /** Click on "Clear completed". */
  CLEAR_COMPLETED: 'clear-completed',
} as const;

export type TodoEventName = (typeof TodoEvents)[keyof typeof TodoEvents];

/** Ids are the store's; anything else cannot name a todo, so it is refused before any lookup. */
const todoId = z.string().regex(/^[0-9]{1,15}$/, 'expected a todo id of digits');
/** Operation ids are minted by the server into each form; see `newOpId`. */
const opId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected an operation id of 8-64 url-safe characters');
/** Titles are checked by `checkTitle`; here only their type, and a size a paste cannot exceed. */
const title = z.string().max(100_000);

/**
 * A clicked checkbox's state after the click, as the client reports it: `value` ("on") is sent
 * only when the box is now checked. That is the state the user sees, so a repeated click before
 * the reply means what it shows, and the page needs no attribute carrying the target state.
 */
const checkedAfterClick = z
  .literal('on')
  .optional()
  .transform((v) => v !== undefined);

const schemas = {
  [TodoEvents.DRAFT]: z.object({ title: title.default(''), op: opId.optional() }),
  [TodoEvents.ADD]: z.object({ title, op: opId }),
  // The target state (set, not flip): a click replayed after a reconnect cannot flip it back.
  [TodoEvents.TOGGLE]: z.object({ id: todoId, value: checkedAfterClick }).transform((v) => ({ id: v.id, completed: v.value })),
  [TodoEvents.TOGGLE_ALL]: z.object({ op: opId, value: checkedAfterClick }).transform((v) => ({ op: v.op, completed: v.value })),
  [TodoEvents.EDIT]: z.object({ id: todoId }),
  // Enter submits the form (`title`); blur sends the field's current text as `value`.
  [TodoEvents.SAVE]: z
    .object({ id: todoId.optional(), op: opId.optional(), title: title.optional(), value: title.optional() })
    .refine((v) => v.title !== undefined || v.value !== undefined, 'expected a title or a value')
    .transform((v) => ({ id: v.id, title: (v.title ?? v.value) as string })),
  [TodoEvents.CANCEL]: z.object({ id: todoId.optional() }),
  // The button's own value is the todo's id (the client sends a button's value with its click);
  // a page rendered by an earlier version sends it as `id`, next to an empty value.
  [TodoEvents.DESTROY]: z
    .object({ id: todoId.optional(), value: z.string().optional() })
    .transform((v) => v.id ?? v.value)
    .pipe(todoId)
    .transform((id) => ({ id })),
  [TodoEvents.CLEAR_COMPLETED]: z.object({ op: opId }),
} as const;

type Schemas = typeof schemas;

/** A validated event: its name and its typed payload. */
export type TodoEvent = {
  [K in keyof Schemas]: { name: K; value: z.output<Schemas[K]> };
}[keyof Schemas];

/**
 * Validates an event from the browser. Throws `TODO_BAD_EVENT` naming the event and what was
 * wrong (never echoing more than a short excerpt of the payload).
 */
export function parseTodoEvent(name: string, value: unknown): TodoEvent {
  if (!Object.hasOwn(schemas, name)) {
    throw new TodoLiveError(ErrorCodes.TODO_BAD_EVENT, `expected one of ${Object.keys(schemas).join(', ')}, got event ${describeValue(name)}`);
  }
  const schema = schemas[name as keyof Schemas];
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new TodoLiveError(ErrorCodes.TODO_BAD_EVENT, `event "${name}" expected a valid payload, got ${describeValue(value)} (${problems})`, {
      details: { event: name },
    });
  }
  return { name, value: parsed.data } as TodoEvent;
}

const OP_ID_BYTES = 12;
/** Ids are drawn from one buffer of random bytes refilled every 256 ids: one call into the CSPRNG each time instead of one per id (at 2,000 events/s that was 6% of the event loop). */
const opIdPool = Buffer.alloc(OP_ID_BYTES * 256);
let opIdOffset = opIdPool.length;

/** A fresh operation id for one form instance: 96 random bits, url-safe. */
export function newOpId(): string {
  if (opIdOffset === opIdPool.length) {
    randomFillSync(opIdPool);
    opIdOffset = 0;
  }
  const id = opIdPool.toString('base64url', opIdOffset, opIdOffset + OP_ID_BYTES);
  opIdOffset += OP_ID_BYTES;
  return id;
}
