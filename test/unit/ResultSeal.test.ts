import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PLAIN, ResultSeal } from "../../src/fleet/ResultSeal.js";

const key = randomBytes(32);
const other = randomBytes(32);
const SCOPE = "appfabric-subgraph:0123456789abcdef:";
const VALUE = JSON.stringify({ t: "task-1", f: 1, i: { email: "jordan.rivers@example.com", resultStatus: "COMPLETED" } });

describe("ResultSeal", () => {
  it("opens what it sealed, and shows nothing of it; each seal differs (a fresh IV)", () => {
    const seal = new ResultSeal({ current: key }, SCOPE);
    const sealed = seal.seal("task-1", VALUE);
    expect(sealed).toMatch(/^s1:[0-9a-f]{8}:[\w-]+$/);
    expect(sealed).not.toContain("jordan");
    expect(seal.seal("task-1", VALUE)).not.toBe(sealed);
    expect(seal.open("task-1", sealed)).toBe(VALUE);
  });

  it("opens nothing sealed for another task, another key space or with another key, nor anything changed", () => {
    const seal = new ResultSeal({ current: key }, SCOPE);
    const sealed = seal.seal("task-1", VALUE);
    expect(seal.open("task-2", sealed)).toBeUndefined();
    expect(new ResultSeal({ current: key }, "other:0123456789abcdef:").open("task-1", sealed)).toBeUndefined();
    expect(new ResultSeal({ current: other }, SCOPE).open("task-1", sealed)).toBeUndefined();
    const body = sealed.split(":")[2] ?? "";
    for (let index = 0; index < body.length; index += 7) {
      const changed = body.slice(0, index) + (body[index] === "A" ? "B" : "A") + body.slice(index + 1);
      expect(seal.open("task-1", `s1:${sealed.split(":")[1]}:${changed}`)).toBeUndefined();
    }
    for (const junk of ["", VALUE, "s1:", "s1:00000000:", `${sealed}:x`, "s2" + sealed.slice(2), sealed.slice(0, 30)])
      expect(seal.open("task-1", junk)).toBeUndefined();
  });

  it("opens with the previous key during a rotation, and seals with the current one only", () => {
    const before = new ResultSeal({ current: other }, SCOPE).seal("task-1", VALUE);
    const rotating = new ResultSeal({ current: key, previous: other }, SCOPE);
    expect(rotating.open("task-1", before)).toBe(VALUE);
    const after = rotating.seal("task-1", VALUE);
    expect(new ResultSeal({ current: key }, SCOPE).open("task-1", after)).toBe(VALUE);
    expect(new ResultSeal({ current: other }, SCOPE).open("task-1", after)).toBeUndefined();
  });

  it("plain: values as they are, and never a sealed one (a deployment without the key cannot read them as JSON)", () => {
    expect(PLAIN.seal("task-1", VALUE)).toBe(VALUE);
    expect(PLAIN.open("task-1", VALUE)).toBe(VALUE);
    expect(PLAIN.open("task-1", new ResultSeal({ current: key }, SCOPE).seal("task-1", VALUE))).toBeUndefined();
  });
});
