/**
 * eccvkit in a browser (`eccvkit/browser`, and `eccvkit` for bundlers that
 * honour the `browser` condition): the platform-free core with the browser's
 * engine (webgpu → webgl → wasm → cpu, see `engine/browser.ts`) and what only
 * a browser has: decoding a `Blob` or `File` (a dropped PNG or JPEG) to an
 * image. The names and signatures are those of the Node entry wherever a name
 * does not need Node; folder-based save and load (checkpoints, model folders)
 * fail here with a message that points to tfjs IO handlers, which
 * `saveModel` and `loadModel` accept (`tf.io.browserDownloads()`,
 * `'indexeddb://name'`, `tf.io.browserFiles`).
 * @packageDocumentation
 */
import { rgbaToImage, type RawImage } from './data/pixels.js';
import { EccvkitInputError } from './errors.js';
import { setPlatform } from './platform.js';

export * from './core.js';
export { setBrowserWasmPaths } from './engine/browser.js';

setPlatform({ name: 'browser' });

interface BrowserImageApi {
  createImageBitmap(blob: unknown): Promise<{ width: number; height: number; close(): void }>;
  OffscreenCanvas: new (w: number, h: number) => { getContext(kind: '2d'): { drawImage(img: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null };
}

/**
 * Decodes a `Blob` or `File` holding an image the browser can read (PNG,
 * JPEG, WebP, …) to `h·w·c` values in [0, 1] (`channels` 1: luma, 3: RGB).
 * @throws EccvkitInputError naming `name` when the bytes are not an image
 */
export async function decodeImageBlob(blob: { type?: string; size?: number }, channels: 1 | 3 = 3, name = 'image'): Promise<RawImage> {
  const api = globalThis as unknown as Partial<BrowserImageApi>;
  if (api.createImageBitmap === undefined || api.OffscreenCanvas === undefined) {
    throw new EccvkitInputError(name, 'a blob in a context without createImageBitmap and OffscreenCanvas', 'a browser page or worker (in Node, decodeImage decodes PNG and JPEG bytes)');
  }
  let bitmap: Awaited<ReturnType<BrowserImageApi['createImageBitmap']>>;
  try {
    bitmap = await api.createImageBitmap(blob);
  } catch (err) {
    throw new EccvkitInputError(name, `${blob.type || 'a file'} of ${blob.size ?? '?'} bytes the browser cannot decode (${(err as Error).message})`, 'an image (PNG, JPEG, WebP)');
  }
  const { width, height } = bitmap;
  const ctx = new api.OffscreenCanvas(width, height).getContext('2d');
  if (ctx === null) throw new Error('OffscreenCanvas.getContext("2d") returned null');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return rgbaToImage(ctx.getImageData(0, 0, width, height).data, width, height, channels, name);
}
