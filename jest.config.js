/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/__tests__/**/*.test.ts', '**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/bench/'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // jose, and otplib's @scure/@noble dependencies, are ESM-only; let swc transform them for jest.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@scure|@noble)/)'],
  testTimeout: 30000,
  maxWorkers: 2,
};
