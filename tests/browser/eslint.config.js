// ESLint flat config for the page's plain ES modules (browser globals; no bundler, only minified when served).
// Run: npm --prefix tests/browser install && npm --prefix tests/browser run lint
import js from '@eslint/js';
import globals from 'globals';

// Run from the repository root (see package.json): with --config, paths are relative to the cwd.
const FILES = ['web/js/**/*.js', 'bench/connect/reference/**/*.js', 'bench/transcript/reference/**/*.js', 'examples/agents-realtime/*.js'];

export default [
  // Vendored as published (scripts/vendor-oauth4webapi): not our code to restyle.
  { ignores: ['web/js/vendor/**'] },
  { ...js.configs.recommended, files: FILES },
  {
    files: FILES,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error', // nothing is logged: a secret must never reach the console
      eqeqeq: 'error',
      'prefer-const': 'error',
      'no-var': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Network text is set with textContent.' },
        { property: 'outerHTML', message: 'Network text is set with textContent.' },
        { object: 'document', property: 'write', message: 'No document.write.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'localStorage', message: 'Nothing is stored: the client secret must not persist.' },
        { name: 'sessionStorage', message: 'Nothing is stored: the client secret must not persist.' },
        { name: 'indexedDB', message: 'Nothing is stored: the client secret must not persist.' },
      ],
    },
  },
];
