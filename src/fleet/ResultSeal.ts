import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from "node:crypto";

/** The operator's keys for the values the fleet keeps in Redis (REDIS_ENCRYPTION_KEY[_PREVIOUS]), 32 bytes each. */
export interface SealKeys {
  /** Seals every value written, and opens values sealed with it. */
  current: Buffer;
  /** Opens values sealed before a rotation; never seals. */
  previous?: Buffer;
}

const VERSION = "s1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a value in Redis is turned into and back: sealed (encrypted and authenticated) or, as the operator chose, plain. */
export interface ValueSeal {
  seal(taskId: string, plain: string): string;
  /** The plain value, or `undefined` when `stored` is not one this deployment sealed for `taskId`. */
  open(taskId: string, stored: string): string | undefined;
}

/** RESULT_CACHE_SHARED=plain: values as they are (the operator accepts personal data in clear in Redis). */
export const PLAIN: ValueSeal = { seal: (_taskId, plain) => plain, open: (_taskId, stored) => (stored.startsWith(`${VERSION}:`) ? undefined : stored) };

/**
 * AES-256-GCM over each result kept in Redis: `s1:<key id>:<base64url of IV, ciphertext, tag>`. The
 * additional data binds the value to its deployment's key space (`scope`: key prefix and the hash of
 * bundle, region and endpoint), its task id and its key's id, so a value copied under another task's
 * key, written by another deployment or by anyone without the key does not open. The key id (8 hex
 * digits of a hash of the key) only says which key to try; it tells nothing of the key.
 */
export class ResultSeal implements ValueSeal {
  readonly #scope: string;
  readonly #current: { id: string; key: KeyObject };
  readonly #keys: ReadonlyMap<string, KeyObject>;

  constructor(keys: SealKeys, scope: string) {
    this.#scope = scope;
    // Imported once (a KeyObject), not with every value.
    this.#current = { id: keyId(keys.current), key: createSecretKey(keys.current) };
    const all = new Map([[this.#current.id, this.#current.key]]);
    if (keys.previous !== undefined) all.set(keyId(keys.previous), createSecretKey(keys.previous));
    this.#keys = all;
  }

  seal(taskId: string, plain: string): string {
    const { id, key } = this.#current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(this.#additionalData(taskId, id));
    const sealed = Buffer.concat([iv, cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}:${id}:${sealed.toString("base64url")}`;
  }

  open(taskId: string, stored: string): string | undefined {
    const [version, id, body, extra] = stored.split(":");
    const key = id === undefined ? undefined : this.#keys.get(id);
    if (version !== VERSION || key === undefined || body === undefined || extra !== undefined) return undefined;
    const sealed = Buffer.from(body, "base64url");
    if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(this.#additionalData(taskId, id ?? ""));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      // The tag did not verify: not sealed by this deployment with this key, for this task.
      return undefined;
    }
  }

  #additionalData(taskId: string, id: string): Buffer {
    return Buffer.from(`appfabric-subgraph result ${VERSION}\n${this.#scope}\n${taskId}\n${id}`);
  }
}

function keyId(key: Buffer): string {
  return createHash("sha256").update("appfabric-subgraph key id\n").update(key).digest("hex").slice(0, 8);
}
