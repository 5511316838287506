/**
 * How the browser tests start headless Chromium: Debian's /usr/bin/chromium (browser downloads
 * fail on these machines) with WebGPU on SwiftShader's Vulkan, and without the background
 * services that would reach the network.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
