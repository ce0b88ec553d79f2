/**
 * The glyph generator moved to `data/glyphs.ts` so every paper module can use
 * it; this re-export keeps the old path working.
 */
export { generateGlyphs, type GlyphOptions } from '../data/glyphs.js';
