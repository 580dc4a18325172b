// Lint rules for mk, run by CI (npm run lint): the recommended sets of ESLint and
// typescript-eslint, with type information for the TypeScript of src/ and test/ (through
// tsconfig.test.json, which holds both): a floating promise, a promise where a callback must
// return void, or an await of a value that is not a promise is an error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.api/**', 'node_modules/**', 'test/unit/architecture/fixture/**', 'bench/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Data from outside is typed `any` at the very edge (JSON) and checked field by field.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The promise rules, explicitly (recommendedTypeChecked has them; they are the point).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // An abort rejects with the signal's reason, whatever its type.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // The default branch of an exhaustive switch names the impossible value.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true, allowNumber: true, allowBoolean: true }],
      // Style, not bugs: methods stay async where an interface promises a promise; `x!` on an
      // index stays, as the code is written for noUncheckedIndexedAccess.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
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
