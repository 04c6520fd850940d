/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // @swc/jest with the built-ins bound per module: see test/support/jest-transform.js.
  transform: { '^.+\\.tsx?$': '<rootDir>/test/support/jest-transform.js' },
  setupFiles: ['<rootDir>/test/setup-env.js'],
  // The reader and replay threads' scripts, bundled once per run (test/support/global-setup.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  // Two cores on CI: one worker per core keeps memory and the s3rver/dynalite ports sane.
  maxWorkers: 2,
  testTimeout: 60000,
  // A worker that ran the CDK suites holds a heap of 400-500 MB and takes longer than Jest's default 500 ms to end
  // when asked to: its 'exit' event comes at once (nothing keeps it alive) and its process ends 0.76-0.81 s later
  // (measured under strace), in Node's own teardown. Jest then killed it and warned of a leak that is not there.
  workerGracefulExitTimeout: 5000,
};
