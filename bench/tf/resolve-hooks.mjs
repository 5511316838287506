// Node module hooks that let tfjs-core's per-file ES modules load. Its gradient registrations
// exist only there (dist/register_all_gradients.js; the CommonJS bundle Node picks for
// '@tensorflow/tfjs-core' has none), and those files import './x' without the '.js' that Node's
// ESM resolver insists on. Only relative imports from inside @tensorflow packages are retried.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const retry =
      specifier.startsWith('.') &&
      context.parentURL?.includes('/node_modules/@tensorflow/') &&
      (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT');
    if (!retry) throw err;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await nextResolve(specifier + suffix, context);
      } catch {
        // Try the next spelling; the original error is the one worth reporting.
      }
    }
    throw err;
  }
}
