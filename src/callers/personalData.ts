import { TypeInfo, visit, visitWithTypeInfo, BREAK, Kind, type DocumentNode, type GraphQLField, type GraphQLSchema } from "graphql";

/** The tag the schema puts on fields that carry personal data (`@tag(name: "personal-data")`). */
const PERSONAL_DATA_TAG = "personal-data";

/** Whether a field of the schema is tagged as personal data. */
function isPersonal(field: GraphQLField<unknown, unknown>): boolean {
  return (
    field.astNode?.directives?.some(
      (directive) =>
        directive.name.value === "tag" &&
        directive.arguments?.some(
          (argument) => argument.name.value === "name" && argument.value.kind === Kind.STRING && argument.value.value === PERSONAL_DATA_TAG,
        ),
    ) ?? false
  );
}

/**
 * Whether a document selects any field tagged `personal-data` (in any of its operations and
 * fragments: a document that could read personal data is audited as if it did). Worked out once per
 * parsed document: Apollo hands the same object for every request of a cached document.
 */
export function personalDataReader(schema: GraphQLSchema): (document: DocumentNode) => boolean {
  const known = new WeakMap<DocumentNode, boolean>();
  return (document) => {
    const cached = known.get(document);
    if (cached !== undefined) return cached;
    const typeInfo = new TypeInfo(schema);
    let found = false;
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const field = typeInfo.getFieldDef();
          if (field === null || field === undefined || !isPersonal(field)) return undefined;
          found = true;
          return BREAK;
        },
      }),
    );
    known.set(document, found);
    return found;
  };
}
