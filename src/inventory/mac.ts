/** Moved to the model leaf; kept so older imports resolve. */
export * from '../model/mac.js';
