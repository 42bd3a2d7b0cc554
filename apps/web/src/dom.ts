/**
 * Tiny DOM builder. Every piece of text goes through `textContent` / attributes, never
 * through `innerHTML`, so data coming from the API cannot inject markup.
 */

export type Child = Node | string | number | bigint | null | undefined | false;

type Handlers = { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };

export interface ElProps {
  id?: string;
  class?: string;
  title?: string;
  /** Extra attributes; `undefined` / `false` leave the attribute out, `true` sets it empty. */
  attrs?: Record<string, string | number | boolean | undefined>;
  /** `data-*` attributes, keyed in camelCase as for `dataset`. */
  data?: Record<string, string | undefined>;
  on?: Handlers;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElProps | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props) {
    if (props.id !== undefined) node.id = props.id;
    if (props.class !== undefined) node.className = props.class;
    if (props.title !== undefined) node.title = props.title;
    for (const [name, value] of Object.entries(props.attrs ?? {})) {
      if (value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const [key, value] of Object.entries(props.data ?? {})) {
      if (value !== undefined) node.dataset[key] = value;
    }
    for (const [type, handler] of Object.entries(props.on ?? {})) {
      if (handler) node.addEventListener(type, handler as EventListener);
    }
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A `<td>` holding text; numeric cells get the `num` class (right aligned). */
export function td(content: Child, className?: string): HTMLTableCellElement {
  return el('td', className === undefined ? null : { class: className }, content);
}

export function th(text: string, className?: string): HTMLTableCellElement {
  return el('th', { class: className, attrs: { scope: 'col' } }, text);
}

/** Escapes text for the few places that must produce an HTML string (ECharts tooltips). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function requireElement<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`index.html lacks #${id}`);
  return node;
}
