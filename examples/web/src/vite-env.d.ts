/// <reference types="vite/client" />

/** Variables Vite replaces at build time (`npm run web` sets this one to the service it starts). */
interface ImportMetaEnv {
  readonly VITE_GRAPHQL_URL?: string;
}
