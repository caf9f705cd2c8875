import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The rackboot console: Preact + TypeScript, built to ui/dist and served by rackboot itself at
 * /ui/ (src/http/routes/console.ts). One small bundle, no CDN, nothing fetched at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  // JSX compiles to Preact's automatic runtime (no preset plugin needed).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No modulepreload polyfill: it would be an inline script, which the console's CSP forbids.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 100,
  },
});
