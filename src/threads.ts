// How a module of src/ is started as a worker thread: compiled JavaScript as served; under tsx (tests, `npm run dev`)
// its TypeScript source, through tsx's loader, which Node 20 does not hand down to workers by itself.

/** The `Worker` constructor's first argument and `eval` option for the module `name` beside the caller's module. */
export function threadSource(callerUrl: string, name: string): { code: string | URL; eval: boolean } {
  if (!callerUrl.endsWith('.ts')) return { code: new URL(`./${name}.js`, callerUrl), eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const module = new URL(`./${name}.ts`, callerUrl).href;
  return { code: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module)}); });`, eval: true };
}
