// The client preset's own transform, as a module codegen.yml can name: the persisted documents then
// select __typename where Apollo Client's cache adds it, so the document the service runs from the
// manifest answers what the cache expects.
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

export const transform = addTypenameSelectionDocumentTransform.transform;
