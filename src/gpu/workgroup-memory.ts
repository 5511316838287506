/**
 * The workgroup memory an entry point needs, from its kernel contract: the `var<workgroup>`
 * variables it statically uses, each sized by its type with the module's `const` and `override`
 * values (override constants as given for the dispatch, else their defaults). WebGPU counts
 * roundUp(16, SizeOf(T)) per variable against maxComputeWorkgroupStorageSize (WebGPU spec,
 * "GPUComputePipeline creation": workgroup storage validation), so that is what is summed here:
 * a kernel specialised beyond the device's limit is refused before its pipeline is created,
 * naming the kernel, each variable's bytes and the limit, instead of failing inside Dawn.
 */
import type { KernelContract, TypeExpr } from './kernel-contract.js';

/** The workgroup memory of one entry point: each variable's bytes (rounded to 16) and the total. */
export interface WorkgroupUsage {
  total: number;
  variables: { name: string; bytes: number }[];
}

const SCALAR_BYTES: Record<string, number> = { f32: 4, i32: 4, u32: 4, f16: 2, bool: 4 };
const SUFFIXED: Record<string, string> = { f: 'f32', i: 'i32', u: 'u32', h: 'f16' };

/** Size and alignment (WGSL spec §14.4.1) of the types a workgroup variable may have here. */
function layout(where: string, t: TypeExpr, value: (tokens: string[]) => number): { size: number; align: number } {
  const scalar = SCALAR_BYTES[t.name];
  if (scalar) return { size: scalar, align: scalar };
  if (t.name === 'atomic') return layout(where, t.args[0], value);
  const vec = /^vec([234])([fiuh]?)$/.exec(t.name);
  if (vec) {
    const element = SCALAR_BYTES[vec[2] ? SUFFIXED[vec[2]] : (t.args[0]?.name ?? '')];
    if (!element) throw new Error(`${where}: cannot size the vector type ${t.name}`);
    const n = Number(vec[1]);
    const align = (n === 2 ? 2 : 4) * element;
    return { size: n * element, align };
  }
  if (t.name === 'array' && t.args.length === 2) {
    const element = layout(where, t.args[0], value);
    const length = value(t.args[1].expr ?? [t.args[1].name]);
    const stride = Math.ceil(element.size / element.align) * element.align;
    return { size: length * stride, align: element.align };
  }
  throw new Error(`${where}: cannot size the type ${t.name} (scalars, atomics, vectors and fixed arrays of them are supported)`);
}

/**
 * Evaluates an integer constant expression of WGSL tokens: literals (with i/u suffixes), names
 * of module constants and overrides, + - * / % and parentheses, by precedence.
 */
function evaluate(where: string, tokens: string[], lookup: (name: string) => number): number {
  let i = 0;
  const primary = (): number => {
    const t = tokens[i++];
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') throw new Error(`${where}: unbalanced parentheses in '${tokens.join(' ')}'`);
      return v;
    }
    if (t === '-') return -primary();
    if (t !== undefined && /^(0[xX][0-9a-fA-F]+|[0-9]+)[iu]?$/.test(t)) return Number(t.replace(/[iu]$/, ''));
    if (t !== undefined && /^[A-Za-z_]\w*$/.test(t)) return lookup(t);
    throw new Error(`${where}: cannot evaluate '${tokens.join(' ')}' (at '${t ?? 'the end'}')`);
  };
  const product = (): number => {
    let v = primary();
    while (tokens[i] === '*' || tokens[i] === '/' || tokens[i] === '%') {
      const op = tokens[i++];
      const r = primary();
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[i] === '+' || tokens[i] === '-') {
      const op = tokens[i++];
      const r = product();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  if (i !== tokens.length) throw new Error(`${where}: cannot evaluate '${tokens.join(' ')}'`);
  return v;
}

/**
 * The workgroup memory `entryPoint` of `contract` uses with the override values `constants`
 * (others at their defaults). Throws, naming the kernel, when a size depends on an override
 * with neither a value nor a default, or on a type or expression it cannot read.
 */
export function workgroupUsage(contract: KernelContract, entryPoint: string, constants: Record<string, number> = {}): WorkgroupUsage {
  const where = `kernel ${contract.kernel}.${entryPoint}`;
  const lookup = (name: string): number => {
    if (name in constants) return constants[name];
    const tokens = contract.scalars.get(name);
    if (tokens === undefined) throw new Error(`${where}: a workgroup array's size names ${name}, which is no module constant or override`);
    if (tokens === null) throw new Error(`${where}: a workgroup array's size needs override ${name}, which has no default and was not given`);
    return evaluate(where, tokens, lookup);
  };
  const variables = (contract.entryWorkgroupVars.get(entryPoint) ?? []).map((name) => {
    const { size } = layout(`${where}: var<workgroup> ${name}`, contract.workgroupVars.get(name)!, (tokens) => evaluate(where, tokens, lookup));
    return { name, bytes: Math.ceil(size / 16) * 16 };
  });
  return { total: variables.reduce((a, v) => a + v.bytes, 0), variables };
}

/**
 * Throws before the pipeline is created when `usage` exceeds `limit` bytes
 * (maxComputeWorkgroupStorageSize), naming the kernel, every variable's bytes, the overrides
 * given and the limit.
 */
export function checkWorkgroupUsage(label: string, usage: WorkgroupUsage, limit: number, constants: Record<string, number> = {}): void {
  if (usage.total <= limit) return;
  const parts = usage.variables.map((v) => `${v.name} ${v.bytes}`).join(', ');
  const given = Object.entries(constants).map(([k, v]) => `${k} = ${v}`).join(', ');
  throw new Error(
    `kernel ${label}: needs ${usage.total} bytes of workgroup memory (${parts}${given ? `; overrides ${given}` : ''}), ` +
      `over this device's maxComputeWorkgroupStorageSize (${limit})`,
  );
}
