/** The base-URL functions live with the other boot URLs (src/boot/urls.ts); re-exported for the composition root. */
export { derivePublicUrl, fixedPublicUrl, socketBaseUrl } from '../boot/urls.js';
