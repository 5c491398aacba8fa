import { GraphQLError, Kind, print } from "graphql";
import { redactSensitive } from "./redactSensitive.js";

/**
 * graphql-js quotes the caller's value when it cannot coerce it (`Variable "$email" got invalid value
 * { address: "jordan@example.com" }; …`, `Expected value of type "String!", found {…}`), and such a
 * value can be personal data. These messages are rewritten to name the variable and the expected
 * type only; every other message passes through `redactSensitive` as a last line of defence.
 */
export function withoutEchoedValues(message: string, error: unknown): string {
  // graphql-js quotes names from the document (an unknown field, say); a name can be 90 KB long.
  if (message.length > MAX_MESSAGE_LENGTH) message = `${message.slice(0, MAX_MESSAGE_LENGTH)}…`;
  if (VARIABLE_INVALID.test(message) && error instanceof GraphQLError) {
    const definition = error.nodes?.[0];
    if (definition?.kind === Kind.VARIABLE_DEFINITION) {
      return `Variable "$${definition.variable.name.value}" got an invalid value: expected ${print(definition.type)}. The value is not repeated here.`;
    }
    return "A variable got an invalid value. The value is not repeated here.";
  }
  const literal = LITERAL_INVALID.exec(message);
  if (literal !== null) return `Expected value of type "${literal[1]}"; the value given is not one. The value is not repeated here.`;
  // The parser quotes the string it did not expect (`Syntax Error: Expected Name, found String "…"`).
  if (message.startsWith("Syntax Error:")) message = message.replace(QUOTED_STRING_TOKEN, "$1 (not repeated here)");
  if (UNKNOWN_OPERATION.test(message)) return "The request names an operation the document does not define. The name is not repeated here.";
  const scalar = SCALAR_INVALID.exec(message);
  if (scalar !== null) return `${scalar[1]} cannot represent the value given. The value is not repeated here.`;
  return redactSensitive(message);
}

const MAX_MESSAGE_LENGTH = 500;

/** graphql-js 16's wordings that quote a value; the captured parts are schema names, not values. */
const VARIABLE_INVALID = /^Variable "\$[_A-Za-z][_0-9A-Za-z]*" got invalid value /;
const LITERAL_INVALID = /^Expected value of type "([^"]{1,200})", found /;
const SCALAR_INVALID = /^([_A-Za-z][_0-9A-Za-z]*) cannot represent /;
/** A string token as graphql-js's parser describes it. */
const QUOTED_STRING_TOKEN = /(String|BlockString) "(?:[^"\\]|\\.)*"/g;
/** Apollo's wording when `operationName` matches no operation: it quotes the caller's text. */
const UNKNOWN_OPERATION = /^Unknown operation named "/;
