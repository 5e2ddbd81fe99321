/**
 * A tiny element builder: every text goes through `textContent`, never HTML, so nothing a record
 * or an error message contains can inject markup into the dashboard.
 */

/** Attribute values; `false`/`undefined` omit the attribute, functions become listeners (`on*`). */
export type Attrs = Record<string, string | number | boolean | undefined | null | ((e: Event) => void)>;
/** A child: a node, text, or nothing. */
export type Child = Node | string | number | null | undefined | false | Child[];

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** Creates an HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Creates an SVG element. */
export function svg(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * Replaces a region's content, keeping keyboard focus on the element with the same `data-key`
 * (live updates rebuild regions every few seconds; focus must not jump away).
 */
export function replaceRegion(region: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && region.contains(active) ? active.dataset.key : undefined;
  const frag = document.createDocumentFragment();
  append(frag, children);
  region.replaceChildren(frag);
  if (key) region.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}
