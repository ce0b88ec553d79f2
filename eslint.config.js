import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'scratch/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use createRng(seed) from src/engine/rng.ts so runs are reproducible.' }],
    },
  },
  {
    // The playground's pages: plain browser modules, no bundler.
    files: ['playground/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'location', 'navigator', 'fetch', 'performance', 'ImageData', 'OffscreenCanvas', 'DragEvent', 'URL', 'URLSearchParams'].map((g) => [g, 'readonly'])),
    },
  },
);
