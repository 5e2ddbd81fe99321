/**
 * The contract of a dashboard page: mounted into `<main>` once, then updated with every overview
 * the live feed delivers, and unmounted when the user navigates away.
 */
import type { Overview } from './types.js';

/** A page of the dashboard. */
export interface Page {
  /** Document title. */
  title: string;
  /** Which nav link is current (`overview`, `dlq`, `alerts`). */
  nav: string;
  mount(main: HTMLElement): void;
  update(o: Overview): void;
  unmount?(): void;
}
