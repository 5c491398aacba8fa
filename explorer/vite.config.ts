import { defineConfig } from "vite";

// Relative asset URLs: the page is served at the GraphQL endpoint, wherever a proxy mounts it.
// GraphiQL with Monaco and its workers is about 7 MB; the service serves it, never a CDN.
export default defineConfig({
  base: "./",
  // React's production build whatever NODE_ENV the build runs under (vitest sets `test`): the
  // development one is larger, slower and asks for its DevTools.
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "dist",
    assetsDir: "graphiql",
    emptyOutDir: true,
    chunkSizeWarningLimit: 3_000,
    rolldownOptions: {
      // GraphiQL's dependencies mark React server-component boundaries, which mean nothing in a bundle.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
});
