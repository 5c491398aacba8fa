import { MAX_EMAIL_LENGTH } from "./constants.js";

/**
 * AppFabric's `Email` shape, as its Smithy model states it (aws-sdk-js-v3
 * `codegen/sdk-codegen/aws-models/appfabric.json`; botocore's copy drops the anchors): the part before
 * "@" from ASCII letters, digits and ``.!#$%&’*+/=?^_`{|}~-`` (the apostrophe is U+2019, not the ASCII
 * `'`), a domain of ASCII letters, digits and hyphens in dot-separated labels, at most 320 characters.
 * The service checks an email with it before starting anything, and the emulator refuses with it.
 */
export const AWS_EMAIL_PATTERN = /^[a-zA-Z0-9.!#$%&’*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$/;

const LOCAL_PART = /^[a-zA-Z0-9.!#$%&’*+/=?^_`{|}~-]+$/;
const DOMAIN = /^[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$/;

/**
 * Which part of `email` AppFabric would refuse, in words that never quote it; `undefined` when
 * AppFabric accepts it (`AWS_EMAIL_PATTERN` and the length).
 */
export function emailProblem(email: string): string | undefined {
  if (email.length === 0) return "it is empty";
  if (email.length > MAX_EMAIL_LENGTH) return `it is longer than ${MAX_EMAIL_LENGTH} characters`;
  if (AWS_EMAIL_PATTERN.test(email)) return undefined;
  const at = email.lastIndexOf("@");
  if (at === -1) return 'it has no "@"';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length === 0) return 'nothing comes before the "@"';
  if (!LOCAL_PART.test(local)) {
    return 'the part before the "@" may hold only ASCII letters, digits and . ! # $ % & ’ * + / = ? ^ _ ` { | } ~ - (no second "@", no spaces, no ASCII apostrophe, no accented letters)';
  }
  if (domain.length === 0) return 'nothing comes after the "@"';
  if (!DOMAIN.test(domain)) {
    return 'the domain may hold only ASCII letters, digits and hyphens, in labels separated by single dots (no "_", no [address], no dot at either end)';
  }
  return "AppFabric would refuse it";
}
