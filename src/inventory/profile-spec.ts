/** Moved to the model leaf; kept so older imports resolve. */
export * from '../model/profile-spec.js';
