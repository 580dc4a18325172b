// Lint rules for mk: the recommended sets of ESLint and typescript-eslint, run by CI (npm run lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/unit/architecture/fixture/**', 'bench/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Data from outside is typed `any` at the very edge (JSON) and checked field by field.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Every failure a user, a file or a registry can cause is an MkError with a code from
    // src/errors/codes.ts; a plain Error is thrown only by invariant() (src/errors/invariant.ts).
    files: ['src/**/*.ts'],
    ignores: ['src/errors/invariant.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'NewExpression[callee.name=/^(Error|TypeError|RangeError|SyntaxError|ReferenceError)$/]',
          message: 'throw an MkError with a code from src/errors/codes.ts, or call invariant() for what only a bug in mk can break',
        },
        {
          selector: 'CallExpression[callee.name=/^(Error|TypeError|RangeError|SyntaxError|ReferenceError)$/]',
          message: 'throw an MkError with a code from src/errors/codes.ts, or call invariant() for what only a bug in mk can break',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', URL: 'readonly' } },
  },
);
