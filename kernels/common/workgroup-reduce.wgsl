// Shared workgroup reduction, prepended to the kernels that use it.

// Scratch for workgroup_sum_256: one slot per thread of a 256-thread workgroup.
var<workgroup> wg_sum_scratch: array<f32, 256>;

// Sum of `value` over the 256 threads of a workgroup (li = local_invocation_index), returned to
// every thread. The order is fixed (halving tree: slot i += slot i + h for h = 128, 64, .., 1),
// so the result is bitwise reproducible. Call from uniform control flow (it has barriers).
fn workgroup_sum_256(li: u32, value: f32) -> f32 {
  wg_sum_scratch[li] = value;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h / 2u) {
    if (li < h) { wg_sum_scratch[li] += wg_sum_scratch[li + h]; }
    workgroupBarrier();
  }
  let total = wg_sum_scratch[0];
  workgroupBarrier();
  return total;
}
