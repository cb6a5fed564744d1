// The Alibaba SDK packages are CommonJS with `exports.default = Client`. Node's ESM loader hands a
// default import the whole module.exports; vite/vitest hands it module.exports.default. Accept both.
export function cjsDefault<C>(mod: { default: C }): C {
  return typeof mod === 'function' ? (mod as unknown as C) : mod.default;
}
