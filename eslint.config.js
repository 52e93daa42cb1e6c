// Lint: the recommended rules of ESLint and typescript-eslint (syntax only, so it stays
// fast; `tsc --noEmit` does the type checking), plus no focused tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const focused = ['describe', 'it', 'test', 'suite'].map((object) => ({
  object,
  property: 'only',
  message: 'Focused tests hide the rest of the suite.',
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.tmp/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', fetch: 'readonly', performance: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', globalThis: 'readonly', window: 'readonly', document: 'readonly' },
    },
    rules: {
      'no-restricted-properties': ['error', ...focused],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-control-regex': 'off',
    },
  },
);
