import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// React and Apollo Client make one ~400 kB bundle; for an example that is fine, so no size warning.
export default defineConfig({ plugins: [react()], server: { port: 5173, strictPort: true }, build: { chunkSizeWarningLimit: 600 } });
