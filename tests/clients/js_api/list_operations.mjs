// Prints every operation of @novu/api as "dotted.name" lines (one SDK class walk, no network).
import { Novu } from "@novu/api";

const client = new Novu({ secretKey: "x", serverURL: "http://127.0.0.1:9" });
const baseProto = Object.getPrototypeOf(Object.getPrototypeOf(client)); // ClientSDK
const baseNames = new Set();
for (let p = baseProto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
  for (const name of Object.getOwnPropertyNames(p)) baseNames.add(name);
}
const seen = new Set();
const ops = [];
function walk(obj, prefix) {
  if (seen.has(obj)) return;
  seen.add(obj);
  for (let p = Object.getPrototypeOf(obj); p && p !== baseProto && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === "constructor" || name.startsWith("_") || baseNames.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(p, name);
      if (desc.get) walk(obj[name], prefix ? `${prefix}.${name}` : name);
      else if (typeof desc.value === "function") ops.push(prefix ? `${prefix}.${name}` : name);
    }
  }
}
walk(client, "");
console.log([...new Set(ops)].sort().join("\n"));
