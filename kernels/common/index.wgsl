// Shared index math, prepended to the kernels that use it (WGSL has no imports; see
// src/gpu/kernel.ts). One definition here instead of a copy per kernel file.

// Flat element index of a 256-wide workgroup grid split over x and y (at most 65535 workgroups
// per dimension): the host dispatches ceil(n / 256) workgroups as [x, y] (gridFor), and this
// rebuilds the thread's global position from num_workgroups, so no size is compiled in.
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}
