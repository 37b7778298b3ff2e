// The stores that follow the journal (a module of its own: naming them must not load them).
export type StoreName = 'sqlite' | 'arrow';
export const STORES: readonly StoreName[] = ['sqlite', 'arrow'];
